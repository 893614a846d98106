use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/files/get", stream = upload)]
struct Get {
    id: u32,
}

fn main() {}
