use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/files/get", response = Vec<u8>, stream = response)]
struct Get {
    id: u32,
}

fn main() {}
