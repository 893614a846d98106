use netcore::prelude::*;

struct User;

#[derive(Route)]
#[route(path = "/users/get", response = User)]
struct GetUser;

fn main() {}
