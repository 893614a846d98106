//! The end-to-end scenarios every transport's tests run, over whatever pair
//! of pipes the transport gives: concurrent messages both ways, one large
//! message, a graceful close, and a peer that dies mid-transfer.
//!
//! Assertions are about content and order only. Time limits
//! ([`guarded`]) are failure guards against hangs, never measurements.

#![allow(dead_code, unreachable_pub)] // each test file uses its own subset

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_transports::pipe::protocol::Headers;
use netcore_transports::pipe::{Message, Pipe, PipeConfig, ReceiveMode, SendHandle};
use tokio::sync::oneshot;

/// Failure guard of every step: far above what any step needs, so only a
/// hang trips it.
pub const GUARD: Duration = Duration::from_secs(120);

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

/// Runs `future`, failing the test if it has not finished within [`GUARD`].
pub async fn guarded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: still not finished after {GUARD:?} (failure guard: it hangs)"),
    }
}

/// `len` reproducible pseudo-random bytes.
pub fn pattern(seed: u64, len: usize) -> Bytes {
    let mut bytes = vec![0u8; len];
    fastrand::Rng::with_seed(seed).fill(&mut bytes);
    bytes.into()
}

/// Asserts `got == want` without printing megabytes on failure.
pub fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(g, w)| g != w);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}

/// A message numbered `n` in its header.
pub fn numbered(n: usize, body: Bytes) -> Message {
    Message::new(body)
        .header("n", n.to_string())
        .expect("a valid header")
}

/// The number of a message made by [`numbered`].
pub fn number(headers: &Headers) -> usize {
    headers
        .get_str("n")
        .and_then(|n| n.parse().ok())
        .expect("every test message is numbered")
}

/// `config` in streaming receive mode.
pub fn streaming(config: PipeConfig) -> PipeConfig {
    config.with_receive(ReceiveMode::Streaming)
}

/// The body of message `n` sent by `side`: its length varies with `n` from a
/// few bytes to `max_len`, its bytes with both.
fn body(side: u64, n: usize, max_len: usize) -> Bytes {
    let len = 1 + (n * 7919 + side as usize * 104_729) % max_len;
    pattern(side * 1_000_000 + n as u64, len)
}

/// Each side sends `count` messages (of up to `max_len` bytes) to the other,
/// all queued at once, while both receive: every message arrives exactly
/// once, byte for byte, and every send handle completes.
pub async fn concurrent_both_ways(a: &Pipe, b: &Pipe, count: usize, max_len: usize) {
    let from_a: Vec<SendHandle> = (0..count)
        .map(|n| a.send(numbered(n, body(1, n, max_len))).expect("a sends"))
        .collect();
    let from_b: Vec<SendHandle> = (0..count)
        .map(|n| b.send(numbered(n, body(2, n, max_len))).expect("b sends"))
        .collect();
    guarded("messages both ways", async {
        tokio::join!(
            receive_all(b, "b", count, 1, max_len),
            receive_all(a, "a", count, 2, max_len),
        );
    })
    .await;
    for mut handle in from_a.into_iter().chain(from_b) {
        guarded("a send handle", handle.finished())
            .await
            .expect("every message was sent");
        assert_eq!(
            handle.bytes_sent(),
            handle.total_len().expect("known length")
        );
    }
}

/// Receives `count` messages sent by `side` and checks each.
async fn receive_all(pipe: &Pipe, name: &str, count: usize, side: u64, max_len: usize) {
    let mut seen = vec![false; count];
    for _ in 0..count {
        let message = pipe.recv().await.expect("a message");
        let n = number(&message.headers);
        assert!(!seen[n], "{name} received message {n} twice");
        seen[n] = true;
        let got = message.body.to_bytes().await.expect("the body");
        assert_same(
            &got,
            &body(side, n, max_len),
            &format!("{name}: message {n}"),
        );
    }
}

/// `a` sends one message of `len` bytes; `b` receives it byte for byte.
pub async fn large_message(a: &Pipe, b: &Pipe, len: usize) {
    let want = pattern(42, len);
    let handle = a.send(numbered(0, want.clone())).expect("send");
    let received = guarded("the large message", b.recv())
        .await
        .expect("the large message arrives");
    assert_eq!(number(&received.headers), 0);
    assert_eq!(received.body.len(), len as u64);
    let got = guarded("reading the body", received.body.to_bytes())
        .await
        .expect("the body");
    assert_same(&got, &want, "the large message");
    guarded("the send handle", handle.into_future())
        .await
        .expect("the large message was sent");
}

/// `a` queues `count` messages of `len` bytes and closes at once: the close
/// waits for them, `b` receives them all intact, and both sides see a
/// graceful end.
pub async fn graceful_close(a: Pipe, b: Pipe, count: usize, len: usize) {
    let handles: Vec<SendHandle> = (0..count)
        .map(|n| {
            a.send(numbered(n, pattern(100 + n as u64, len)))
                .expect("send")
        })
        .collect();
    let receiving = async {
        let mut got = Vec::new();
        for _ in 0..count {
            let message = b.recv().await.expect("a message sent before the close");
            let n = number(&message.headers);
            let body = message.body.to_bytes().await.expect("the body");
            assert_same(
                &body,
                &pattern(100 + n as u64, len),
                &format!("message {n}"),
            );
            got.push(n);
        }
        got
    };
    let (closed, mut got) = guarded("close while receiving", async {
        tokio::join!(a.close(), receiving)
    })
    .await;
    closed.expect("the closing side ends gracefully");
    got.sort_unstable();
    assert_eq!(got, (0..count).collect::<Vec<_>>(), "every message arrived");
    for mut handle in handles {
        guarded("a send handle", handle.finished())
            .await
            .expect("messages in flight finish before the close");
    }
    guarded("the other side", b.closed())
        .await
        .expect("the other side sees a graceful end");
    assert!(a.send(Message::new("late")).is_err(), "a closed pipe sends");
    assert!(
        guarded("recv after the end", b.recv()).await.is_err(),
        "recv after the end must fail"
    );
}

/// Runs a peer on a thread and runtime of its own: `start` builds its pipe
/// (in [`ReceiveMode::Streaming`]) inside that runtime; the peer accepts one
/// message, reads at least `read_before_dying` bytes of it, then *dies*:
/// its runtime is dropped with every task of its pipe, so its end of the link
/// closes without a word, as when a process is killed.
///
/// The receiver gives how many body bytes the peer read.
pub fn dying_peer<F>(start: F, read_before_dying: usize) -> oneshot::Receiver<usize>
where
    F: FnOnce() -> Pipe + Send + 'static,
{
    let (died, death) = oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the peer's runtime");
        let (pipe, body, read) = runtime.block_on(async move {
            let pipe = start();
            let incoming = pipe.accept().await.expect("the message opens");
            let mut body = incoming.body;
            let mut read = 0;
            while read < read_before_dying {
                let chunk = body
                    .next()
                    .await
                    .expect("the body goes on")
                    .expect("a chunk");
                read += chunk.len();
            }
            (pipe, body, read)
        });
        // Nothing runs on a current-thread runtime outside `block_on`: the
        // peer is frozen here, then its tasks (and its end of the link) vanish.
        drop(runtime);
        drop(body);
        drop(pipe);
        let _ = died.send(read);
    });
    death
}

/// The survivor `a` sends a message of `len` bytes to a peer started by
/// `start_peer` that dies after reading `read_before_dying` bytes of it:
/// `a`'s send handle, a pending `recv` and `closed` all end with an error,
/// none hangs.
pub async fn peer_dies_mid_transfer<F>(a: Pipe, start_peer: F, len: usize, read_before_dying: usize)
where
    F: FnOnce() -> Pipe + Send + 'static,
{
    let a = Arc::new(a);
    let mut handle = a.send(numbered(0, pattern(7, len))).expect("send");
    let pending_recv = tokio::spawn({
        let a = Arc::clone(&a);
        async move { a.recv().await }
    });
    let read = guarded(
        "the peer reads, then dies",
        dying_peer(start_peer, read_before_dying),
    )
    .await
    .expect("the peer thread reports");
    assert!(read >= read_before_dying);

    let sent = guarded("the send handle", handle.finished()).await;
    assert!(
        sent.is_err(),
        "a send to a dead peer must fail, got {sent:?}"
    );
    assert!(
        handle.bytes_sent() < len as u64,
        "the dead peer cannot have taken the whole message"
    );
    let received = guarded("the pending recv", pending_recv)
        .await
        .expect("the recv task");
    assert!(
        received.is_err(),
        "a pending recv must fail when the peer dies"
    );
    let ended = guarded("closed", a.closed()).await;
    assert!(ended.is_err(), "the end must be reported as an error");
}
