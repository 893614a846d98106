use serde::{Deserialize, Serialize};

/// Not a serde type.
struct User;

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/users/get", response = User)]
struct GetUser {
    id: u32,
}

fn main() {}
