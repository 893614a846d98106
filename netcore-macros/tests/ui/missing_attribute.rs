use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
struct GetUser {
    id: u32,
}

fn main() {}
