//! The reference peers through the delay proxy: raw TCP and yamux, one
//! client → server transfer each.

use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_util::compat::FuturesAsyncReadCompatExt;

use crate::pattern::send_pattern;
use crate::proxy::DelayProxy;
use crate::yamux_connections::yamux_connections;
use crate::{Throughput, proxied_pair};

/// Bytes per write of the raw TCP and yamux senders.
const WRITE: usize = 64 * 1024;

/// Bytes per read of the raw TCP and yamux receivers.
const READ: usize = 1 << 20;

/// `total` bytes through a raw TCP connection via the proxy, in 64 KiB
/// writes; timed until the server has read every byte.
pub(crate) async fn raw_tcp(
    proxy: &DelayProxy,
    total: u64,
    limit: Duration,
) -> io::Result<Throughput> {
    let (client, mut server) = proxied_pair(proxy).await?;
    let got = AtomicU64::new(0);
    let started = Instant::now();
    let writer = tokio::spawn(send_pattern(client, total, WRITE));
    let read = receive_counted(&mut server, total, &got);
    let outcome = tokio::time::timeout(limit, read).await;
    let elapsed = started.elapsed();
    writer.abort();
    Throughput::of(
        outcome,
        got.load(Ordering::Relaxed),
        total,
        elapsed,
        "raw TCP",
    )
}

/// Round trips of a 64-byte message echoed over raw TCP via the proxy,
/// sorted: the path's own round trip (the proxy's timer adds up to about a
/// millisecond each way).
pub(crate) async fn raw_echo(proxy: &DelayProxy, samples: usize) -> io::Result<Vec<Duration>> {
    let (mut client, mut server) = proxied_pair(proxy).await?;
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while server.read_exact(&mut buf).await.is_ok() {
            if server.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let mut rtts = Vec::with_capacity(samples);
    let mut buf = [0x5au8; 64];
    for _ in 0..samples {
        let sent = Instant::now();
        client.write_all(&buf).await?;
        client.read_exact(&mut buf).await?;
        rtts.push(sent.elapsed());
    }
    echo.abort();
    rtts.sort();
    Ok(rtts)
}

/// `total` bytes on one yamux stream (default config) via the proxy, in
/// 64 KiB writes; timed until the server has read every byte.
pub(crate) async fn yamux(
    proxy: &DelayProxy,
    total: u64,
    limit: Duration,
) -> io::Result<Throughput> {
    let (client, server) = proxied_pair(proxy).await?;
    let (mut client, mut server) = yamux_connections(client, server);
    let outbound = poll_fn(|cx| client.poll_new_outbound(cx))
        .await
        .map_err(io::Error::other)?;
    // Each connection is driven by polling it for inbound streams.
    let client_driver = tokio::spawn(async move {
        while let Some(Ok(_)) = poll_fn(|cx| client.poll_next_inbound(cx)).await {}
    });
    let (inbound_tx, inbound) = oneshot::channel();
    let server_driver = tokio::spawn(async move {
        let mut inbound_tx = Some(inbound_tx);
        while let Some(Ok(stream)) = poll_fn(|cx| server.poll_next_inbound(cx)).await {
            if let Some(tx) = inbound_tx.take() {
                let _ = tx.send(stream);
            }
        }
    });
    let got = AtomicU64::new(0);
    let started = Instant::now();
    let writer = tokio::spawn(send_pattern(outbound.compat(), total, WRITE));
    let read = async {
        let stream = inbound
            .await
            .map_err(|_| io::Error::other("yamux: no inbound stream"))?;
        receive_counted(stream.compat(), total, &got).await
    };
    let outcome = tokio::time::timeout(limit, read).await;
    let elapsed = started.elapsed();
    writer.abort();
    client_driver.abort();
    server_driver.abort();
    Throughput::of(
        outcome,
        got.load(Ordering::Relaxed),
        total,
        elapsed,
        "yamux",
    )
}

/// Reads until `total` bytes arrived or the stream ends, counting them in
/// `got` (so a timed-out transfer still says how far it came).
async fn receive_counted(
    mut input: impl AsyncRead + Unpin,
    total: u64,
    got: &AtomicU64,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ];
    while got.load(Ordering::Relaxed) < total {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(())
}
