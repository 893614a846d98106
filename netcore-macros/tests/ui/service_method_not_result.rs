#[netcore_endpoint::service(prefix = "/users")]
trait Users {
    async fn count(&self) -> u32;
}

fn main() {}
