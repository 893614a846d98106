//! A duplex call: one typed route whose request and reply both stream
//! (`#[route(..., stream = both)]`). The client feeds lines into the
//! request while it reads the answers to the earlier ones from the reply:
//! a conversation inside one call, each direction under its own flow
//! control. Dropping the reply would stop both.
//!
//! Run it with `cargo run --release --example stream_duplex`. The streaming
//! guide, `netcore_endpoint::guide::streaming`, walks through it.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::prelude::*;
use serde::{Deserialize, Serialize};

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Shouts every chunk of the request back (upper case), adding `suffix`.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/shout", stream = both, crate = netcore::endpoint)]
struct Shout {
    suffix: String,
}

/// The handler: the route value (from the `nc-args` header), then the
/// request body as it arrives; it answers with a stream made from it, so
/// each answer goes out as soon as its line came in.
async fn shout(shout: Shout, Streamed(lines): Streamed) -> Result<Body, ReplyError> {
    let suffix = shout.suffix;
    Ok(Body::stream(lines.map(move |line| {
        let line = line.map_err(std::io::Error::other)?;
        let text = String::from_utf8_lossy(&line).to_uppercase();
        Ok(Bytes::from(format!("{}{suffix}", text.trim_end())))
    })))
}

const LINES: [&str; 4] = [
    "hello there",
    "is anyone listening",
    "one call, two streams",
    "goodbye",
];

#[tokio::main]
async fn main() -> AnyResult<()> {
    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
    let address = listener.local_addr();
    let routes = Router::new().typed_stream(shout).build()?;
    let server = Server::new(routes, ServerConfig::default());
    let _serving = server.spawn(listener);
    let client = Endpoint::builder().start(tcp::connect(address, &TcpOptions::default()).await?)?;

    // The request body: whatever goes into `lines` (a channel), in order.
    let (lines, receiver) = tokio::sync::mpsc::channel::<Bytes>(1);
    let request = Body::stream(futures::stream::unfold(receiver, |mut receiver| async {
        let line = receiver.recv().await?;
        Some((Ok(line), receiver))
    }));
    let started = Instant::now();
    let mut reply = client
        .peer()
        .call_typed_duplex(
            &Shout {
                suffix: "!".to_owned(),
            },
            request,
            CallOptions::default(),
        )
        .await?;
    // The reply's head came back before the request has any body: the
    // server answered while the upload is still open.
    println!("reply head after {:.2?}", started.elapsed());
    for line in LINES {
        lines.send(Bytes::from(line)).await?;
        let answer = tokio::time::timeout(Duration::from_secs(5), reply.next())
            .await?
            .ok_or("the reply ended early")??;
        let answer = String::from_utf8(answer.to_vec())?;
        println!("{line:>24} -> {answer}");
        if answer != format!("{}!", line.to_uppercase()) {
            return Err(format!("unexpected answer {answer:?} to {line:?}").into());
        }
    }
    // Ending the request ends the server's stream, so the reply ends too.
    drop(lines);
    if let Some(extra) = reply.next().await {
        return Err(format!("the reply went on after the request ended: {extra:?}").into());
    }
    println!("{} lines, each answered inside the same call", LINES.len());

    client.peer().close().await?;
    server.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
