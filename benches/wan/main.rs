//! Throughput and latency through a delayed path: Netcore `Pipe` against raw
//! TCP and yamux through a user-space TCP delay proxy on loopback (issue 15).
//!
//! For each round-trip time — 5 ms, 56 ms and 200 ms — in one run:
//! 1. one 256 MiB transfer, client → server, timed until the server has read
//!    every byte: raw TCP (64 KiB writes), yamux (default config, one
//!    stream) and a Netcore Pipe (`PipeConfig::default()`); the ratios
//!    Netcore/raw (goal ≥ 0.8 at 56 ms) and Netcore/yamux (goal ≥ 2), and
//!    what `Pipe::stats()` says on each side at the end;
//! 2. eight concurrent 32 MiB messages on one pipe against raw TCP moving
//!    256 MiB (goal ≥ 0.8×), and the completion spread: slowest / fastest
//!    completion time − 1 (goal ≤ 20 %);
//! 3. while those eight run, the round trip of a 64-byte `Priority::HIGH`
//!    message that the peer echoes at HIGH, p50 and p99, against the idle
//!    round trip measured the same way before the bulk starts (goal: p99 −
//!    idle within one RTT plus two chunk times).
//!
//! The proxy (`proxy.rs` beside this file; the reference peers in `baselines.rs`, the
//! pipes in `pipes.rs`) runs in its own thread on its own runtime and
//! delays each direction by RTT / 2, without a bandwidth limit or loss; the
//! measured side is a 2-worker runtime as in `benches/pipe.rs`. Every
//! transfer has a time limit (120 s, `--timeout SECS`); one that runs out is
//! reported as "t/o" with the rate of the bytes delivered so far.
//!
//! Prints a table and writes the figures as JSON to `target/bench/wan.json`.
//! Run with `cargo xtask bench --bench wan` (or `cargo bench --bench wan
//! --features pipe`); `-- --quick` shrinks every size by 8, `-- --rtt 56`
//! runs one RTT only, `-- --timeline` prints the Netcore transfers' progress
//! (and the single one's windows) every 10 ms, to stderr. See `docs/wan.md`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod baselines;
#[path = "../common/pattern.rs"]
mod pattern;
mod pipes;
mod proxy;
#[path = "../common/yamux_connections.rs"]
mod yamux_connections;

use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use proxy::DelayProxy;

const MIB: u64 = 1 << 20;

/// The round-trip times measured, in milliseconds.
const RTTS_MS: [u64; 3] = [5, 56, 200];

/// Concurrent messages in part 2.
const CONCURRENT: usize = 8;

/// Unsent bytes the kernel may hold per endpoint socket, as the transports
/// crate sets it (`TcpOptions::notsent_lowat`).
const NOTSENT_LOWAT: u32 = 128 * 1024;

/// The default time limit of each transfer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The command line: `--quick`, `--rtt MS`, `--timeout SECS`, `--timeline`.
struct Options {
    scale: u64,
    rtts: Vec<u64>,
    timeout: Duration,
    timeline: bool,
}

impl Options {
    fn parse() -> io::Result<Options> {
        let args: Vec<String> = std::env::args().collect();
        let value = |name: &str| -> io::Result<Option<u64>> {
            match args.iter().position(|arg| arg == name) {
                None => Ok(None),
                Some(at) => args
                    .get(at + 1)
                    .and_then(|value| value.parse().ok())
                    .map(Some)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{name} needs a number"),
                        )
                    }),
            }
        };
        Ok(Options {
            scale: if args.iter().any(|arg| arg == "--quick") {
                8
            } else {
                1
            },
            rtts: value("--rtt")?.map_or_else(|| RTTS_MS.to_vec(), |rtt| vec![rtt]),
            timeout: value("--timeout")?.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            timeline: args.iter().any(|arg| arg == "--timeline"),
        })
    }
}

fn main() -> io::Result<()> {
    let options = Options::parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

/// A transfer's rate; `complete` is false when it ran out of time, and the
/// rate is then that of the bytes delivered so far.
#[derive(Clone, Copy)]
pub(crate) struct Throughput {
    pub(crate) bytes_per_s: f64,
    pub(crate) complete: bool,
}

impl Throughput {
    fn complete(bytes: u64, elapsed: Duration) -> Throughput {
        Throughput {
            bytes_per_s: bytes as f64 / elapsed.as_secs_f64(),
            complete: true,
        }
    }

    fn timed_out(bytes: u64, elapsed: Duration) -> Throughput {
        Throughput {
            bytes_per_s: bytes as f64 / elapsed.as_secs_f64(),
            complete: false,
        }
    }

    /// The throughput of a timed transfer of `total` bytes that delivered
    /// `got` (`outcome` is `Err` when it ran out of time).
    fn of(
        outcome: Result<io::Result<()>, tokio::time::error::Elapsed>,
        got: u64,
        total: u64,
        elapsed: Duration,
        what: &str,
    ) -> io::Result<Throughput> {
        match outcome {
            Err(_) => Ok(Throughput::timed_out(got, elapsed)),
            Ok(result) => {
                result?;
                if got != total {
                    return Err(io::Error::other(format!(
                        "{what}: the receiver got {got} of {total} bytes"
                    )));
                }
                Ok(Throughput::complete(total, elapsed))
            }
        }
    }

    fn mb_per_s(self) -> f64 {
        self.bytes_per_s / 1e6
    }

    /// "123.4", or "12.3 t/o" for a transfer that ran out of time.
    fn cell(self) -> String {
        if self.complete {
            format!("{:.1}", self.mb_per_s())
        } else {
            format!("{:.1} t/o", self.mb_per_s())
        }
    }

    fn json(self) -> Value {
        json!({ "bytes_per_s": self.bytes_per_s.round(), "complete": self.complete })
    }
}

/// A client and a server TCP stream connected through `proxy`, tuned as
/// the transports crate tunes its sockets (`TCP_NODELAY`, 128 KiB
/// `TCP_NOTSENT_LOWAT`).
pub(crate) async fn proxied_pair(proxy: &DelayProxy) -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (accepted, connected) = tokio::join!(listener.accept(), proxy.connect(address));
    let (server, _) = accepted?;
    let client = connected?;
    for stream in [&server, &client] {
        stream.set_nodelay(true)?;
        socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT)?;
    }
    Ok((client, server))
}

/// Everything measured at one RTT.
struct AtRtt {
    rtt: Duration,
    /// Round trips of a 64-byte raw TCP echo through the proxy, sorted.
    path: Vec<Duration>,
    raw_one: Throughput,
    yamux_one: Throughput,
    netcore_one: pipes::Single,
    raw_eight: Throughput,
    netcore_eight: pipes::Concurrent,
}

async fn measure(rtt_ms: u64, one: u64, each: u64, options: &Options) -> io::Result<AtRtt> {
    let limit = options.timeout;
    let rtt = Duration::from_millis(rtt_ms);
    let proxy = DelayProxy::start(rtt)?;
    let progress = |what: &str, throughput: Throughput| {
        eprintln!("  {rtt_ms} ms RTT, {what}: {} MB/s", throughput.cell());
    };
    let path = baselines::raw_echo(&proxy, pipes::IDLE_SAMPLES).await?;
    let raw_one = baselines::raw_tcp(&proxy, one, limit).await?;
    progress("raw TCP", raw_one);
    let yamux_one = baselines::yamux(&proxy, one, limit).await?;
    progress("yamux", yamux_one);
    let netcore_one = pipes::single(&proxy, one, limit, options.timeline).await?;
    progress("netcore", netcore_one.throughput);
    let raw_eight = baselines::raw_tcp(&proxy, CONCURRENT as u64 * each, limit).await?;
    progress("raw TCP (8 × size)", raw_eight);
    let netcore_eight =
        pipes::concurrent(&proxy, CONCURRENT, each, limit, options.timeline).await?;
    progress("netcore, 8 concurrent", netcore_eight.throughput);
    Ok(AtRtt {
        rtt,
        path,
        raw_one,
        yamux_one,
        netcore_one,
        raw_eight,
        netcore_eight,
    })
}

/// The sample at quantile `q` of sorted `samples`.
fn quantile(samples: &[Duration], q: f64) -> Option<Duration> {
    let at = ((samples.len() as f64 * q) as usize).min(samples.len().checked_sub(1)?);
    samples.get(at).copied()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ms_cell(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "-".to_owned(), |d| format!("{:.1}", ms(d)))
}

/// Slowest / fastest completion − 1, when every message completed.
fn spread(done: &[Duration], count: usize) -> Option<f64> {
    let (first, last) = (done.first()?, done.last()?);
    (done.len() == count && !first.is_zero())
        .then(|| last.as_secs_f64() / first.as_secs_f64() - 1.0)
}

async fn run(options: Options) -> io::Result<()> {
    let one = 256 * MIB / options.scale;
    let each = 32 * MIB / options.scale;
    let mut results = Vec::new();
    for &rtt_ms in &options.rtts {
        eprintln!("measuring at {rtt_ms} ms RTT…");
        results.push(measure(rtt_ms, one, each, &options).await?);
    }

    println!();
    println!(
        "Through a delay proxy on loopback (RTT/2 each way, no bandwidth limit); limit {} s per transfer, t/o = ran out (rate so far)",
        options.timeout.as_secs()
    );
    println!();
    println!("one {} MiB transfer", one / MIB);
    println!(
        "{:>7} {:>12} {:>12} {:>14} {:>10} {:>12}",
        "RTT", "raw MB/s", "yamux MB/s", "netcore MB/s", "n/raw", "n/yamux"
    );
    for at in &results {
        let netcore = at.netcore_one.throughput;
        println!(
            "{:>7} {:>12} {:>12} {:>14} {:>10.2} {:>12.2}",
            format!("{} ms", at.rtt.as_millis()),
            at.raw_one.cell(),
            at.yamux_one.cell(),
            netcore.cell(),
            netcore.bytes_per_s / at.raw_one.bytes_per_s,
            netcore.bytes_per_s / at.yamux_one.bytes_per_s,
        );
    }
    println!("  goal at 56 ms: n/raw ≥ 0.80, n/yamux ≥ 2.00");
    println!();
    println!(
        "{CONCURRENT} concurrent {} MiB messages on one pipe (raw TCP: one {} MiB transfer)",
        each / MIB,
        CONCURRENT as u64 * each / MIB
    );
    println!(
        "{:>7} {:>12} {:>14} {:>10} {:>10} {:>10} {:>8}",
        "RTT", "raw MB/s", "netcore MB/s", "n/raw", "first ms", "last ms", "spread"
    );
    for at in &results {
        let eight = &at.netcore_eight;
        println!(
            "{:>7} {:>12} {:>14} {:>10.2} {:>10} {:>10} {:>8}",
            format!("{} ms", at.rtt.as_millis()),
            at.raw_eight.cell(),
            eight.throughput.cell(),
            eight.throughput.bytes_per_s / at.raw_eight.bytes_per_s,
            ms_cell(eight.done.first().copied()),
            ms_cell(eight.done.last().copied()),
            spread(&eight.done, CONCURRENT)
                .map_or_else(|| "-".to_owned(), |s| format!("{:.0} %", s * 1e2)),
        );
    }
    println!("  spread = slowest / fastest completion − 1; goal ≥ 0.80 n/raw, spread ≤ 20 %");
    println!();
    println!("64-byte HIGH round trip (echoed at HIGH) while the {CONCURRENT} run, against idle");
    println!(
        "{:>7} {:>9} {:>9} {:>9} {:>9} {:>14} {:>12} {:>8}",
        "RTT", "path ms", "idle ms", "p50 ms", "p99 ms", "p99−idle ms", "p99−idle RTT", "samples"
    );
    for at in &results {
        let eight = &at.netcore_eight;
        let idle = quantile(&eight.idle, 0.5);
        let p99 = quantile(&eight.under_bulk, 0.99);
        let excess = idle.zip(p99).map(|(idle, p99)| ms(p99) - ms(idle));
        println!(
            "{:>7} {:>9} {:>9} {:>9} {:>9} {:>14} {:>12} {:>8}",
            format!("{} ms", at.rtt.as_millis()),
            ms_cell(quantile(&at.path, 0.5)),
            ms_cell(idle),
            ms_cell(quantile(&eight.under_bulk, 0.5)),
            ms_cell(p99),
            excess.map_or_else(|| "-".to_owned(), |e| format!("{e:.1}")),
            excess.map_or_else(|| "-".to_owned(), |e| format!("{:.2}", e / ms(at.rtt))),
            eight.under_bulk.len(),
        );
    }
    println!(
        "  idle = median of {} round trips before the bulk; path = the same over raw TCP\n  goal p99 − idle ≤ 1 RTT + two chunk times",
        pipes::IDLE_SAMPLES
    );
    println!();
    println!("Pipe::stats() at the end of the single transfer");
    for at in &results {
        println!(
            "  {} ms sender:   {:?}",
            at.rtt.as_millis(),
            at.netcore_one.sender
        );
        println!(
            "  {} ms receiver: {:?}",
            at.rtt.as_millis(),
            at.netcore_one.receiver
        );
    }

    let rtts: Vec<Value> = results
        .iter()
        .map(|at| {
            let eight = &at.netcore_eight;
            let idle = quantile(&eight.idle, 0.5);
            let p50 = quantile(&eight.under_bulk, 0.5);
            let p99 = quantile(&eight.under_bulk, 0.99);
            json!({
                "rtt_ms": at.rtt.as_millis() as u64,
                "one_transfer": {
                    "bytes": one,
                    "raw_tcp": at.raw_one.json(),
                    "yamux": at.yamux_one.json(),
                    "netcore": at.netcore_one.throughput.json(),
                    "netcore_over_raw": at.netcore_one.throughput.bytes_per_s / at.raw_one.bytes_per_s,
                    "netcore_over_yamux": at.netcore_one.throughput.bytes_per_s / at.yamux_one.bytes_per_s,
                    "sender_stats": format!("{:?}", at.netcore_one.sender),
                    "receiver_stats": format!("{:?}", at.netcore_one.receiver),
                },
                "concurrent": {
                    "count": CONCURRENT,
                    "bytes_each": each,
                    "raw_tcp": at.raw_eight.json(),
                    "netcore": eight.throughput.json(),
                    "netcore_over_raw": eight.throughput.bytes_per_s / at.raw_eight.bytes_per_s,
                    "done_ms": eight.done.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "spread": spread(&eight.done, CONCURRENT),
                },
                "high_round_trip": {
                    "path_raw_tcp_ms": quantile(&at.path, 0.5).map(ms),
                    "idle_ms": idle.map(ms),
                    "samples": eight.under_bulk.len(),
                    "p50_ms": p50.map(ms),
                    "p99_ms": p99.map(ms),
                    "p99_minus_idle_ms": idle.zip(p99).map(|(i, p)| ms(p) - ms(i)),
                    "p99_minus_idle_rtts": idle.zip(p99).map(|(i, p)| (ms(p) - ms(i)) / ms(at.rtt)),
                },
            })
        })
        .collect();
    let json = json!({
        "scale": options.scale,
        "timeout_s": options.timeout.as_secs(),
        "proxy_in_flight_bytes_per_direction": proxy::IN_FLIGHT,
        "rtts": rtts,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let text = serde_json::to_string_pretty(&json).map_err(io::Error::other)?;
    std::fs::write(dir.join("wan.json"), text + "\n")?;
    println!("figures written to {}", dir.join("wan.json").display());
    Ok(())
}
