use serde::{Deserialize, Serialize};

/// Not a serde type.
struct Connection;

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/users/get", response = String)]
struct GetUser {
    id: u32,
    connection: Connection,
}

fn main() {}
