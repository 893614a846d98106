//! Netcore against its peers, on the same work in the same run, over
//! loopback TCP on this machine.
//!
//! - small calls (a 64-byte echo) at 1, 64 and 256 in flight: calls/s and
//!   process CPU per call, tarpc 0.38 (bincode, `TCP_NODELAY`) against
//!   Netcore `Peer::call` with a `Bytes` handler and `Peer::call_json` with
//!   a `Json<T>` handler.
//!
//! Prints a table with ratios and writes the figures as JSON to
//! `target/bench/peers.json`. Run with `cargo xtask bench --bench peers`
//! (or `cargo bench --bench peers`); `-- --quick` shortens every case;
//! `-- --profile N` runs only Netcore `Bytes` calls at N in flight for 10 s
//! (to record with `perf`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod calls;
mod cpu;

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

/// Everything the run measured.
#[derive(Debug, Serialize)]
struct Report {
    worker_threads: usize,
    calls: Vec<CallsRow>,
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
        let rate = calls::netcore_calls(Handler::Bytes, in_flight, Duration::from_secs(10)).await?;
        println!("{in_flight} in flight: {rate:?}");
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
    let report = Report {
        worker_threads: 2,
        calls,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("peers.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!("figures written to {}", path.display());
    Ok(())
}
