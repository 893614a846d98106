//! Netcore against its peers, on the same work in the same run, over
//! loopback TCP on this machine.
//!
//! - small calls (a 64-byte echo) at 1, 64 and 256 in flight: calls/s and
//!   process CPU per call, tarpc 0.38 (bincode, `TCP_NODELAY`) against
//!   Netcore `Peer::call` with a `Bytes` handler and `Peer::call_json` with
//!   a `Json<T>` handler;
//! - bulk: one 1 GiB transfer through raw TCP (64 KiB and 1 MiB writes),
//!   one yamux 0.14 stream and one Netcore message, and eight concurrent
//!   128 MiB Netcore messages, and one taken whole by `Pipe::recv` with the
//!   default configuration, each with CPU seconds per GB and page faults
//!   per GiB; and a 64-byte round trip while a 1 GiB transfer runs on the
//!   same connection, Netcore against yamux.
//!
//! Prints a table with ratios and writes the figures as JSON to
//! `target/bench/peers.json`. Run with `cargo xtask bench --bench peers`
//! (or `cargo bench --bench peers`); `-- --quick` shortens every case;
//! `-- --profile N` runs only Netcore `Bytes` calls at N in flight for 10 s
//! (to record with `perf`; with `--tarpc`, tarpc's calls instead, with
//! `--json`, Netcore JSON calls); `-- --bulk` runs only the bulk cases (and
//! writes no JSON).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bulk;
mod calls;
mod cpu;
#[path = "../common/pattern.rs"]
mod pattern;
#[path = "../common/yamux_connections.rs"]
mod yamux_connections;

use std::io;
use std::time::Duration;

use serde::Serialize;

use calls::{CallRate, Handler};

/// The in-flight counts of the calls cases.
const IN_FLIGHT: [usize; 3] = [1, 64, 256];

/// One row of the calls table.
#[derive(Debug, Serialize)]
struct CallsRow {
    in_flight: usize,
    tarpc: CallRate,
    netcore_bytes: CallRate,
    netcore_json: CallRate,
    /// Netcore `Bytes` calls/s over tarpc's (target ≥ 1.2).
    ratio_bytes: f64,
    /// Netcore JSON calls/s over tarpc's.
    ratio_json: f64,
}

/// The bulk cases.
#[derive(Debug, Serialize)]
struct BulkReport {
    /// Bytes of each single transfer (the eight messages are an eighth
    /// each).
    bytes: u64,
    raw_tcp_64k_writes: bulk::Transfer,
    raw_tcp_1m_writes: bulk::Transfer,
    yamux: bulk::Transfer,
    netcore_one: bulk::Transfer,
    netcore_eight: bulk::Transfer,
    /// One message taken whole with `Pipe::recv` (default configuration).
    netcore_recv: bulk::Transfer,
    /// Netcore one message over raw TCP with 1 MiB writes (target ≥ 0.9).
    ratio_one: f64,
    netcore_ping_beside: bulk::Beside,
    yamux_ping_beside: bulk::Beside,
}

/// Everything the run measured.
#[derive(Debug, Serialize)]
struct Report {
    worker_threads: usize,
    calls: Vec<CallsRow>,
    bulk: BulkReport,
}

fn main() -> io::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(quick))
}

async fn run(quick: bool) -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--profile") {
        let in_flight = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| io::Error::other("--profile needs a number of calls in flight"))?;
        let time = Duration::from_secs(10);
        let rate = if args.iter().any(|arg| arg == "--tarpc") {
            calls::tarpc_calls(in_flight, time).await?
        } else if args.iter().any(|arg| arg == "--json") {
            calls::netcore_calls(Handler::Json, in_flight, time).await?
        } else {
            calls::netcore_calls(Handler::Bytes, in_flight, time).await?
        };
        println!("{in_flight} in flight: {rate:?}");
        return Ok(());
    }
    let bulk_total = if quick { 128 << 20 } else { 1 << 30 };
    if args.iter().any(|arg| arg == "--bulk") {
        run_bulk(bulk_total).await?;
        return Ok(());
    }
    let time = if quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(2)
    };
    let mut calls = Vec::new();
    for in_flight in IN_FLIGHT {
        let tarpc = calls::tarpc_calls(in_flight, time).await?;
        let netcore_bytes = calls::netcore_calls(Handler::Bytes, in_flight, time).await?;
        let netcore_json = calls::netcore_calls(Handler::Json, in_flight, time).await?;
        calls.push(CallsRow {
            in_flight,
            ratio_bytes: netcore_bytes.calls_per_s / tarpc.calls_per_s,
            ratio_json: netcore_json.calls_per_s / tarpc.calls_per_s,
            tarpc,
            netcore_bytes,
            netcore_json,
        });
    }

    println!();
    println!(
        "Small calls, {}-byte echo over loopback TCP, 2 worker threads",
        calls::PAYLOAD
    );
    println!(
        "{:>9} {:>12} {:>14} {:>13} {:>7} {:>7} {:>22}",
        "in flight", "tarpc /s", "netcore /s", "json /s", "ratio", "json", "CPU µs/call t / n / j"
    );
    for row in &calls {
        println!(
            "{:>9} {:>12.0} {:>14.0} {:>13.0} {:>7.2} {:>7.2} {:>8.1} / {:>5.1} / {:>5.1}",
            row.in_flight,
            row.tarpc.calls_per_s,
            row.netcore_bytes.calls_per_s,
            row.netcore_json.calls_per_s,
            row.ratio_bytes,
            row.ratio_json,
            row.tarpc.cpu_us_per_call,
            row.netcore_bytes.cpu_us_per_call,
            row.netcore_json.cpu_us_per_call,
        );
    }
    let bulk = run_bulk(bulk_total).await?;
    let report = Report {
        worker_threads: 2,
        calls,
        bulk,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("peers.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!("figures written to {}", path.display());
    Ok(())
}

/// The bulk cases, `total` bytes each, and their table.
async fn run_bulk(total: u64) -> io::Result<BulkReport> {
    let raw_tcp_64k_writes = bulk::raw_tcp(total, 64 << 10).await?;
    let raw_tcp_1m_writes = bulk::raw_tcp(total, 1 << 20).await?;
    let yamux = bulk::yamux(total).await?;
    let netcore_one = bulk::netcore(1, total).await?;
    let netcore_eight = bulk::netcore(8, total / 8).await?;
    let netcore_recv = bulk::netcore_recv(total).await?;
    let netcore_ping_beside = bulk::netcore_ping_beside(total).await?;
    let yamux_ping_beside = bulk::yamux_ping_beside(total).await?;
    let base = raw_tcp_1m_writes.bytes_per_s;

    println!();
    println!(
        "Bulk over loopback TCP, {} MiB per transfer (CPU and faults: both ends)",
        total >> 20
    );
    println!(
        "{:<34} {:>8} {:>12} {:>9} {:>12}",
        "case", "GB/s", "vs raw 1 MiB", "CPU s/GB", "faults/GiB"
    );
    let rows = [
        ("raw TCP, 64 KiB writes", raw_tcp_64k_writes),
        ("raw TCP, 1 MiB writes", raw_tcp_1m_writes),
        ("yamux 0.14, one stream", yamux),
        ("Netcore, one message", netcore_one),
        ("Netcore, 8 messages at once", netcore_eight),
        ("Netcore, one message by recv()", netcore_recv),
    ];
    for (name, row) in rows {
        println!(
            "{:<34} {:>8.2} {:>12.2} {:>9.2} {:>12.0}",
            name,
            row.bytes_per_s / 1e9,
            row.bytes_per_s / base,
            row.cpu_s_per_gb,
            row.faults_per_gib
        );
    }
    println!("64-byte round trip beside the transfer on the same connection:");
    for (name, row) in [
        ("Netcore (HIGH beside LOW)", netcore_ping_beside),
        ("yamux (a second stream)", yamux_ping_beside),
    ] {
        println!(
            "  {:<28} p50 {:>7.0} µs  p99 {:>7.0} µs  ({} samples; bulk {:.2} GB/s)",
            name,
            row.p50_us,
            row.p99_us,
            row.samples,
            row.bulk_bytes_per_s / 1e9
        );
    }
    Ok(BulkReport {
        bytes: total,
        ratio_one: netcore_one.bytes_per_s / base,
        raw_tcp_64k_writes,
        raw_tcp_1m_writes,
        yamux,
        netcore_one,
        netcore_eight,
        netcore_recv,
        netcore_ping_beside,
        yamux_ping_beside,
    })
}
