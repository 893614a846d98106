//! `netcore bench ADDR`: throughput, round trip under bulk and calls per
//! second against a `netcore serve`, printed as a table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use netcore_endpoint::Peer;

use crate::address::Address;
use crate::call::call_failure;
use crate::failure::Failure;
use crate::link::{self, LinkArgs};
use crate::serve::{route_name, say};
use crate::stats::{self, Reporter};

/// Measures a link to a `netcore serve`: bulk throughput to `sink`, the
/// round trip of small `echo` calls while a bulk upload runs, and calls per
/// second with many in flight. Prints one table on standard output.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore serve tcp://127.0.0.1:7000 &
  netcore bench tcp://127.0.0.1:7000
  netcore bench serial:///dev/ttyUSB0?baud=115200 --bulk 256KiB --for 5s
  netcore bench tcp://10.0.0.2:7000 --in-flight 256

Rows: throughput (one upload of --bulk bytes to sink), rtt under bulk
(64-byte echo calls, one at a time, while uploads run; p50/p99/max) and
calls/s (--in-flight echo calls kept going for --for). The peer must
answer echo and sink, as `netcore serve` does.")]
pub(crate) struct BenchArgs {
    /// The peer: tcp://host:port, unix:///path, serial:///dev/tty?baud=N, quic://host:port.
    address: Address,
    /// How much one bulk upload sends (64MiB, 512KiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    bulk: u64,
    /// How long the round-trip and calls/s phases each run.
    #[arg(long = "for", default_value = "3s", value_parser = humantime::parse_duration)]
    run_for: Duration,
    /// Echo calls kept in flight in the calls/s phase.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    #[command(flatten)]
    link: LinkArgs,
}

/// A size such as `64MiB`, `512KiB`, `1000` (bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 64MiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown unit {other:?} (use B, KiB, MiB or GiB)")),
    };
    n.checked_mul(scale)
        .filter(|&size| size > 0)
        .ok_or_else(|| format!("{text:?} is not a size from 1 B to 16 EiB"))
}

/// The round trips of one phase, in order of size.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn at(&self, fraction: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.0.len() - 1) as f64 * fraction).round() as usize;
        self.0[index.min(self.0.len() - 1)]
    }
}

pub(crate) async fn run(args: BenchArgs, show_stats: bool) -> Result<(), Failure> {
    let endpoint = link::client(&args.address, &args.link).await?;
    let peer = endpoint.peer().clone();
    let _reporter = Reporter::one(show_stats, args.address.to_string(), &peer);
    let echo = route_name(args.link.wire, "echo");
    let sink = route_name(args.link.wire, "sink");
    let failed = |error| call_failure(error, &args.address);
    let bulk = Bytes::from(vec![0x5a; usize::try_from(args.bulk).unwrap_or(usize::MAX)]);

    // Warm up: the first call opens windows and routes.
    peer.call(&echo, Bytes::from_static(b"warm up"))
        .await
        .map_err(failed)?;

    let started = Instant::now();
    peer.call(&sink, bulk.clone()).await.map_err(failed)?;
    let bulk_took = started.elapsed();

    let latencies = rtt_under_bulk(&peer, &echo, &sink, &bulk, args.run_for)
        .await
        .map_err(failed)?;
    let (calls, calls_took) = calls_per_second(&peer, &echo, args.in_flight, args.run_for)
        .await
        .map_err(failed)?;
    let _ = peer.close().await;

    let rate = args.bulk as f64 / bulk_took.as_secs_f64().max(1e-9);
    let wire = match args.link.wire {
        crate::Wire::Lso2 => "lso2",
        crate::Wire::Python013 => "python013",
    };
    say(format_args!("netcore bench {} (wire {wire})", args.address))?;
    say(format_args!("{:<22} {}", "phase", "result"))?;
    say(format_args!(
        "{:<22} {}/s ({} in {:.2} s)",
        "throughput",
        stats::bytes(rate as u64),
        stats::bytes(args.bulk),
        bulk_took.as_secs_f64()
    ))?;
    say(format_args!(
        "{:<22} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} calls)",
        "rtt under bulk",
        millis(latencies.at(0.5)),
        millis(latencies.at(0.99)),
        millis(latencies.at(1.0)),
        latencies.0.len()
    ))?;
    say(format_args!(
        "{:<22} {:.0} calls/s ({calls} calls, {} in flight)",
        "calls/s",
        calls as f64 / calls_took.as_secs_f64().max(1e-9),
        args.in_flight
    ))?;
    Ok(())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// 64-byte echo calls one after another for `run_for`, while uploads of
/// `bulk` to `sink` run back to back beside them.
async fn rtt_under_bulk(
    peer: &Peer,
    echo: &str,
    sink: &str,
    bulk: &Bytes,
    run_for: Duration,
) -> Result<Latencies, netcore_endpoint::CallError> {
    let stop = Arc::new(AtomicBool::new(false));
    let uploads = {
        let (peer, sink, bulk, stop) = (peer.clone(), sink.to_owned(), bulk.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peer.call(&sink, bulk.clone()).await?;
            }
            Ok::<_, netcore_endpoint::CallError>(())
        })
    };
    let small = Bytes::from_static(&[0x42; 64]);
    let mut latencies = Vec::new();
    let deadline = Instant::now() + run_for;
    let measured = async {
        while Instant::now() < deadline {
            let sent = Instant::now();
            peer.call(echo, small.clone()).await?;
            latencies.push(sent.elapsed());
        }
        Ok(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    // The upload in progress finishes (or fails with the link); its error
    // counts only if the small calls went well.
    let uploaded = uploads.await.unwrap_or(Ok(()));
    measured.and(uploaded)?;
    latencies.sort_unstable();
    Ok(Latencies(latencies))
}

/// `in_flight` tasks calling `echo` with 64 bytes for `run_for`: the calls
/// answered and the time they took.
async fn calls_per_second(
    peer: &Peer,
    echo: &str,
    in_flight: usize,
    run_for: Duration,
) -> Result<(u64, Duration), netcore_endpoint::CallError> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + run_for;
    let tasks: Vec<_> = (0..in_flight.max(1))
        .map(|_| {
            let (peer, echo, done) = (peer.clone(), echo.to_owned(), done.clone());
            tokio::spawn(async move {
                let small = Bytes::from_static(&[0x42; 64]);
                while Instant::now() < deadline {
                    peer.call(&echo, small.clone()).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, netcore_endpoint::CallError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap_or(Ok(()))?;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2mb"), Ok(2_000_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn percentiles_come_from_the_sorted_round_trips() {
        let latencies = Latencies((1..=100).map(Duration::from_millis).collect());
        assert_eq!(latencies.at(0.5), Duration::from_millis(51));
        assert_eq!(latencies.at(0.99), Duration::from_millis(99));
        assert_eq!(latencies.at(1.0), Duration::from_millis(100));
        assert_eq!(Latencies(Vec::new()).at(0.5), Duration::ZERO);
    }
}
