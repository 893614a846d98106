//! Flow control on a long fat path: two Pipes over `DelayLine`s (a 56 ms
//! round trip, a 100 MB/s bottleneck) on tokio's paused clock. The figures
//! asserted are the model's, in virtual time, so they say what the protocol
//! does (how far windows open, who waits for whom), not how fast this
//! machine is.
//!
//! - windows open to the bandwidth-delay product from the first round trip,
//!   with keepalive off (the RTT comes from the PING sent on the HELLO);
//! - a reader that stops still stops the sender, and its windows stay small;
//! - eight transfers share the path fairly, and a small HIGH message beside
//!   them waits at most about a round trip more than on the idle path.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_pipe::core::CoreConfig;
use netcore_pipe::protocol::Priority;
use netcore_pipe::transport::{DelayConfig, DelayLine};
use netcore_pipe::{Incoming, Message, Pipe, PipeConfig, ReceiveMode};
use tokio::time::Instant;

const MIB: u64 = 1 << 20;
const ONE_WAY: Duration = Duration::from_millis(28);
const RTT: Duration = Duration::from_millis(56);
/// Bytes per second the bottleneck carries.
const RATE: u64 = 100_000_000;
/// The bandwidth-delay product: 5.6 MB.
const BDP: u64 = RATE * 56 / 1000;
/// Failure guard, in virtual time.
const GUARD: Duration = Duration::from_secs(600);

async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// A 56 ms round trip through a 100 MB/s bottleneck whose queue holds half
/// a BDP (28 ms): the line's buffer counts the 2.8 MB travelling one way
/// too.
fn path() -> (
    DelayLine<netcore_pipe::transport::MemoryTransport>,
    DelayLine<netcore_pipe::transport::MemoryTransport>,
) {
    let config = DelayConfig::new(ONE_WAY)
        .with_rate(Some(RATE))
        .with_buffer(BDP as usize);
    DelayLine::pair(config)
}

/// Default settings, streaming, keepalive off: every round-trip figure comes
/// from the PING on the HELLO.
fn config() -> PipeConfig {
    PipeConfig::default()
        .with_receive(ReceiveMode::Streaming)
        .with_core(CoreConfig::default().with_keepalive(None))
}

async fn pair() -> (Pipe, Pipe) {
    pair_with(config()).await
}

/// A pair whose receiving side `b` runs `b_config`.
async fn pair_with(b_config: PipeConfig) -> (Pipe, Pipe) {
    let (a, b) = path();
    let a = Pipe::new(a, config());
    let b = Pipe::new(b, b_config);
    guard(async { tokio::try_join!(a.ready(), b.ready()) })
        .await
        .expect("both ready");
    (a, b)
}

/// Reads a body to its end; returns its length and when it ended.
async fn drain(incoming: Incoming) -> (u64, Instant) {
    let mut body = incoming.body;
    let mut len = 0;
    while let Some(chunk) = body.next().await {
        len += chunk.expect("body chunk").len() as u64;
    }
    (len, Instant::now())
}

#[tokio::test(start_paused = true)]
async fn windows_open_to_the_bandwidth_delay_product_from_the_first_round_trip() {
    let b_config = config();
    let budget = b_config.core.window_budget.clone();
    let (a, b) = pair_with(b_config).await;
    let total = 64 * MIB;
    let start = Instant::now();
    let mut handle = a
        .send(Message::new(Bytes::from(vec![7u8; total as usize])))
        .expect("send");
    let incoming = guard(b.accept()).await.expect("incoming");
    let (len, end) = guard(drain(incoming)).await;
    guard(handle.finished()).await.expect("sent");
    assert_eq!(len, total);

    let elapsed = end - start;
    // The bottleneck alone needs 671 ms for 64 MiB, plus half a round trip.
    // Windows that double each round trip from 512 KiB reach 2 × BDP in
    // about five; the first round trip has no estimate yet. The initial
    // 512 KiB window alone would allow 9.4 MB/s: 7 s.
    let ideal = Duration::from_secs_f64(total as f64 / RATE as f64) + ONE_WAY;
    let slow_start = RTT * 8;
    assert!(
        elapsed < ideal + slow_start,
        "64 MiB in {elapsed:?} over a path that carries it in {ideal:?}"
    );
    let stats = b.stats();
    let rtt = stats.rtt.expect("the receiver measured the round trip");
    assert!(rtt >= RTT && rtt < RTT * 2, "rtt {rtt:?}");
    assert!(
        stats.flow.recv_message_window >= BDP,
        "message window {} below the BDP {BDP}: {stats:?}",
        stats.flow.recv_message_window
    );
    let window = stats.flow.recv_window.expect("a connection window");
    assert!(window >= BDP, "connection window {window}: {stats:?}");
    tokio::time::sleep(Duration::from_millis(1)).await;
    let stats = b.stats();
    assert_eq!(stats.flow.recv_buffered, Some(0), "all read");
    let sender = a.stats();
    assert!(sender.rtt.is_some(), "the sender measured it too");
    assert!(sender.flow.send_credit.is_some());

    // The window above its floor — the HELLO's initial part and all the
    // growth — came from the receiver's budget, and goes back to it.
    let floor = u64::from(CoreConfig::default().min_connection_window);
    assert_eq!(
        budget.in_use(),
        window - floor,
        "the window above the floor, growth beyond the HELLO's window included"
    );
    a.close().await.expect("close");
    guard(b.closed()).await.ok();
    drop(b);
    assert_eq!(budget.in_use(), 0, "given back when the connection ended");
}

#[tokio::test(start_paused = true)]
async fn a_reader_that_stops_stops_the_sender_and_its_windows_stay_small() {
    let (a, b) = pair().await;
    let initial = CoreConfig::default();
    let _handle = a
        .send(Message::new(Bytes::from(vec![1u8; (64 * MIB) as usize])))
        .expect("send");
    let incoming = guard(b.accept()).await.expect("incoming");
    // Take the message, read nothing, and let ten seconds of virtual time go.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let receiver = b.stats();
    assert_eq!(
        receiver.flow.recv_buffered,
        Some(u64::from(initial.message_window)),
        "exactly the first window arrived: {receiver:?}"
    );
    assert_eq!(
        receiver.flow.recv_window,
        Some(u64::from(initial.connection_window)),
        "the connection window did not grow"
    );
    let written = a.stats().bytes_written;
    assert!(
        written < u64::from(initial.message_window) + 64 * 1024,
        "the sender stopped at the window: {written} bytes written"
    );
    drop(incoming);
}

#[tokio::test(start_paused = true)]
async fn eight_transfers_share_the_path_and_a_high_message_is_not_held_behind_them() {
    let (a, b) = pair().await;
    let b = std::sync::Arc::new(b);
    // The idle round trip of a small HIGH message, echoed at HIGH.
    let echo = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut drains = Vec::new();
            while let Ok(incoming) = b.accept().await {
                if incoming.headers.get_str("echo").is_some() {
                    let body = incoming.body;
                    let body: Vec<u8> = body
                        .map(|chunk| chunk.expect("echo chunk").to_vec())
                        .concat()
                        .await;
                    b.send(Message::new(body).priority(Priority::HIGH))
                        .expect("echo back");
                } else {
                    drains.push(tokio::spawn(drain(incoming)));
                }
            }
            drains
        })
    };
    let ping = |a: &Pipe| {
        let message = Message::new(Bytes::from_static(&[9u8; 64]))
            .priority(Priority::HIGH)
            .header("echo", "1")
            .expect("header");
        a.send(message).expect("ping");
    };
    let round_trip = async |a: &Pipe| {
        let start = Instant::now();
        ping(a);
        let reply = guard(a.accept()).await.expect("echo");
        drain(reply).await;
        start.elapsed()
    };
    let idle = round_trip(&a).await;
    assert!(idle >= RTT, "idle round trip {idle:?}");

    let each = 8 * MIB;
    let start = Instant::now();
    let mut handles: Vec<_> = (0..8u8)
        .map(|i| {
            a.send(Message::new(Bytes::from(vec![i; each as usize])))
                .expect("send")
        })
        .collect();
    // Round trips of HIGH messages while the eight run.
    let mut under_bulk = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(RTT).await;
        under_bulk.push(round_trip(&a).await);
    }
    for handle in &mut handles {
        guard(handle.finished()).await.expect("sent");
    }
    a.close().await.expect("close");
    let drains = guard(echo).await.expect("echo task");
    let mut ends = Vec::new();
    for drain in drains {
        let (len, end) = guard(drain).await.expect("drain task");
        assert_eq!(len, each);
        ends.push(end - start);
    }
    assert_eq!(ends.len(), 8);
    let first = *ends.iter().min().expect("eight");
    let last = *ends.iter().max().expect("eight");
    assert!(
        last.as_secs_f64() <= first.as_secs_f64() * 1.2,
        "completions from {first:?} to {last:?}: one transfer starved the others"
    );
    // 64 MiB over a 100 MB/s bottleneck: 671 ms at best.
    let ideal = Duration::from_secs_f64(8.0 * each as f64 / RATE as f64);
    assert!(last < ideal * 3 / 2, "eight transfers took {last:?}");
    // A chunk (64 KiB) takes 0.66 ms through the bottleneck, whose queue
    // adds up to 28 ms: the bound is one round trip more than idle, and the
    // HIGH message must not wait for connection credit or behind queued
    // bulk on this side.
    let worst = *under_bulk.iter().max().expect("samples");
    assert!(
        worst <= idle + RTT + Duration::from_millis(4),
        "a HIGH round trip took {worst:?} under bulk, {idle:?} idle: {under_bulk:?}"
    );
}
