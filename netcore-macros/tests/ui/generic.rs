use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/items/get", response = String)]
struct GetItem<T> {
    id: T,
}

fn main() {}
