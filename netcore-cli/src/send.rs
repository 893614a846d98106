//! `netcore send ADDR --file F`: an upload, with a progress bar on a
//! terminal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use netcore_endpoint::CallOptions;
use netcore_pipe::Body;
use tokio::io::AsyncReadExt;

use crate::address::Address;
use crate::call::{call_failure, print_reply};
use crate::failure::Failure;
use crate::link::{self, LinkArgs};
use crate::serve::route_name;
use crate::stats::{self, Reporter};

/// How much of the file one read takes.
const READ_SIZE: usize = 256 << 10;

/// Uploads a file to ROUTE at ADDR (default: the `sink` route of a
/// `netcore serve`), streaming it so it is never whole in memory, and prints
/// the reply. On a terminal a progress bar shows bytes, rate and ETA.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore send tcp://127.0.0.1:7000 --file big.bin
  netcore send tcp://127.0.0.1:7000 --file photo.jpg --route /upload --timeout 10m
  netcore send serial:///dev/ttyUSB0?baud=115200 --file firmware.bin --route /flash

The progress bar counts bytes as the link takes them (flow control lets
the file be read only as fast as the peer accepts it); it is drawn on
standard error, and not at all when that is not a terminal.")]
pub(crate) struct SendArgs {
    /// The peer: tcp://host:port, unix:///path, serial:///dev/tty?baud=N, quic://host:port.
    address: Address,
    /// The file to upload.
    #[arg(long)]
    file: PathBuf,
    /// The route that takes it (default: sink, in the wire format's spelling).
    #[arg(long)]
    route: Option<String>,
    /// How long the whole upload and its reply may take (default: no limit).
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    #[command(flatten)]
    link: LinkArgs,
}

pub(crate) async fn run(args: SendArgs, show_stats: bool) -> Result<(), Failure> {
    let file = tokio::fs::File::open(&args.file).await.map_err(|error| {
        Failure::Usage(format!(
            "cannot read --file {}: {error}",
            args.file.display()
        ))
    })?;
    let len = file
        .metadata()
        .await
        .map_err(|error| Failure::Usage(format!("--file {}: {error}", args.file.display())))?
        .len();
    let route = args
        .route
        .clone()
        .unwrap_or_else(|| route_name(args.link.wire, "sink"));
    let endpoint = link::client(&args.address, &args.link).await?;
    let _reporter = Reporter::one(show_stats, args.address.to_string(), endpoint.peer());
    let bar = progress_bar(len);
    let started = Instant::now();
    // The body is pulled as the link takes it; a read error ends the upload
    // with that error, which the call reports.
    let body = Body::stream(futures::stream::unfold(
        (file, bar.clone()),
        |(mut file, bar)| async move {
            let mut chunk = BytesMut::with_capacity(READ_SIZE);
            match file.read_buf(&mut chunk).await {
                Ok(0) => None,
                Ok(n) => {
                    bar.inc(n as u64);
                    Some((Ok(Bytes::from(chunk)), (file, bar)))
                }
                Err(error) => Some((Err(error), (file, bar))),
            }
        },
    ));
    let options = CallOptions::default().with_timeout(args.timeout);
    let reply = endpoint
        .peer()
        .call_with(&route, body, options)
        .await
        .map_err(|error| call_failure(error, &args.address));
    bar.finish_and_clear();
    let reply = reply?;
    let took = started.elapsed();
    eprintln!(
        "sent {} in {:.2} s ({}/s)",
        stats::bytes(len),
        took.as_secs_f64(),
        stats::bytes((len as f64 / took.as_secs_f64().max(1e-9)) as u64),
    );
    print_reply(&reply.body)?;
    let _ = endpoint.peer().close().await;
    Ok(())
}

/// A bar of `len` bytes on standard error, hidden when that is not a
/// terminal.
fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
