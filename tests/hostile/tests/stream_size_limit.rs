//! A streamed body of unannounced length over the receiver's
//! `max_message_size` fails that message only: the sender's handle errs
//! naming the limit, and the connection carries the next message.

use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::core::CoreConfig;
use netcore_pipe::protocol::Limits;
use netcore_pipe::{Body, Message, Pipe, PipeConfig, SendError};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: u64 = 1 << 20;
const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_stream_fails_alone() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let connecting = tokio::spawn(TcpStream::connect(addr));
    let (accepted, _) = listener.accept().await.expect("accept");
    let limits = Limits::default().with_max_message_size(LIMIT);
    let receiver = Pipe::new(
        accepted,
        PipeConfig::default().with_core(CoreConfig::default().with_limits(limits)),
    );
    let sender = Pipe::new(
        connecting.await.expect("join").expect("connect"),
        PipeConfig::default(),
    );
    sender.ready().await.expect("handshake");
    let chunks = (0..32).map(|_| Ok(Bytes::from(vec![1u8; 64 << 10]))); // 2 MiB
    let oversized = sender
        .send(Message::new(Body::stream(futures_stream(chunks))))
        .expect("queued");
    let error = tokio::time::timeout(WAIT, oversized)
        .await
        .expect("the handle resolves")
        .expect_err("a 2 MiB body to a 1 MiB receiver cannot succeed");
    assert!(
        !matches!(error, SendError::Connection(_)),
        "the whole connection failed instead of the one message: {error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&LIMIT.to_string()) || text.contains("max_message_size"),
        "the error does not name the limit: {text}"
    );
    let after = sender.send(Message::new("after")).expect("queued");
    tokio::time::timeout(WAIT, after)
        .await
        .expect("in time")
        .expect("sent");
    loop {
        let message = match tokio::time::timeout(WAIT, receiver.recv())
            .await
            .expect("in time")
        {
            Ok(message) => message,
            // The oversized message failed alone (its sender cancelled it).
            Err(error) if error.connection().is_none() => continue,
            Err(error) => panic!("the connection failed: {error}"),
        };
        if message.body.to_bytes().await.ok().as_deref() == Some(&b"after"[..]) {
            break;
        }
    }
}

fn futures_stream(
    items: impl Iterator<Item = std::io::Result<Bytes>> + Send + 'static,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::iter(items)
}
