// The route type itself forgot serde's derives.
#[derive(netcore_endpoint::Route)]
#[route(path = "/users/get", response = String)]
struct GetUser {
    id: u32,
}

fn main() {}
