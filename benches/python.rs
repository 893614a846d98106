//! Python netcore 0.1.3 mode against Python itself, over loopback, in one run.
//!
//! The same work, done three ways:
//! - **Py→Py**: a Python 0.1.3 client calling a Python 0.1.3 server (the
//!   reference: what a Python user has today);
//! - **Py→Rust**: the same Python client calling a Rust server in Python mode
//!   (`examples/python_peer`);
//! - **Rust→Py**: a Rust client in Python mode calling the Python server.
//!
//! Each row is K calls, C in flight, each an upload (N bytes to `size`, a
//! tiny reply) or a download (N bytes back from `blob`), at N = 100 B, 4 KiB,
//! 64 KiB, 1 MiB and 10 MiB, C = 1 and 4. The figure is the wall time of the
//! K calls, connection set-up excluded (the Python client times itself), the
//! median of three runs, each against a server started for it. A ratio under
//! 1 means the Rust peer made the work faster than a Python peer would have.
//!
//! Two tables: the Python programs as they are, and with
//! `sys.setswitchinterval(0.0005)` (`peer.py --switch-interval`). A Python
//! 0.1.3 peer's dispatcher busy-waits, and given a spare core it keeps the
//! GIL from the thread that reads or writes the socket for a whole switch
//! interval (5 ms by default) after each of its socket calls; a Python peer on
//! the same machine takes that core with its own busy-waiting, a Rust peer
//! does not. The second table shows what the remedy on the Python side gives.
//!
//! Needs the venv `cargo xtask pyenv` makes (or `NETCORE_PY013_PYTHON`) and
//! the release build of `examples/python_peer`; `cargo xtask bench` sees to
//! both. Prints a table and writes the figures as JSON to
//! `target/bench/python.json`; `-- --quick` runs fewer calls, `--
//! --tuned-only` only the second table.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::endpoint::{CallOptions, Endpoint, EndpointConfig};
use netcore::pipe::PipeConfig;
use netcore::transports::tcp::{self, TcpOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// What one call moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// N bytes to `size`; the reply is `{"size": N}`.
    Upload,
    /// `{"size": N}` to `blob`; the reply is N bytes.
    Download,
}

impl Work {
    fn route(self) -> &'static str {
        match self {
            Work::Upload => "size",
            Work::Download => "blob",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
struct Case {
    work: Work,
    bytes: usize,
    calls: usize,
    in_flight: usize,
}

fn main() -> io::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(quick))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    std::env::var_os("NETCORE_PY013_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/py013-venv/bin/python"))
}

fn rust_server_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("release/examples/python_peer")
}

fn cases(quick: bool) -> Vec<Case> {
    let mut cases = Vec::new();
    for work in [Work::Upload, Work::Download] {
        for (bytes, calls) in [
            (100, 20),
            (4 * KIB, 20),
            (64 * KIB, 12),
            (MIB, 8),
            (10 * MIB, 0),
        ] {
            for in_flight in [1, 4] {
                // 0: one call per slot in flight.
                let calls = match calls {
                    0 => in_flight,
                    calls if quick => in_flight.max(calls / 4),
                    calls => calls,
                };
                cases.push(Case {
                    work,
                    bytes,
                    calls,
                    in_flight,
                });
            }
        }
    }
    cases
}

/// Where the bench runs: the programs it starts and how often it repeats.
struct Setup {
    python: PathBuf,
    peer_py: PathBuf,
    rust_server: PathBuf,
    repeats: usize,
    /// `sys.setswitchinterval` for every Python process, if not the default.
    switch_interval: Option<f64>,
}

impl Setup {
    /// `python peer.py [--switch-interval S]`, to which a command is added.
    fn python_command(&self) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(&self.peer_py);
        if let Some(seconds) = self.switch_interval {
            command.args(["--switch-interval", &seconds.to_string()]);
        }
        command
    }
}

/// The switch interval of the second table: 0.5 ms.
const PYTHON_SWITCH_INTERVAL: f64 = 0.0005;

/// Which server a measurement talks to.
#[derive(Debug, Clone, Copy)]
enum Server {
    Python,
    Rust,
}

/// Who calls whom.
#[derive(Debug, Clone, Copy)]
enum Pairing {
    PythonToPython,
    PythonToRust,
    RustToPython,
}

async fn run(quick: bool) -> io::Result<()> {
    let python = python();
    if !python.exists() {
        return Err(io::Error::other(format!(
            "no Python at {}: run `cargo xtask pyenv` (or `cargo xtask bench`, which does), or set NETCORE_PY013_PYTHON",
            python.display()
        )));
    }
    let rust_server = rust_server_binary();
    if !rust_server.exists() {
        return Err(io::Error::other(format!(
            "no {}: run `cargo build --release --example python_peer` (or `cargo xtask bench`, which does)",
            rust_server.display()
        )));
    }
    let mut setup = Setup {
        python,
        peer_py: root().join("tests/python/peer.py"),
        rust_server,
        repeats: if quick { 1 } else { 3 },
        switch_interval: None,
    };
    let mut tables = Vec::new();
    let conditions: &[Option<f64>] = if std::env::args().any(|arg| arg == "--tuned-only") {
        &[Some(PYTHON_SWITCH_INTERVAL)]
    } else {
        &[None, Some(PYTHON_SWITCH_INTERVAL)]
    };
    for &switch_interval in conditions {
        setup.switch_interval = switch_interval;
        println!();
        println!(
            "Python 0.1.3 mode, {}: median wall seconds of {} run(s), a fresh server each",
            match switch_interval {
                None => "Python programs as they are (switch interval 5 ms)".to_owned(),
                Some(seconds) => format!("Python programs with sys.setswitchinterval({seconds})"),
            },
            setup.repeats
        );
        println!(
            "{:<6} {:>7} {:>6} {:>9} {:>9} {:>9} {:>6} {:>9} {:>6}",
            "route", "size", "calls", "in flight", "Py→Py", "Py→Rust", "ratio", "Rust→Py", "ratio"
        );
        let mut rows = Vec::new();
        for case in cases(quick) {
            // A run that fails (a Python peer can hang on big messages,
            // docs/python-interop.md) is reported, and the table goes on.
            let py_py = measure(&setup, Pairing::PythonToPython, case).await;
            let py_rust = measure(&setup, Pairing::PythonToRust, case).await;
            let rust_py = measure(&setup, Pairing::RustToPython, case).await;
            let seconds = |result: &io::Result<f64>| match result {
                Ok(seconds) => format!("{seconds:.3}"),
                Err(_) => "failed".to_owned(),
            };
            let ratio = |of: &io::Result<f64>| match (of, &py_py) {
                (Ok(of), Ok(base)) => format!("{:.2}", of / base),
                _ => "-".to_owned(),
            };
            println!(
                "{:<6} {:>7} {:>6} {:>9} {:>9} {:>9} {:>6} {:>9} {:>6}",
                case.work.route(),
                size_label(case.bytes),
                case.calls,
                case.in_flight,
                seconds(&py_py),
                seconds(&py_rust),
                ratio(&py_rust),
                seconds(&rust_py),
                ratio(&rust_py),
            );
            for (pairing, result) in [
                ("Py→Py", &py_py),
                ("Py→Rust", &py_rust),
                ("Rust→Py", &rust_py),
            ] {
                if let Err(error) = result {
                    eprintln!("  {pairing} failed: {error}");
                }
            }
            let (py_py, py_rust, rust_py) = (py_py.ok(), py_rust.ok(), rust_py.ok());
            rows.push(json!({
                "route": case.work.route(),
                "bytes": case.bytes,
                "calls": case.calls,
                "in_flight": case.in_flight,
                "python_to_python_s": py_py,
                "python_to_rust_s": py_rust,
                "rust_to_python_s": rust_py,
            }));
        }
        tables.push(json!({ "python_switch_interval_s": switch_interval, "rows": rows }));
    }
    println!(
        "ratio: the Rust peer's time over Python's for the same work (under 1: faster). A Python \
         0.1.3 peer's dispatcher thread busy-waits; given a spare core it takes the GIL after \
         every socket call of its reader or sender and keeps it for a whole switch interval. A \
         Python peer on the same machine keeps that core busy with its own busy-waiting, a Rust \
         one leaves it idle (docs/python-interop.md, \"Speed\")."
    );
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out)?;
    let path = out.join("python.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&json!({ "tables": tables }))?,
    )?;
    println!("figures in {}", path.display());
    Ok(())
}

/// The median of `setup.repeats` runs of `case`, each against a server
/// started for it (a Python 0.1.3 server keeps a busy-waiting thread per
/// connection it ever served, so a long-lived one would load the machine
/// more with every run).
async fn measure(setup: &Setup, pairing: Pairing, case: Case) -> io::Result<f64> {
    // The 10 MiB rows take long enough to be steady in one run.
    let repeats = if case.bytes >= 10 * MIB {
        1
    } else {
        setup.repeats
    };
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let server = match pairing {
            Pairing::PythonToRust => Server::Rust,
            Pairing::PythonToPython | Pairing::RustToPython => Server::Python,
        };
        let (child, addr) = match server {
            Server::Python => {
                start_server(setup.python_command().args(["serve", "--port", "0"])).await?
            }
            Server::Rust => {
                start_server(Command::new(&setup.rust_server).args(["--listen", "127.0.0.1:0"]))
                    .await?
            }
        };
        let seconds = match pairing {
            Pairing::PythonToPython | Pairing::PythonToRust => {
                python_client(setup, &addr, case).await?
            }
            Pairing::RustToPython => rust_client(&addr, case).await?,
        };
        drop(child);
        times.push(seconds);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn size_label(bytes: usize) -> String {
    match bytes {
        b if b >= MIB => format!("{} MiB", b / MIB),
        b if b >= KIB => format!("{} KiB", b / KIB),
        b => format!("{b} B"),
    }
}

/// Starts a server that prints `listening on ADDR`; it stops when dropped
/// (killed) or, for the Python one, at the end of its stdin.
async fn start_server(command: &mut Command) -> io::Result<(Child, String)> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| io::Error::other("the server did not say where it listens within 30 s"))??
        .ok_or_else(|| io::Error::other("the server ended before listening"))?;
    let addr = line
        .strip_prefix("listening on ")
        .ok_or_else(|| io::Error::other(format!("unexpected first line: {line}")))?
        .trim()
        .to_owned();
    Ok((child, addr))
}

/// The Python client's own timing of the case, in seconds.
async fn python_client(setup: &Setup, addr: &str, case: Case) -> io::Result<f64> {
    let output = setup
        .python_command()
        .args(["bench", "--connect", addr, "--route", case.work.route()])
        .args(["--bytes", &case.bytes.to_string()])
        .args(["--calls", &case.calls.to_string()])
        .args(["--in-flight", &case.in_flight.to_string()])
        .args(["--timeout", "300"])
        .stdin(Stdio::null())
        .output()
        .await?;
    let line = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(line.trim())
        .map_err(|error| io::Error::other(format!("the Python client said {line:?}: {error}")))?;
    if report["ok"] != true {
        return Err(io::Error::other(format!(
            "the Python client failed: {report}"
        )));
    }
    report["seconds"]
        .as_f64()
        .ok_or_else(|| io::Error::other(format!("no seconds in {report}")))
}

/// A Rust client in Python mode doing the case against `addr`, in seconds.
async fn rust_client(addr: &str, case: Case) -> io::Result<f64> {
    let options = TcpOptions::default().pipe(PipeConfig::py013());
    let endpoint = Endpoint::builder()
        .config(EndpointConfig::py013())
        .start(tcp::connect(addr, &options).await?)
        .map_err(io::Error::other)?;
    let peer = endpoint.peer();
    let upload = Bytes::from(vec![7u8; case.bytes]);
    let began = Instant::now();
    let mut calls = futures::stream::iter(0..case.calls)
        .map(|_| {
            let options = CallOptions::default().with_timeout(Some(Duration::from_secs(300)));
            let body = match case.work {
                Work::Upload => upload.clone(),
                Work::Download => Bytes::from(json!({ "size": case.bytes }).to_string()),
            };
            peer.call_with(case.work.route(), body, options)
        })
        .buffer_unordered(case.in_flight);
    while let Some(reply) = calls.next().await {
        let reply = reply.map_err(io::Error::from)?;
        let right = match case.work {
            Work::Upload => {
                serde_json::from_slice::<Value>(&reply.body).ok()
                    == Some(json!({ "size": case.bytes }))
            }
            Work::Download => {
                reply.body.len() == case.bytes
                    && reply.body.iter().enumerate().all(|(i, b)| *b == i as u8)
            }
        };
        if !right {
            return Err(io::Error::other(format!(
                "a wrong reply from {}: {} bytes",
                case.work.route(),
                reply.body.len()
            )));
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    drop(calls);
    let _ = endpoint.close().await;
    Ok(seconds)
}
