//! Every wait has an end: a pipe whose peer stops reading, never says
//! HELLO or stops answering is released within its configured time, and
//! frees what it held. On tokio's paused clock: the seconds cost nothing.

use std::time::Duration;

use netcore_pipe::core::CoreConfig;
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{ConnectionError, Message, Pipe, PipeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A peer that reads nothing: one side of the link whose other end only
/// ever writes (its HELLO) and never reads.
#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_dropped_at_the_write_timeout() {
    let (ours, theirs) = memory_pair(64 << 10);
    let config = PipeConfig::default().with_write_timeout(Some(Duration::from_secs(5)));
    let pipe = Pipe::new(ours, config);
    // The peer: a real pipe that says HELLO, then a raw end that reads nothing.
    let (peer_side, mut raw) = memory_pair(64 << 10);
    let peer = Pipe::new(peer_side, PipeConfig::default());
    let mut hello = vec![0u8; 4096];
    let n = raw.read(&mut hello).await.expect("the peer's HELLO");
    drop(peer);
    let mut theirs = theirs;
    theirs.write_all(&hello[..n]).await.expect("hello to us");
    pipe.ready().await.expect("the peer said HELLO");
    // A reply of 8 MiB that the peer never takes.
    let sent = pipe.send(Message::new(vec![7u8; 8 << 20])).expect("send");
    let started = tokio::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(60), pipe.closed()).await;
    let error = ended.expect("released").expect_err("not a graceful end");
    assert!(
        matches!(error, ConnectionError::WriteStalled(after) if after == Duration::from_secs(5)),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let failed = sent.await.expect_err("the body never went out");
    assert!(
        matches!(failed.connection(), Some(ConnectionError::WriteStalled(_))),
        "{failed}"
    );
    drop(theirs);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_says_hello_is_dropped_at_the_handshake_timeout() {
    let (ours, _silent) = memory_pair(64 << 10);
    let config = PipeConfig::default()
        .with_core(CoreConfig::default().with_handshake_timeout(Some(Duration::from_secs(2))));
    let pipe = Pipe::new(ours, config);
    let ready = tokio::time::timeout(Duration::from_secs(60), pipe.ready()).await;
    let error = ready.expect("ready resolves").expect_err("no HELLO came");
    assert!(
        matches!(error, ConnectionError::HandshakeTimeout(_)),
        "{error}"
    );
    assert!(pipe.is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_blackholed_link_is_noticed_by_keepalive() {
    let (a, b) = memory_pair(64 << 10);
    let core = CoreConfig::default()
        .with_keepalive(Some(Duration::from_secs(1)))
        .with_keepalive_timeout(Some(Duration::from_secs(3)));
    let ours = Pipe::new(a, PipeConfig::default().with_core(core));
    // The far side: a pipe that answers until it is frozen in place (its
    // runtime task never runs again, its socket stays open).
    let (freeze_tx, freeze_rx) = tokio::sync::oneshot::channel::<()>();
    let far = tokio::spawn(async move {
        let (reader, writer) = tokio::io::split(b);
        let gate = Gate {
            inner: reader,
            frozen: Some(freeze_rx),
            stuck: false,
        };
        let far = Pipe::new(tokio::io::join(gate, writer), PipeConfig::default());
        far.ready().await.expect("hello");
        std::future::pending::<()>().await;
    });
    ours.ready().await.expect("hello");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!ours.is_closed(), "PINGs are answered while the link works");
    freeze_tx.send(()).expect("freeze");
    let ended = tokio::time::timeout(Duration::from_secs(30), ours.closed()).await;
    let error = ended.expect("noticed").expect_err("the link died");
    assert!(
        matches!(error, ConnectionError::KeepaliveTimeout(_)),
        "{error}"
    );
    far.abort();
}

/// A reader that passes bytes through until told to stop, then never
/// returns another byte (the socket stays open: a blackhole).
struct Gate<R> {
    inner: R,
    frozen: Option<tokio::sync::oneshot::Receiver<()>>,
    stuck: bool,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Gate<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.stuck
            && let Some(frozen) = self.frozen.as_mut()
            && std::pin::Pin::new(frozen).poll(cx).is_ready()
        {
            self.stuck = true;
        }
        if self.stuck {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

use std::future::Future as _;

/// A peer opening messages faster than the application takes them is held
/// back by the transport once `accept_backlog` wait; none is lost.
#[tokio::test(start_paused = true)]
async fn untaken_messages_stop_the_reading_at_the_accept_backlog() {
    let (a, b) = memory_pair(4 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(
        b,
        PipeConfig::default()
            .with_receive(netcore_pipe::ReceiveMode::Streaming)
            .with_accept_backlog(16)
            .with_read_size(1024),
    );
    let handles: Vec<_> = (0..1000u32)
        .map(|i| {
            sender
                .send(Message::new(i.to_be_bytes().to_vec()))
                .expect("send")
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let arrived = receiver.stats().messages_received;
    // Reads already decoded may land past the bound: the read task keeps
    // up to four reads (of at most 1 KiB here) ahead of the driver.
    assert!(
        (16..=16 + 5 * 40).contains(&arrived),
        "{arrived} of 1000 arrived with none taken"
    );
    for i in 0..1000u32 {
        let incoming = tokio::time::timeout(Duration::from_secs(30), receiver.accept())
            .await
            .expect("in time")
            .expect("a message");
        assert_eq!(
            incoming.bytes().await.expect("body"),
            i.to_be_bytes().to_vec()
        );
    }
    for handle in handles {
        handle.await.expect("sent");
    }
}
