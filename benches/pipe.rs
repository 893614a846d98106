//! Pipe throughput and latency against raw TCP, over loopback, in one run.
//!
//! - one 1 GiB message: Pipe vs raw TCP throughput (target ≥ 0.9×);
//! - eight concurrent 128 MiB messages: Pipe vs raw TCP (target ≥ 0.85×),
//!   with the spread of their completion times;
//! - a small message's round trip (p50/p99) while a 1 GiB transfer runs on the
//!   same connection (target p99 < 1 ms).
//!
//! Prints a table and writes the figures as JSON to `target/bench/pipe.json`.
//! Run with `cargo xtask bench` (or `cargo bench --bench pipe --features pipe`);
//! `-- --quick` shrinks every size by 8 for a smoke run.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::pipe::protocol::Priority;
use netcore::pipe::{Message, Pipe, PipeConfig, ReceiveMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// Unsent bytes the kernel may hold per socket: bulk waiting there would
/// delay a small message queued behind it by milliseconds.
const NOTSENT_LOWAT: u32 = 128 * 1024;

fn main() -> io::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let scale = if quick { 8 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(scale))
}

async fn run(scale: u64) -> io::Result<()> {
    let one = GIB / scale;
    let eight = 128 * MIB / scale;

    let raw_one = raw_tcp(one).await?;
    let pipe_one = pipe_single(one).await?;
    let raw_eight = raw_tcp(8 * eight).await?;
    let (pipe_eight, spread) = pipe_concurrent(8, eight).await?;
    let latency = pipe_latency_under_bulk(one).await?;

    let ratio_one = pipe_one / raw_one;
    let ratio_eight = pipe_eight / raw_eight;
    println!();
    println!(
        "Pipe vs raw TCP over loopback ({} MiB per single message)",
        one / MIB
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:>8}",
        "case", "raw GB/s", "pipe GB/s", "ratio", "target"
    );
    println!(
        "{:<44} {:>12.2} {:>12.2} {:>8.2} {:>8}",
        format!("one {} MiB message", one / MIB),
        raw_one / 1e9,
        pipe_one / 1e9,
        ratio_one,
        "≥ 0.90"
    );
    println!(
        "{:<44} {:>12.2} {:>12.2} {:>8.2} {:>8}",
        format!("8 concurrent {} MiB messages", eight / MIB),
        raw_eight / 1e9,
        pipe_eight / 1e9,
        ratio_eight,
        "≥ 0.85"
    );
    println!(
        "  completion spread of the 8 messages: first {:.0} ms, last {:.0} ms",
        spread.0.as_secs_f64() * 1e3,
        spread.1.as_secs_f64() * 1e3
    );
    println!(
        "small-message round trip under a {} MiB transfer: p50 {:.0} µs, p99 {:.0} µs (target p99 < 1000 µs), {} samples",
        one / MIB,
        latency.p50.as_secs_f64() * 1e6,
        latency.p99.as_secs_f64() * 1e6,
        latency.samples
    );

    let json = format!(
        concat!(
            "{{\n",
            "  \"scale\": {},\n",
            "  \"one_message\": {{ \"bytes\": {}, \"raw_tcp_bytes_per_s\": {:.0}, \"pipe_bytes_per_s\": {:.0}, \"ratio\": {:.4}, \"target\": 0.9 }},\n",
            "  \"eight_messages\": {{ \"bytes_each\": {}, \"raw_tcp_bytes_per_s\": {:.0}, \"pipe_bytes_per_s\": {:.0}, \"ratio\": {:.4}, \"target\": 0.85, \"first_done_ms\": {:.1}, \"last_done_ms\": {:.1} }},\n",
            "  \"latency_under_bulk\": {{ \"samples\": {}, \"p50_us\": {:.1}, \"p99_us\": {:.1}, \"target_p99_us\": 1000 }}\n",
            "}}\n"
        ),
        scale,
        one,
        raw_one,
        pipe_one,
        ratio_one,
        eight,
        raw_eight,
        pipe_eight,
        ratio_eight,
        spread.0.as_secs_f64() * 1e3,
        spread.1.as_secs_f64() * 1e3,
        latency.samples,
        latency.p50.as_secs_f64() * 1e6,
        latency.p99.as_secs_f64() * 1e6,
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("pipe.json"), json)?;
    println!("figures written to {}", dir.join("pipe.json").display());
    Ok(())
}

/// A connected loopback TCP pair, tuned as the transports crate tunes it.
async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (accepted, connected) = tokio::join!(listener.accept(), TcpStream::connect(address));
    let (server, _) = accepted?;
    let client = connected?;
    for stream in [&server, &client] {
        stream.set_nodelay(true)?;
        socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT)?;
    }
    Ok((client, server))
}

/// Bytes per second of `total` bytes pushed through a raw TCP socket.
async fn raw_tcp(total: u64) -> io::Result<f64> {
    let (mut client, mut server) = tcp_pair().await?;
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let buf = vec![7u8; 1 << 20];
        let mut left = total;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            client.write_all(&buf[..n]).await?;
            left -= n as u64;
        }
        client.shutdown().await?;
        io::Result::Ok(())
    });
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0u64;
    while got < total {
        let n = server.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    let elapsed = started.elapsed();
    writer.await.map_err(io::Error::other)??;
    assert_eq!(got, total, "raw TCP lost bytes");
    Ok(total as f64 / elapsed.as_secs_f64())
}

fn bench_config(receive: ReceiveMode) -> PipeConfig {
    PipeConfig::default().with_receive(receive)
}

async fn pipe_pair() -> io::Result<(Pipe, Pipe)> {
    let (client, server) = tcp_pair().await?;
    Ok((
        Pipe::new(client, bench_config(ReceiveMode::Streaming)),
        Pipe::new(server, bench_config(ReceiveMode::Streaming)),
    ))
}

/// Reads an incoming message's body to the end; returns its length.
async fn drain(incoming: netcore::pipe::Incoming) -> io::Result<u64> {
    let mut body = incoming.body;
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        got += chunk.map_err(io::Error::other)?.len() as u64;
    }
    Ok(got)
}

/// Bytes per second of one message of `total` bytes through a Pipe.
async fn pipe_single(total: u64) -> io::Result<f64> {
    let (a, b) = pipe_pair().await?;
    let body = Bytes::from(vec![7u8; total as usize]);
    let started = Instant::now();
    let handle = a.send(Message::new(body)).map_err(io::Error::other)?;
    let incoming = b.accept().await.map_err(io::Error::other)?;
    let got = drain(incoming).await?;
    let elapsed = started.elapsed();
    handle.await.map_err(io::Error::other)?;
    assert_eq!(got, total, "the pipe lost bytes");
    Ok(total as f64 / elapsed.as_secs_f64())
}

/// Bytes per second of `count` concurrent messages of `each` bytes, and when
/// the first and the last completed.
async fn pipe_concurrent(count: usize, each: u64) -> io::Result<(f64, (Duration, Duration))> {
    let (a, b) = pipe_pair().await?;
    let body = Bytes::from(vec![9u8; each as usize]);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..count {
        handles.push(
            a.send(Message::new(body.clone()))
                .map_err(io::Error::other)?,
        );
    }
    let mut readers = Vec::new();
    for _ in 0..count {
        let incoming = b.accept().await.map_err(io::Error::other)?;
        readers.push(tokio::spawn(async move {
            let got = drain(incoming).await?;
            io::Result::Ok((got, started.elapsed()))
        }));
    }
    let mut done = Vec::new();
    for reader in readers {
        let (got, at) = reader.await.map_err(io::Error::other)??;
        assert_eq!(got, each, "a message lost bytes");
        done.push(at);
    }
    let elapsed = started.elapsed();
    for handle in handles {
        handle.await.map_err(io::Error::other)?;
    }
    done.sort();
    let first = done.first().copied().unwrap_or_default();
    let last = done.last().copied().unwrap_or_default();
    Ok((
        count as f64 * each as f64 / elapsed.as_secs_f64(),
        (first, last),
    ))
}

struct Latency {
    samples: usize,
    p50: Duration,
    p99: Duration,
}

/// Round trips of a small message (echoed by the peer) while a bulk message
/// of `bulk` bytes is being sent on the same pipe.
async fn pipe_latency_under_bulk(bulk: u64) -> io::Result<Latency> {
    let (a, b) = pipe_pair().await?;
    let a = std::sync::Arc::new(a);
    // b: drains the bulk message, echoes small ones.
    let echo = tokio::spawn(async move {
        loop {
            let Ok(incoming) = b.accept().await else {
                return;
            };
            if incoming.headers.get_str("kind") == Some("bulk") {
                tokio::spawn(drain(incoming));
                continue;
            }
            let Ok(body) = incoming.bytes().await else {
                return;
            };
            let reply = Message::new(body).priority(Priority::HIGH);
            if b.send(reply).is_err() {
                return;
            }
        }
    });
    let body = Bytes::from(vec![1u8; bulk as usize]);
    let bulk_message = Message::new(body)
        .header("kind", "bulk")
        .map_err(io::Error::other)?
        .priority(Priority::LOW);
    let bulk_handle = a.send(bulk_message).map_err(io::Error::other)?;
    // Let the bulk transfer fill the pipe first.
    while bulk_handle.bytes_sent() < 16 * MIB.min(bulk / 4) {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let mut samples = Vec::new();
    while bulk_handle.bytes_sent() < bulk * 9 / 10 && samples.len() < 2000 {
        let started = Instant::now();
        let ping = Message::new(Bytes::from_static(b"ping")).priority(Priority::HIGH);
        a.send(ping).map_err(io::Error::other)?;
        let reply = a.accept().await.map_err(io::Error::other)?;
        reply.bytes().await.map_err(io::Error::other)?;
        samples.push(started.elapsed());
    }
    bulk_handle.await.map_err(io::Error::other)?;
    drop(a);
    echo.abort();
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Latency {
        samples: samples.len(),
        p50: at(0.50),
        p99: at(0.99),
    })
}
