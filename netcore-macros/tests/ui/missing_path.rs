use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(response = String)]
struct GetUser {
    id: u32,
}

fn main() {}
