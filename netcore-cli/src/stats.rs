//! Live pipe figures: `netcore stats ADDR`, and `--stats` on every command.

use std::fmt::Write as _;
use std::time::Duration;

use netcore_endpoint::Peer;
use netcore_pipe::PipeStats;

use crate::address::Address;
use crate::failure::Failure;
use crate::link;

/// Connects to ADDR and prints the connection's figures once a second:
/// messages in flight, bytes each way, round trip, windows, resyncs and
/// damaged bytes.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore stats tcp://127.0.0.1:7000 --for 10s
  netcore stats serial:///dev/ttyUSB0?baud=115200 --every 5s

Each line: in flight (out/in), bytes sent/read, round trip, the receive
window, the credit this side may still send with, resyncs and damaged
bytes. The same line comes once a second on standard error with --stats
on call, send, serve and listen.")]
pub(crate) struct StatsArgs {
    /// The peer: tcp://host:port, unix:///path, serial:///dev/tty?baud=N, quic://host:port.
    address: Address,
    /// How long to watch (default: until Ctrl-C or the connection ends).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    watch_for: Option<Duration>,
    /// How often to print a line.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    every: Duration,
    #[command(flatten)]
    link: link::LinkArgs,
}

pub(crate) async fn run(args: StatsArgs) -> Result<(), Failure> {
    let endpoint = link::client(&args.address, &args.link).await?;
    let peer = endpoint.peer().clone();
    let every = args.every.max(Duration::from_millis(10));
    let watch = async {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            println_stdout(&line(&peer.stats()))?;
            if peer.is_closed() {
                return Ok(());
            }
        }
    };
    let watched = match args.watch_for {
        Some(duration) => tokio::time::timeout(duration, watch)
            .await
            .unwrap_or(Ok(())),
        None => tokio::select! {
            outcome = watch => outcome,
            _ = tokio::signal::ctrl_c() => Ok(()),
        },
    };
    let _ = peer.close().await;
    watched
}

fn println_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Local(format!("cannot write to standard output: {error}")))
}

/// One line of figures.
pub(crate) fn line(stats: &PipeStats) -> String {
    let mut text = format!(
        "in flight {}/{} | sent {} in {} msgs | read {} in {} msgs | rtt {}",
        stats.outgoing_in_flight,
        stats.incoming_in_flight,
        bytes(stats.bytes_written),
        stats.messages_sent,
        bytes(stats.bytes_read),
        stats.messages_received,
        stats
            .rtt
            .map_or_else(|| "-".to_owned(), |rtt| format!("{:.1} ms", millis(rtt))),
    );
    if let Some(window) = stats.flow.recv_window {
        let _ = write!(text, " | window {}", bytes(window));
    }
    if let Some(credit) = stats.flow.send_credit {
        let _ = write!(text, " | credit {}", bytes(credit));
    }
    let _ = write!(
        text,
        " | resyncs {} | damaged {} B",
        stats.resyncs, stats.damaged_bytes
    );
    text
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// A byte count the way people read it: 512 B, 1.5 KiB, 20.0 MiB.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// With `--stats`: prints the figures of `peers()` on standard error once
/// a second until dropped.
pub(crate) struct Reporter {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Reporter {
    /// Starts reporting if `enabled`; `peers` names each connection to show.
    pub(crate) fn start(
        enabled: bool,
        peers: impl Fn() -> Vec<(String, Peer)> + Send + 'static,
    ) -> Reporter {
        let task = enabled.then(|| {
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(1));
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    for (name, peer) in peers() {
                        eprintln!("stats {name}: {}", line(&peer.stats()));
                    }
                }
            })
        });
        Reporter { task }
    }

    /// Starts reporting one connection if `enabled`.
    pub(crate) fn one(enabled: bool, name: String, peer: &Peer) -> Reporter {
        let peer = peer.clone();
        Reporter::start(enabled, move || vec![(name.clone(), peer.clone())])
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_like_people_write_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 << 20), "20.0 MiB");
    }

    #[test]
    fn a_line_shows_every_figure_the_link_has() {
        let mut stats = PipeStats::default();
        stats.bytes_written = 2048;
        stats.rtt = Some(Duration::from_micros(1500));
        stats.resyncs = 3;
        stats.damaged_bytes = 17;
        let shown = line(&stats);
        for part in [
            "in flight 0/0",
            "sent 2.0 KiB",
            "rtt 1.5 ms",
            "resyncs 3",
            "damaged 17 B",
        ] {
            assert!(shown.contains(part), "{part:?} missing from {shown:?}");
        }
        assert!(!shown.contains("window"), "no window on this link: {shown}");
    }
}
