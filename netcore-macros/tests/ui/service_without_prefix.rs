#[netcore_endpoint::service]
trait Users {
    async fn count(&self) -> Result<u32, netcore_endpoint::ReplyError>;
}

fn main() {}
