//! Memory of calls of any size (issue #17): a 4 GiB upload and a 4 GiB
//! download through `netcore-endpoint` over loopback TCP, each side in a
//! child process of its own (this binary again, `--role server|client`),
//! which reports its peak RSS (`VmHWM`) when it is done. The goal: under
//! 64 MiB on both sides, however large the bodies.
//!
//! ```sh
//! cargo xtask bench --bench streams              # 4 GiB each way
//! cargo xtask bench --bench streams -- --quick   # 1 GiB each way
//! ```
//!
//! Figures also go to `target/bench/streams.json`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "common/proc_memory.rs"]
mod proc_memory;

use std::io::{self, BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use netcore::endpoint::{CallOptions, Endpoint, EndpointConfig, Streamed};
use netcore::pipe::Body;
use netcore::transports::tcp::{self, TcpOptions};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The goal for the peak RSS of each side.
const GOAL: u64 = 64 * MIB;
/// The download received whole (`Peer::call`) for contrast.
const WHOLE: u64 = 256 * MIB;

/// `total` bytes in 1 MiB chunks, all one shared buffer (the source holds
/// nothing per chunk).
fn generated(total: u64) -> Body {
    let chunk = Bytes::from(vec![7u8; MIB as usize]);
    let chunks = total.div_ceil(MIB);
    Body::stream(futures::stream::iter(0..chunks).map(move |i| {
        let len = (total - i * MIB).min(MIB) as usize;
        Ok(chunk.slice(..len))
    }))
}

/// Reads a body to its end; returns its length.
async fn count<E: std::fmt::Display>(
    mut body: impl futures::Stream<Item = Result<Bytes, E>> + Unpin,
) -> io::Result<u64> {
    let mut total = 0;
    while let Some(chunk) = body.next().await {
        total += chunk
            .map_err(|error| io::Error::other(error.to_string()))?
            .len() as u64;
    }
    Ok(total)
}

fn config() -> EndpointConfig {
    // A 4 GiB upload takes longer than the default 30 s call timeout on a
    // slow machine: the bench measures memory, not a deadline.
    EndpointConfig::default().with_default_timeout(None)
}

/// `--role server`: prints `addr A`, serves one connection (`/upload`
/// counts a streamed body, `/download N` streams N bytes), then prints
/// `hwm BYTES` and exits.
async fn server() -> io::Result<()> {
    async fn upload(Streamed(body): Streamed) -> String {
        match count(body).await {
            Ok(total) => total.to_string(),
            Err(error) => format!("failed: {error}"),
        }
    }
    async fn download(request: netcore::endpoint::Request) -> Body {
        let total = std::str::from_utf8(&request.body)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        generated(total)
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("addr {}", listener.local_addr()?);
    let (stream, _) = listener.accept().await?;
    let pipe = tcp::from_stream(stream, &TcpOptions::default()).map_err(io::Error::other)?;
    let endpoint = Endpoint::builder()
        .config(config())
        .route("/upload", upload)
        .route("/download", download)
        .start(pipe)
        .map_err(io::Error::other)?;
    let _ = endpoint.peer().closed().await;
    println!("hwm {}", proc_memory::rss_and_peak("self")?.1);
    Ok(())
}

/// `--role client --addr A --bytes N`: uploads N bytes, downloads N bytes,
/// prints `upload SECONDS`, `download SECONDS` and `hwm BYTES`; then
/// downloads [`WHOLE`] bytes with `Peer::call` and prints `hwm-whole BYTES`.
async fn client(addr: &str, total: u64) -> io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let pipe = tcp::from_stream(stream, &TcpOptions::default()).map_err(io::Error::other)?;
    let endpoint = Endpoint::builder()
        .config(config())
        .start(pipe)
        .map_err(io::Error::other)?;
    let peer = endpoint.peer();
    let started = Instant::now();
    let reply = peer
        .call("/upload", generated(total))
        .await
        .map_err(io::Error::other)?;
    if reply.body != total.to_string().as_bytes() {
        return Err(io::Error::other(format!(
            "the server counted {}",
            String::from_utf8_lossy(&reply.body)
        )));
    }
    println!("upload {}", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let reply = peer
        .call_streamed("/download", total.to_string(), CallOptions::default())
        .await
        .map_err(io::Error::other)?;
    let got = count(reply).await?;
    if got != total {
        return Err(io::Error::other(format!("downloaded {got} of {total}")));
    }
    println!("download {}", started.elapsed().as_secs_f64());
    println!("hwm {}", proc_memory::rss_and_peak("self")?.1);
    // The contrast: a reply received whole is held whole.
    let reply = peer
        .call("/download", WHOLE.to_string())
        .await
        .map_err(io::Error::other)?;
    if reply.body.len() as u64 != WHOLE {
        return Err(io::Error::other("the whole download came short"));
    }
    drop(reply);
    println!("hwm-whole {}", proc_memory::rss_and_peak("self")?.1);
    let _ = peer.close().await;
    Ok(())
}

/// A child process of this binary and the `key value` lines it prints.
struct Child {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Child {
    fn spawn(args: &[&str]) -> io::Result<Child> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Child {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The value of the next line starting with `key`.
    fn value(&mut self, key: &str) -> io::Result<String> {
        for line in self.lines.by_ref() {
            let line = line?;
            if let Some(value) = line
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(' '))
            {
                return Ok(value.to_owned());
            }
        }
        Err(io::Error::other(format!("the child ended without `{key}`")))
    }

    fn number(&mut self, key: &str) -> io::Result<f64> {
        self.value(key)?
            .parse()
            .map_err(|_| io::Error::other(format!("`{key}` is not a number")))
    }
}

#[derive(Debug, Serialize)]
struct Report {
    bytes_each_way: u64,
    upload_mb_per_s: f64,
    download_mb_per_s: f64,
    client_peak_rss_mib: f64,
    server_peak_rss_mib: f64,
    /// The client's peak after a [`WHOLE`]-byte download received whole.
    client_peak_rss_after_whole_mib: f64,
    whole_bytes: u64,
    goal_mib: u64,
}

fn drive(total: u64) -> io::Result<Report> {
    let mut server = Child::spawn(&["--role", "server"])?;
    let addr = server.value("addr")?;
    let bytes = total.to_string();
    let mut client = Child::spawn(&["--role", "client", "--addr", &addr, "--bytes", &bytes])?;
    let upload = client.number("upload")?;
    let download = client.number("download")?;
    let client_hwm = client.number("hwm")?;
    let client_hwm_whole = client.number("hwm-whole")?;
    let server_hwm = server.number("hwm")?;
    for child in [&mut client.child, &mut server.child] {
        let status = child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("a child failed: {status}")));
        }
    }
    let mib = |bytes: f64| bytes / MIB as f64;
    Ok(Report {
        bytes_each_way: total,
        upload_mb_per_s: total as f64 / upload / 1e6,
        download_mb_per_s: total as f64 / download / 1e6,
        client_peak_rss_mib: mib(client_hwm),
        server_peak_rss_mib: mib(server_hwm),
        client_peak_rss_after_whole_mib: mib(client_hwm_whole),
        whole_bytes: WHOLE,
        goal_mib: GOAL / MIB,
    })
}

fn value_of(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1).cloned())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    match value_of(&args, "--role").as_deref() {
        Some("server") => return runtime()?.block_on(server()),
        Some("client") => {
            let addr = value_of(&args, "--addr").ok_or_else(|| io::Error::other("--addr"))?;
            let total = value_of(&args, "--bytes")
                .and_then(|bytes| bytes.parse().ok())
                .ok_or_else(|| io::Error::other("--bytes"))?;
            return runtime()?.block_on(client(&addr, total));
        }
        _ => {}
    }
    let total = if args.iter().any(|arg| arg == "--quick") {
        GIB
    } else {
        4 * GIB
    };
    let started = Instant::now();
    let report = drive(total)?;
    println!(
        "streams: {} GiB up and down through Netcore over loopback TCP, each side a process",
        total / GIB
    );
    println!("| side | peak RSS | goal | met |");
    println!("|---|---:|---:|---|");
    for (side, peak) in [
        (
            "client (sends the upload, reads the download)",
            report.client_peak_rss_mib,
        ),
        (
            "server (reads the upload, sends the download)",
            report.server_peak_rss_mib,
        ),
    ] {
        let met = if peak < report.goal_mib as f64 {
            "yes"
        } else {
            "no"
        };
        println!(
            "| {side} | {peak:.1} MiB | {} MiB | {met} |",
            report.goal_mib
        );
    }
    println!(
        "for contrast, a {} MiB download received whole (Peer::call): client peak {:.1} MiB",
        report.whole_bytes / MIB,
        report.client_peak_rss_after_whole_mib
    );
    println!(
        "upload {:.0} MB/s, download {:.0} MB/s; {:.1} s in all",
        report.upload_mb_per_s,
        report.download_mb_per_s,
        started.elapsed().as_secs_f64()
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let json = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
    std::fs::write(dir.join("streams.json"), json)?;
    Ok(())
}
