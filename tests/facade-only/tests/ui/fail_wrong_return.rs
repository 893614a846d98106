use netcore::prelude::*;

struct NotAReply;

async fn hello() -> NotAReply {
    NotAReply
}

fn main() {
    let _ = Endpoint::builder().route("/hello", hello);
}
