//! Bulk over loopback TCP: one large transfer through raw TCP (64 KiB and
//! 1 MiB writes), one yamux 0.14 stream and one Netcore message; eight
//! concurrent Netcore messages; and the round trip of a small message while
//! a transfer runs on the same connection (Netcore and yamux). Each
//! transfer also reports the process's CPU seconds per GB and minor page
//! faults per GiB while it ran.

use std::future::poll_fn;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::pipe::protocol::Priority;
use netcore::pipe::{Incoming, Message, Pipe, PipeConfig, ReceiveMode};
use netcore::transports::tcp::{self, TcpOptions};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::FuturesAsyncReadCompatExt;

use crate::cpu::CpuClock;
use crate::pattern::send_pattern;
use crate::yamux_connections::{YamuxConnection, yamux_connections};

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes per read of every receiver.
const READ: usize = 1 << 20;

/// One transfer's figures.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Transfer {
    pub(crate) bytes_per_s: f64,
    /// Process CPU (both ends) per GB moved.
    pub(crate) cpu_s_per_gb: f64,
    /// Minor page faults (both ends) per GiB moved.
    pub(crate) faults_per_gib: f64,
}

/// Times `transfer`, which moves `total` bytes, with the process's CPU and
/// page faults.
async fn measure(
    total: u64,
    transfer: impl Future<Output = io::Result<u64>>,
) -> io::Result<Transfer> {
    let clock = CpuClock::start()?;
    let started = Instant::now();
    let got = transfer.await?;
    let elapsed = started.elapsed();
    let (cpu, faults) = clock.usage()?;
    if got != total {
        return Err(io::Error::other(format!("{got} of {total} bytes arrived")));
    }
    Ok(Transfer {
        bytes_per_s: total as f64 / elapsed.as_secs_f64(),
        cpu_s_per_gb: cpu.as_secs_f64() / (total as f64 / 1e9),
        faults_per_gib: faults as f64 / (total as f64 / GIB),
    })
}

/// A connected loopback TCP pair, `TCP_NODELAY` on both ends.
async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let (accepted, connected) = tokio::join!(
        listener.accept(),
        TcpStream::connect(listener.local_addr()?)
    );
    let (server, client) = (accepted?.0, connected?);
    server.set_nodelay(true)?;
    client.set_nodelay(true)?;
    Ok((client, server))
}

/// Reads to the end of the stream; returns how many bytes came.
async fn receive_all(mut input: impl AsyncRead + Unpin) -> io::Result<u64> {
    let mut buf = vec![0u8; READ];
    let mut got = 0u64;
    loop {
        match input.read(&mut buf).await? {
            0 => return Ok(got),
            n => got += n as u64,
        }
    }
}

/// `total` bytes through a raw TCP connection in `write`-byte writes.
pub(crate) async fn raw_tcp(total: u64, write: usize) -> io::Result<Transfer> {
    let (client, server) = tcp_pair().await?;
    measure(total, async move {
        let writer = tokio::spawn(send_pattern(client, total, write));
        let got = receive_all(server).await?;
        writer.await.map_err(io::Error::other)??;
        Ok(got)
    })
    .await
}

/// A yamux connection over a loopback pair (default config): the client's
/// outbound streams, and the server's inbound ones as they open. Each
/// connection is driven by a task polling it for inbound streams.
async fn yamux_pair() -> io::Result<(YamuxOpener, tokio::sync::mpsc::Receiver<yamux::Stream>)> {
    let (client, server) = tcp_pair().await?;
    let (client, mut server) = yamux_connections(client, server);
    let (inbound_tx, inbound) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(Ok(stream)) = poll_fn(|cx| server.poll_next_inbound(cx)).await {
            if inbound_tx.send(stream).await.is_err() {
                break;
            }
        }
    });
    Ok((YamuxOpener(client), inbound))
}

/// The client side of a yamux connection, before it is handed to its
/// driving task.
struct YamuxOpener(YamuxConnection);

impl YamuxOpener {
    /// Opens `count` outbound streams, then drives the connection in a
    /// task.
    async fn open(mut self, count: usize) -> io::Result<Vec<yamux::Stream>> {
        let mut streams = Vec::with_capacity(count);
        for _ in 0..count {
            streams.push(
                poll_fn(|cx| self.0.poll_new_outbound(cx))
                    .await
                    .map_err(io::Error::other)?,
            );
        }
        let mut connection = self.0;
        tokio::spawn(async move {
            while let Some(Ok(_)) = poll_fn(|cx| connection.poll_next_inbound(cx)).await {}
        });
        Ok(streams)
    }
}

/// `total` bytes on one yamux stream, in 64 KiB writes.
pub(crate) async fn yamux(total: u64) -> io::Result<Transfer> {
    let (opener, mut inbound) = yamux_pair().await?;
    let mut streams = opener.open(1).await?;
    let stream = streams.pop().ok_or_else(|| io::Error::other("no stream"))?;
    measure(total, async move {
        let writer = tokio::spawn(send_pattern(stream.compat(), total, 64 << 10));
        let stream = inbound
            .recv()
            .await
            .ok_or_else(|| io::Error::other("yamux: no inbound stream"))?;
        let got = receive_all(stream.compat()).await?;
        writer.await.map_err(io::Error::other)??;
        Ok(got)
    })
    .await
}

/// Two pipes over a loopback pair, the transports' default TCP options,
/// receiving as streams.
async fn pipe_pair() -> io::Result<(Pipe, Pipe)> {
    let (client, server) = tcp_pair().await?;
    let mut options = TcpOptions::default();
    options.pipe = PipeConfig::default().with_receive(ReceiveMode::Streaming);
    let client = tcp::from_stream(client, &options).map_err(io::Error::other)?;
    let server = tcp::from_stream(server, &options).map_err(io::Error::other)?;
    Ok((client, server))
}

/// Reads an incoming body to its end; returns its length.
async fn drain(incoming: Incoming) -> io::Result<u64> {
    let mut body = incoming.body;
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        got += chunk.map_err(io::Error::other)?.len() as u64;
    }
    Ok(got)
}

/// `count` Netcore messages of `each` bytes at once on one connection
/// (bodies made before the clock starts).
pub(crate) async fn netcore(count: usize, each: u64) -> io::Result<Transfer> {
    let (a, b) = pipe_pair().await?;
    let body = Bytes::from(vec![7u8; each as usize]);
    measure(count as u64 * each, async move {
        let handles = (0..count)
            .map(|_| a.send(Message::new(body.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io::Error::other)?;
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let incoming = b.accept().await.map_err(io::Error::other)?;
            readers.push(tokio::spawn(drain(incoming)));
        }
        let mut got = 0;
        for reader in readers {
            got += reader.await.map_err(io::Error::other)??;
        }
        for handle in handles {
            handle.await.map_err(io::Error::other)?;
        }
        Ok(got)
    })
    .await
}

/// One Netcore message of `total` bytes taken whole with `Pipe::recv`, the
/// default receive mode and configuration (a body this long goes to a
/// spill file); timed until `recv` returns it.
pub(crate) async fn netcore_recv(total: u64) -> io::Result<Transfer> {
    let (client, server) = tcp_pair().await?;
    let options = TcpOptions::default();
    let a = tcp::from_stream(client, &options).map_err(io::Error::other)?;
    let b = tcp::from_stream(server, &options).map_err(io::Error::other)?;
    let body = Bytes::from(vec![7u8; total as usize]);
    measure(total, async move {
        let handle = a.send(Message::new(body)).map_err(io::Error::other)?;
        let received = b.recv().await.map_err(io::Error::other)?;
        handle.await.map_err(io::Error::other)?;
        Ok(received.body.len())
    })
    .await
}

/// Round trips of a small message while a transfer runs beside it.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Beside {
    pub(crate) samples: usize,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// The transfer's own rate meanwhile.
    pub(crate) bulk_bytes_per_s: f64,
}

impl Beside {
    fn of(mut samples: Vec<Duration>, bulk: u64, elapsed: Duration) -> Beside {
        samples.sort();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
            samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        Beside {
            samples: samples.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            bulk_bytes_per_s: bulk as f64 / elapsed.as_secs_f64(),
        }
    }
}

/// Most round trips timed beside one transfer.
const MAX_SAMPLES: usize = 2000;

/// Netcore: a 64-byte HIGH message echoed by the peer while a LOW message
/// of `bulk` bytes goes the same way.
pub(crate) async fn netcore_ping_beside(bulk: u64) -> io::Result<Beside> {
    let (a, b) = pipe_pair().await?;
    let echo = tokio::spawn(async move {
        while let Ok(incoming) = b.accept().await {
            if incoming.priority == Priority::LOW {
                tokio::spawn(drain(incoming));
                continue;
            }
            let Ok(body) = incoming.bytes().await else {
                return;
            };
            if b.send(Message::new(body).priority(Priority::HIGH)).is_err() {
                return;
            }
        }
    });
    let body = Bytes::from(vec![1u8; bulk as usize]);
    let started = Instant::now();
    let handle = a
        .send(Message::new(body).priority(Priority::LOW))
        .map_err(io::Error::other)?;
    let mut samples = Vec::new();
    // Timed once the transfer is well under way, until it nears its end.
    while handle.bytes_sent() < bulk / 16 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    while handle.bytes_sent() < bulk * 9 / 10 && samples.len() < MAX_SAMPLES {
        let sent = Instant::now();
        let ping = Message::new(Bytes::from_static(&[0x5a; 64])).priority(Priority::HIGH);
        a.send(ping).map_err(io::Error::other)?;
        a.accept()
            .await
            .map_err(io::Error::other)?
            .bytes()
            .await
            .map_err(io::Error::other)?;
        samples.push(sent.elapsed());
    }
    handle.await.map_err(io::Error::other)?;
    let elapsed = started.elapsed();
    echo.abort();
    Ok(Beside::of(samples, bulk, elapsed))
}

/// yamux: a 64-byte message echoed on a second stream while `bulk` bytes
/// go on the first.
pub(crate) async fn yamux_ping_beside(bulk: u64) -> io::Result<Beside> {
    let (opener, mut inbound) = yamux_pair().await?;
    let mut streams = opener.open(2).await?;
    let (ping, bulk_stream) = match (streams.pop(), streams.pop()) {
        (Some(ping), Some(bulk)) => (ping, bulk),
        _ => return Err(io::Error::other("yamux: streams not opened")),
    };
    let sent_so_far = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent_so_far.clone();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let mut out = bulk_stream.compat();
        let buf = vec![1u8; 64 << 10];
        let mut left = bulk;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            out.write_all(&buf[..n]).await?;
            left -= n as u64;
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        out.shutdown().await
    });
    // The server: the streams in the order their first bytes arrive; the
    // bulk one is drained, the ping one echoed.
    let server = tokio::spawn(async move {
        let mut tasks = Vec::new();
        while let Some(stream) = inbound.recv().await {
            tasks.push(tokio::spawn(async move {
                let mut stream = stream.compat();
                let mut buf = vec![0u8; READ];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return io::Result::Ok(());
                    }
                    // Only the ping stream sends 64-byte messages and waits.
                    if n == 64 && buf[0] == 0x5a {
                        stream.write_all(&buf[..64]).await?;
                        stream.flush().await?;
                    }
                }
            }));
        }
        tasks
    });
    let mut ping = ping.compat();
    let sent =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    while sent(&sent_so_far) < bulk / 16 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let mut samples = Vec::new();
    let mut buf = [0x5au8; 64];
    while sent(&sent_so_far) < bulk * 9 / 10 && samples.len() < MAX_SAMPLES {
        let at = Instant::now();
        ping.write_all(&buf).await?;
        ping.flush().await?;
        ping.read_exact(&mut buf).await?;
        samples.push(at.elapsed());
    }
    writer.await.map_err(io::Error::other)??;
    let elapsed = started.elapsed();
    server.abort();
    Ok(Beside::of(samples, bulk, elapsed))
}
