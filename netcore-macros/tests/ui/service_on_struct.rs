#[netcore_endpoint::service(prefix = "/users")]
struct Users {
    count: u32,
}

fn main() {}
