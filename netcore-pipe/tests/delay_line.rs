//! The `DelayLine` transport wrapper on tokio's paused clock: what it
//! delivers, when (in virtual time: the model's own figures, not wall-clock
//! timings), how its buffer pushes back, and two Pipes over it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::transport::{
    DelayConfig, DelayLine, Transport, TransportRead, TransportWrite, memory_pair,
};
use netcore_pipe::{Message, Pipe, PipeConfig};
use tokio::time::Instant;

/// tokio's timer wakes on whole milliseconds: a wake-up may come this much
/// after the instant the model asks for.
const TICK: Duration = Duration::from_millis(2);
/// Failure guard, in virtual time.
const GUARD: Duration = Duration::from_secs(600);

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// Reads exactly `len` bytes, noting when the first one came.
async fn read_exactly(
    reader: &mut impl TransportRead,
    len: usize,
) -> io::Result<(Vec<u8>, Instant)> {
    let mut got = Vec::with_capacity(len);
    let mut first = None;
    let mut buf = vec![0u8; 64 << 10];
    while got.len() < len {
        let want = buf.len().min(len - got.len());
        let n = reader.read(&mut buf[..want]).await?;
        assert!(n > 0, "end of stream after {} of {len} bytes", got.len());
        first.get_or_insert_with(Instant::now);
        got.extend_from_slice(&buf[..n]);
    }
    Ok((got, first.unwrap_or_else(Instant::now)))
}

#[tokio::test(start_paused = true)]
async fn bytes_arrive_intact_and_in_order_after_the_delay() {
    let delay = Duration::from_millis(28);
    let (a, b) = memory_pair(1 << 20);
    let (_a_reader, mut a_writer) = DelayLine::new(a, DelayConfig::new(delay)).split();
    let (mut b_reader, _b_writer) = b.split();

    let data = pattern(200_000, 1);
    let start = Instant::now();
    for part in data.chunks(30_000) {
        a_writer.write(part).await.expect("write");
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "writes do not wait");
    let (got, first) = guard(read_exactly(&mut b_reader, data.len()))
        .await
        .expect("read");
    assert!(got == data, "the bytes arrived damaged or out of order");
    let latency = first - start;
    assert!(latency >= delay, "first byte after {latency:?}");
    assert!(latency < delay + TICK, "first byte after {latency:?}");
    assert!(start.elapsed() < delay + TICK, "all within one delay");

    // Bytes written later arrive that much later.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let sent = Instant::now();
    a_writer.write(b"later").await.expect("write");
    let (got, first) = guard(read_exactly(&mut b_reader, 5)).await.expect("read");
    assert_eq!(got, b"later");
    assert!(first - sent >= delay && first - sent < delay + TICK);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_spreads_a_write_over_its_serialisation_time() {
    let delay = Duration::from_millis(5);
    let rate = 10_000_000; // 10 MB/s
    let config = DelayConfig::new(delay).with_rate(Some(rate));
    let (a, b) = memory_pair(2 << 20);
    let (_a_reader, mut a_writer) = DelayLine::new(a, config).split();
    let (mut b_reader, _b_writer) = b.split();

    let data = pattern(1 << 20, 2);
    let start = Instant::now();
    a_writer.write(&data).await.expect("write");
    let (got, first) = guard(read_exactly(&mut b_reader, data.len()))
        .await
        .expect("read");
    let elapsed = start.elapsed();
    assert!(got == data, "the bytes arrived damaged or out of order");
    // 1 MiB at 10 MB/s: 104.9 ms, plus the delay.
    let serialisation = Duration::from_nanos((1u64 << 20) * 1_000_000_000 / rate);
    assert!(elapsed >= serialisation + delay, "took {elapsed:?}");
    assert!(elapsed < serialisation + delay + TICK, "took {elapsed:?}");
    // The first segment (64 KiB, 6.6 ms) does not wait for the rest.
    let first_segment = Duration::from_nanos((64u64 << 10) * 1_000_000_000 / rate);
    assert!(first - start < first_segment + delay + TICK);

    // The link stays busy: a write queued behind the first waits its turn.
    let queued = Instant::now();
    a_writer.write(&data[..100_000]).await.expect("write");
    a_writer.write(&data[..100_000]).await.expect("write");
    guard(read_exactly(&mut b_reader, 200_000))
        .await
        .expect("read");
    let both = queued.elapsed();
    let expected = Duration::from_millis(20) + delay;
    assert!(both >= expected && both < expected + TICK, "took {both:?}");
}

#[tokio::test(start_paused = true)]
async fn a_full_line_stops_a_writer_whose_peer_does_not_read() {
    let buffer = 256 << 10;
    let link_buffer = 64 << 10;
    let config = DelayConfig::new(Duration::from_millis(10)).with_buffer(buffer);
    let (a, b) = memory_pair(link_buffer);
    let (_a_reader, mut a_writer) = DelayLine::new(a, config).split();
    let (mut b_reader, _b_writer) = b.split();

    let data = pattern(4 << 20, 3);
    let accepted = Arc::new(AtomicUsize::new(0));
    let writing = tokio::spawn({
        let (data, accepted) = (data.clone(), Arc::clone(&accepted));
        async move {
            for part in data.chunks(4096) {
                a_writer.write(part).await?;
                accepted.fetch_add(part.len(), Ordering::Relaxed);
            }
            a_writer.close().await
        }
    });
    // The clock only moves once every task is idle: by then the writer has
    // gone as far as it can.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stopped_at = accepted.load(Ordering::Relaxed);
    assert!(!writing.is_finished(), "the writer is stopped");
    assert!(
        stopped_at >= buffer,
        "stopped at {stopped_at}, before the line was full"
    );
    assert!(
        stopped_at <= buffer + link_buffer + (64 << 10),
        "{stopped_at} bytes accepted: more than the line and the link hold"
    );

    // Reading lets it finish, with every byte intact.
    let (got, _) = guard(read_exactly(&mut b_reader, data.len()))
        .await
        .expect("read");
    assert!(got == data, "the bytes arrived damaged or out of order");
    guard(writing)
        .await
        .expect("task")
        .expect("written and closed");
    let mut buf = [0u8; 1];
    assert_eq!(b_reader.read(&mut buf).await.expect("read"), 0, "closed");
}

#[tokio::test(start_paused = true)]
async fn flush_does_not_wait_but_delivered_and_close_do() {
    let delay = Duration::from_millis(28);
    let (a, b) = memory_pair(1 << 20);
    let (_a_reader, mut a_writer) = DelayLine::new(a, DelayConfig::new(delay)).split();
    let (mut b_reader, _b_writer) = b.split();

    let start = Instant::now();
    a_writer.write(b"one").await.expect("write");
    a_writer.flush().await.expect("flush");
    assert_eq!(start.elapsed(), Duration::ZERO, "flush returns at once");
    assert_eq!(a_writer.in_flight(), 3);
    a_writer.delivered().await.expect("delivered");
    assert!(start.elapsed() >= delay, "delivered waits for the bytes");
    assert_eq!(a_writer.in_flight(), 0);

    let sent = Instant::now();
    a_writer.write(b"two").await.expect("write");
    a_writer.close().await.expect("close");
    assert!(sent.elapsed() >= delay, "close waits for the bytes");
    let mut got = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        match b_reader.read(&mut buf).await.expect("read") {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(got, b"onetwo");
    let error = a_writer.write(b"three").await.expect_err("closed");
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test(start_paused = true)]
async fn an_error_of_the_wrapped_writer_fails_the_next_operations() {
    let (a, b) = memory_pair(1024);
    let config = DelayConfig::new(Duration::from_millis(5));
    let (_a_reader, mut a_writer) = DelayLine::new(a, config).split();
    drop(b);
    // On the line: fine until it arrives at a peer that is gone.
    a_writer.write(b"into the void").await.expect("queued");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let error = a_writer.write(b"more").await.expect_err("link broken");
    assert!(
        error.to_string().contains("wrapped writer failed"),
        "{error}"
    );
    assert!(a_writer.flush().await.is_err());
    assert!(a_writer.delivered().await.is_err());
    assert!(a_writer.close().await.is_err());
}

#[tokio::test(start_paused = true)]
async fn two_pipes_over_delay_lines_see_the_round_trip_and_move_a_big_message() {
    let one_way = Duration::from_millis(28);
    let (a, b) = DelayLine::pair(DelayConfig::new(one_way));
    let a = Pipe::new(a, PipeConfig::default());
    let b = Pipe::new(b, PipeConfig::default());
    guard(async { tokio::try_join!(a.ready(), b.ready()) })
        .await
        .expect("both ready");

    // A small request and its echo: one round trip.
    let start = Instant::now();
    a.send(Message::new(Bytes::from_static(b"ping")))
        .expect("send");
    let request = guard(b.recv()).await.expect("request");
    let body = request.body.to_bytes().await.expect("body");
    b.send(Message::new(body)).expect("send");
    let reply = guard(a.recv()).await.expect("reply");
    let rtt = start.elapsed();
    assert_eq!(reply.body.to_bytes().await.expect("body"), "ping");
    assert!(rtt >= 2 * one_way, "round trip in {rtt:?}");
    assert!(rtt < 2 * one_way + 4 * TICK, "round trip in {rtt:?}");

    // A 4 MiB message arrives intact.
    let big = Bytes::from(pattern(4 << 20, 4));
    let start = Instant::now();
    let mut handle = a.send(Message::new(big.clone())).expect("send");
    let received = guard(b.recv()).await.expect("big message");
    let body = received.body.to_bytes().await.expect("body");
    assert!(body == big, "the 4 MiB message arrived damaged");
    assert!(start.elapsed() >= one_way);
    guard(handle.finished()).await.expect("sent");
}
