use netcore_endpoint::{ReplyError, Streamed};

#[netcore_endpoint::service(prefix = "/files")]
trait Files {
    async fn join(&self, first: Streamed, second: Streamed) -> Result<u64, ReplyError>;
}

fn main() {}
