use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "users/get", response = String)]
struct GetUser {
    id: u32,
}

fn main() {}
