use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = users_get, response = String)]
struct GetUser {
    id: u32,
}

fn main() {}
