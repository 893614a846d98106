#[netcore_endpoint::service(prefix = "/users")]
trait Users {
    async fn count() -> Result<u32, netcore_endpoint::ReplyError>;
}

fn main() {}
