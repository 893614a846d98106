#[netcore_endpoint::service(prefix = "/users")]
trait Users {
    fn count(&self) -> Result<u32, netcore_endpoint::ReplyError>;
}

fn main() {}
