use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/users/get")]
struct GetUser {
    id: u32,
}

fn main() {}
