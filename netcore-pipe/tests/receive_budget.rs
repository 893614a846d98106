//! `ReceiveMode::Complete` keeps its budgets: a receiver that does not read
//! stops the sender once `receive_buffer` (memory) and `spill_budget` (disk)
//! are full, holds no more than they allow, and then gets every message
//! intact once it reads; a message that could never fit fails alone.
//! Timeouts are failure guards, or bounded waits for something that must not
//! happen; assertions are about bytes and content.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{
    Body, Message, Pipe, PipeConfig, ReceiveError, ReceivedBody, SendError, SendHandle,
};
use tokio::task::JoinHandle;

const GUARD: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn message(body: impl Into<Body>, n: usize) -> Message {
    Message::new(body)
        .header("n", n.to_string())
        .expect("valid header")
}

fn number(headers: &netcore_pipe::protocol::Headers) -> usize {
    headers
        .get_str("n")
        .and_then(|n| n.parse().ok())
        .expect("every test message is numbered")
}

async fn guard<T>(future: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// Small, fixed flow-control windows (no auto-tuning past them), so what is
/// in flight beside the budgets is known.
fn receiving(receive_buffer: u64, spill_budget: u64) -> PipeConfig {
    let mut config = PipeConfig::default()
        .with_receive_buffer(receive_buffer)
        .with_spill_budget(spill_budget);
    config.core.message_window = 256 << 10;
    config.core.connection_window = 2 << 20;
    config.core.max_window = 2 << 20;
    config
}

/// Bytes in the files under `dir`, at any depth.
fn bytes_on_disk(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_on_disk(&entry.path()),
            _ => entry.metadata().map_or(0, |meta| meta.len()),
        })
        .sum()
}

/// Waits until `count` has not changed for a while, and returns it.
async fn until_stalled(count: impl Fn() -> u64) -> u64 {
    guard(async {
        let mut last = count();
        let mut quiet = 0;
        while quiet < 10 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = count();
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
        }
        last
    })
    .await
}

/// Whether `count` moves within half a second.
async fn moves(count: impl Fn() -> u64) -> bool {
    let before = count();
    tokio::time::timeout(Duration::from_millis(500), async {
        while count() == before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

/// Sends `count` numbered 1 MiB messages one after the other, counting
/// those sent whole.
fn send_one_by_one(sender: Arc<Pipe>, count: usize) -> (JoinHandle<()>, Arc<AtomicU64>) {
    let done = Arc::new(AtomicU64::new(0));
    let counter = done.clone();
    let task = tokio::spawn(async move {
        for n in 0..count {
            let handle = sender
                .send(message(pattern(MIB as usize, n as u8), n))
                .expect("send");
            handle.await.expect("sent");
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    (task, done)
}

/// Receives `count` messages, checks each one's content and returns their
/// numbers, sorted.
async fn receive_all(receiver: &Pipe, count: usize) -> Vec<usize> {
    let mut seen = Vec::new();
    for _ in 0..count {
        let received = guard(receiver.recv()).await.expect("a message");
        let n = number(&received.headers);
        let body = received.body.to_bytes().await.expect("its body");
        assert!(
            body == pattern(MIB as usize, n as u8),
            "message {n} damaged"
        );
        seen.push(n);
    }
    seen.sort_unstable();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_calls_recv_stops_the_sender_at_the_receive_buffer() {
    // Spilling off: only memory holds collected bodies.
    let config = receiving(4 * MIB, 0);
    let in_flight = u64::from(config.core.connection_window);
    let (a, b) = memory_pair(64 << 10);
    let sender = Arc::new(Pipe::new(a, PipeConfig::default()));
    let receiver = Pipe::new(b, config);
    let (task, done) = send_one_by_one(sender, 64);
    let sent = until_stalled(|| done.load(Ordering::Relaxed)).await;
    assert_eq!(sent, 4, "messages sent whole into a 4 MiB receive buffer");
    let read = receiver.stats().bytes_read;
    assert!(
        read <= 4 * MIB + in_flight + (64 << 10),
        "the receiver took in {read} bytes"
    );
    // The next send does not complete while nothing is read.
    assert!(
        !moves(|| done.load(Ordering::Relaxed)).await,
        "a send completed past the budget"
    );
    // Reading lets everything through, intact.
    let seen = receive_all(&receiver, 64).await;
    assert_eq!(seen, (0..64).collect::<Vec<_>>());
    guard(task).await.expect("the sender");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_calls_recv_stops_the_sender_once_memory_and_spill_budget_are_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 1 MiB bodies go to memory while 4 fit, then to spill files while 8 fit.
    let config = receiving(4 * MIB, 8 * MIB)
        .with_spill_threshold(2 * MIB)
        .with_spill_dir(Some(dir.path().to_owned()));
    let in_flight = u64::from(config.core.connection_window);
    let (a, b) = memory_pair(64 << 10);
    let sender = Arc::new(Pipe::new(a, PipeConfig::default()));
    let receiver = Pipe::new(b, config);
    let (task, done) = send_one_by_one(sender, 64);
    let sent = until_stalled(|| done.load(Ordering::Relaxed)).await;
    assert_eq!(
        sent, 12,
        "messages sent whole into 4 MiB + 8 MiB of budgets"
    );
    assert_eq!(bytes_on_disk(dir.path()), 8 * MIB, "bytes spilled");
    let read = receiver.stats().bytes_read;
    assert!(
        read <= 12 * MIB + in_flight + (64 << 10),
        "the receiver took in {read} bytes"
    );
    assert!(
        !moves(|| done.load(Ordering::Relaxed)).await,
        "a send completed past the budgets"
    );
    // Messages received and kept still hold their share of the budgets.
    let mut kept = Vec::new();
    for _ in 0..12 {
        kept.push(guard(receiver.recv()).await.expect("a message"));
    }
    let files = kept
        .iter()
        .filter(|received| matches!(received.body, ReceivedBody::File(_)))
        .count();
    assert_eq!(files, 8, "spilled bodies");
    assert!(
        !moves(|| done.load(Ordering::Relaxed)).await,
        "a send completed while the budgets were held"
    );
    assert_eq!(bytes_on_disk(dir.path()), 8 * MIB, "bytes spilled");
    let mut seen = Vec::new();
    for received in kept {
        let n = number(&received.headers);
        let body = received.body.to_bytes().await.expect("its body");
        assert!(
            body == pattern(MIB as usize, n as u8),
            "message {n} damaged"
        );
        seen.push(n);
    }
    seen.extend(receive_all(&receiver, 52).await);
    seen.sort_unstable();
    assert_eq!(seen, (0..64).collect::<Vec<_>>());
    guard(task).await.expect("the sender");
    assert_eq!(bytes_on_disk(dir.path()), 0, "spill files left behind");
    let left = std::fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(left, 0, "the spill directory is not empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_waiting_for_the_budget_ends_with_the_connection() {
    let config = receiving(2 * MIB, 0);
    let (a, b) = memory_pair(64 << 10);
    let closing_fast = PipeConfig::default().with_close_grace(Duration::from_millis(100));
    let sender = Arc::new(Pipe::new(a, closing_fast));
    let receiver = Pipe::new(b, config);
    let (task, done) = send_one_by_one(sender.clone(), 4);
    assert_eq!(until_stalled(|| done.load(Ordering::Relaxed)).await, 2);
    // The third waits for the budget; the link goes away under it.
    task.abort();
    let _ = task.await;
    drop(sender);
    guard(receiver.closed()).await.ok();
    for _ in 0..2 {
        let received = guard(receiver.recv()).await.expect("a collected message");
        let n = number(&received.headers);
        let body = received.body.to_bytes().await.expect("its body");
        assert!(
            body == pattern(MIB as usize, n as u8),
            "message {n} damaged"
        );
    }
    let waiting = guard(receiver.recv()).await;
    assert!(
        matches!(waiting, Err(ReceiveError::Connection(_))),
        "{:?}",
        waiting.map(|received| received.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_past_the_budgets_wait_and_then_all_arrive() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Sixteen at once, every body spilling into a 4 MiB budget: twelve wait,
    // and their windows (64 KiB each) leave the connection's window room
    // for those being collected.
    let mut config = receiving(4 * MIB, 4 * MIB)
        .with_spill_threshold(256 << 10)
        .with_spill_dir(Some(dir.path().to_owned()));
    config.core.message_window = 64 << 10;
    let in_flight = u64::from(config.core.connection_window);
    let (a, b) = memory_pair(64 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(b, config);
    let handles: Vec<SendHandle> = (0..16)
        .map(|n| {
            sender
                .send(message(pattern(MIB as usize, n as u8), n))
                .expect("send")
        })
        .collect();
    let sent = until_stalled(|| handles.iter().map(SendHandle::bytes_sent).sum()).await;
    assert!(
        sent <= 4 * MIB + in_flight + (64 << 10),
        "the sender pushed {sent} bytes past a 4 MiB spill budget"
    );
    assert!(
        bytes_on_disk(dir.path()) <= 4 * MIB,
        "spilled past the budget"
    );
    let seen = receive_all(&receiver, 16).await;
    assert_eq!(seen, (0..16).collect::<Vec<_>>());
    for handle in handles {
        guard(handle).await.expect("sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_longer_than_the_spill_budget_fails_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = receiving(4 * MIB, 2 * MIB)
        .with_spill_threshold(256 << 10)
        .with_spill_dir(Some(dir.path().to_owned()));
    let (a, b) = memory_pair(64 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(b, config);
    let too_long = sender.send(message(pattern(3 << 20, 1), 0)).expect("send");
    let result = guard(receiver.recv()).await;
    match result {
        Err(ReceiveError::TooLarge { limit, len, max }) => {
            assert_eq!(limit, "spill_budget");
            assert_eq!(len, 3 << 20);
            assert_eq!(max, 2 * MIB);
        }
        other => panic!(
            "expected TooLarge, got {:?}",
            other.map(|received| received.id)
        ),
    }
    let refused = guard(too_long).await;
    assert!(
        matches!(refused, Err(SendError::CancelledByPeer { .. })),
        "{refused:?}"
    );
    // The connection goes on.
    let fits = sender
        .send(message(pattern(MIB as usize, 2), 1))
        .expect("send");
    let received = guard(receiver.recv()).await.expect("the next message");
    let body = received.body.to_bytes().await.expect("its body");
    assert!(body == pattern(MIB as usize, 2), "damaged");
    guard(fits).await.expect("sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spilling_off_a_message_longer_than_the_receive_buffer_fails_alone() {
    let config = receiving(4 * MIB, 0);
    let (a, b) = memory_pair(64 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(b, config);
    sender.send(message(pattern(5 << 20, 1), 0)).expect("send");
    match guard(receiver.recv()).await {
        Err(error @ ReceiveError::TooLarge { limit, .. }) => {
            assert_eq!(limit, "receive_buffer");
            assert_eq!(error.fault(), netcore_pipe::Fault::Limit);
        }
        other => panic!(
            "expected TooLarge, got {:?}",
            other.map(|received| received.id)
        ),
    }
    // The largest that fits is collected in memory.
    let fits = pattern(4 << 20, 2);
    sender.send(message(fits.clone(), 1)).expect("send");
    let received = guard(receiver.recv()).await.expect("the next message");
    match received.body {
        ReceivedBody::Memory(body) => assert!(body == fits, "damaged"),
        other => panic!("stored wrongly ({} bytes in a file)", other.len()),
    }
}

/// A body of unknown length: `chunks` chunks of 64 KiB.
fn unsized_body(chunks: usize, seed: u8) -> (Body, Bytes) {
    let whole = pattern(chunks << 16, seed);
    let parts: Vec<std::io::Result<Bytes>> = (0..chunks)
        .map(|n| Ok(whole.slice(n << 16..(n + 1) << 16)))
        .collect();
    (Body::stream(futures::stream::iter(parts)), whole)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_unknown_length_spill_within_the_budget_or_fail_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = receiving(4 * MIB, 3 * MIB)
        .with_spill_threshold(MIB)
        .with_spill_dir(Some(dir.path().to_owned()));
    let (a, b) = memory_pair(64 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(b, config);
    // In memory, in a spill file, and too long for the spill budget.
    let (small, small_body) = unsized_body(4, 1);
    let (big, big_body) = unsized_body(40, 2);
    let (huge, _) = unsized_body(64, 3);
    let small = sender.send(message(small, 0)).expect("send");
    guard(small).await.expect("sent");
    let received = guard(receiver.recv()).await.expect("the small one");
    match &received.body {
        ReceivedBody::Memory(body) => assert!(*body == small_body, "damaged"),
        other => panic!("stored wrongly ({} bytes in a file)", other.len()),
    }
    let big = sender.send(message(big, 1)).expect("send");
    guard(big).await.expect("sent");
    let received = guard(receiver.recv()).await.expect("the big one");
    assert!(matches!(received.body, ReceivedBody::File(_)));
    assert!(
        received.body.to_bytes().await.expect("body") == big_body,
        "damaged"
    );
    drop(received);
    let huge = sender.send(message(huge, 2)).expect("send");
    match guard(receiver.recv()).await {
        Err(ReceiveError::TooLarge { limit, len, max }) => {
            assert_eq!(limit, "spill_budget");
            assert!(len > max, "{len} <= {max}");
        }
        other => panic!(
            "expected TooLarge, got {:?}",
            other.map(|received| received.id)
        ),
    }
    assert!(
        guard(huge).await.is_err(),
        "the refused message was sent whole"
    );
    assert_eq!(bytes_on_disk(dir.path()), 0, "spill files left behind");
}
