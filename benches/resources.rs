//! What a server holds per connection: heap and RSS of idle connections,
//! 10 000 idle connections, connection churn, and the worst case one hostile
//! connection can make a server with default settings hold (issue 14).
//!
//! Every figure is measured in a **child process** started for it (this
//! binary again, with `--role …`), so each starts from a clean heap: the
//! server (a `netcore_endpoint::Server`, `ServerConfig::default()`, over
//! real TCP on 127.0.0.1) in one process, its clients or its attacker in
//! another. The server's heap is counted by the `cap` allocator (live bytes
//! and the peak since the process started); RSS (`VmRSS`, `VmHWM`) is read
//! from `/proc/<pid>/status` by the driver.
//!
//! 1. **Idle heap**: N connections (1000) each make calls — a 256 KiB echo,
//!    a 1 MiB download, then small echoes — and go idle; the server's heap
//!    and RSS growth over its start, divided by N (goal ≤ 64 KiB of heap).
//! 2. **10 000 idle connections**, one small call each: server RSS (goal
//!    under 1 GiB). `max_connections` is raised to N (the default is 1024).
//! 3. **Churn**: 5000 connections opened (one call each) and closed, six
//!    rounds; the server's RSS after each round against round 1's (goal
//!    within 20 %). `max_connections` is raised to 5000. If the default
//!    allocator misses the goal, the rounds are run again with
//!    `MALLOC_ARENA_MAX=2` (not in `--quick` runs). Built with
//!    `--features netcore-hostile/mimalloc`, every process of the bench
//!    runs on mimalloc (`cargo xtask bench --bench resources` runs the
//!    churn so too, after the rest; figures in
//!    `target/bench/resources-mimalloc.json`).
//! 4. **Hostile**: one attacking connection per attack of the hostile suite
//!    that is about memory (`tests/hostile`), each against a fresh server;
//!    the peak heap growth, the worst of them, and that × 1024 (the default
//!    `max_connections`) against 1 GiB. See `docs/resources.md`.
//!
//! Prints a table and writes the figures as JSON to
//! `target/bench/resources.json`; `-- --quick` runs smaller counts, `--
//! --only idle|many|churn|hostile` one part.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "common/proc_memory.rs"]
mod proc_memory;

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::endpoint::{Endpoint, EndpointConfig, Router, Routes, Server, ServerConfig, Streamed};
use serde_json::{Value, json};

netcore_hostile::heap_meter!();

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const GIB: usize = 1 << 30;

/// Size of the `/big` reply (allocated afresh by each call, as a handler
/// that builds its reply would).
const BIG_REPLY: usize = MIB;
/// How long `/hold` keeps its unread body.
const HOLD_FOR: Duration = Duration::from_secs(5);
/// How long `/slow` takes.
const SLOW_FOR: Duration = Duration::from_secs(2);

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match value_of(&args, "--role").as_deref() {
        None => drive(
            args.iter().any(|arg| arg == "--quick"),
            value_of(&args, "--only").as_deref(),
        ),
        Some("server") => server_role(value_of(&args, "--max-connections")),
        Some("clients") => clients_role(&args),
        Some("attack") => attack_role(&args),
        Some(other) => Err(io::Error::other(format!("unknown role {other}"))),
    }
}

/// The argument after `flag`, if any.
fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|at| args.get(at + 1).cloned())
}

fn parsed<T: std::str::FromStr>(args: &[String], flag: &str) -> io::Result<T> {
    value_of(args, flag)
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| io::Error::other(format!("{flag} missing or invalid")))
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

// ---------------------------------------------------------------- server

/// The routes of the measured server.
fn routes() -> Routes {
    Router::new()
        .route("/ping", || async { "pong" })
        .route("/echo", |body: Bytes| async move { body })
        .route("/big", || async { Bytes::from(vec![0x5A; BIG_REPLY]) })
        .route("/hold", |body: Streamed| async move {
            tokio::time::sleep(HOLD_FOR).await;
            drop(body);
            "held"
        })
        .route("/slow", || async {
            tokio::time::sleep(SLOW_FOR).await;
            "slow"
        })
        .build()
        .unwrap_or_else(|error| panic!("the bench router is valid: {error}"))
}

/// `--role server [--max-connections N]`: prints `addr <address>`, then
/// answers each `stats` line on stdin with `stats <heap> <peak heap>
/// <connections>`; ends at `quit` or the end of stdin.
fn server_role(max_connections: Option<String>) -> io::Result<()> {
    let runtime = runtime()?;
    let mut config = ServerConfig::default();
    if let Some(max) = max_connections.and_then(|max| max.parse().ok()) {
        config = config.with_max_connections(max);
    }
    let server = Server::new(routes(), config);
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let _serving = {
        let _entered = runtime.enter();
        server.spawn(listener)
    };
    println!("addr {addr}");
    for line in io::stdin().lock().lines() {
        match line?.trim() {
            "stats" => println!(
                "stats {} {} {}",
                heap_bytes(),
                HEAP.max_allocated(),
                server.connection_count()
            ),
            "quit" => break,
            _ => {}
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

// ---------------------------------------------------------------- clients

/// What each client connection does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// One small echo.
    Light,
    /// A 256 KiB echo, a 1 MiB download, then six small echoes (so the
    /// read buffers grow, then have reads to shrink on).
    Busy,
}

impl Workload {
    fn parse(text: &str) -> io::Result<Workload> {
        match text {
            "light" => Ok(Workload::Light),
            "busy" => Ok(Workload::Busy),
            other => Err(io::Error::other(format!("unknown workload {other}"))),
        }
    }

    /// The calls: route, request body size, reply size expected.
    fn calls(self) -> Vec<(&'static str, usize, usize)> {
        match self {
            Workload::Light => vec![("/echo", 100, 100)],
            Workload::Busy => {
                let mut calls = vec![("/echo", 256 * KIB, 256 * KIB), ("/big", 0, BIG_REPLY)];
                calls.extend([("/echo", 100, 100); 6]);
                calls
            }
        }
    }
}

/// One client connection: connected from `source`, its calls made.
async fn connect_one(
    addr: SocketAddr,
    source: Ipv4Addr,
    workload: Workload,
) -> Result<Endpoint, String> {
    let attempt = async {
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        socket
            .bind(SocketAddr::new(source.into(), 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let endpoint = Endpoint::builder()
            .config(EndpointConfig::default())
            .start(stream)
            .map_err(|e| format!("start: {e}"))?;
        for (route, size, expected) in workload.calls() {
            let reply = endpoint
                .peer()
                .call(route, Bytes::from(vec![7u8; size]))
                .await
                .map_err(|e| format!("{route}: {e}"))?;
            if reply.body.len() != expected {
                return Err(format!("{route}: {} bytes back", reply.body.len()));
            }
        }
        Ok(endpoint)
    };
    tokio::time::timeout(Duration::from_secs(60), attempt)
        .await
        .unwrap_or_else(|_| Err("no reply within 60 s".to_owned()))
}

/// `--role clients --addr A`: on `open <n> <light|busy> <source ip>
/// <concurrency>` opens n connections and prints `opened <ok> <failed>
/// <ms> <first error>`; on `close` closes them all and prints `closed <ms>`.
fn clients_role(args: &[String]) -> io::Result<()> {
    let addr: SocketAddr = parsed(args, "--addr")?;
    let runtime = runtime()?;
    let mut held: Vec<Endpoint> = Vec::new();
    for line in io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["open", n, workload, source, concurrency] => {
                let n: usize = n.parse().map_err(io::Error::other)?;
                let workload = Workload::parse(workload)?;
                let source: Ipv4Addr = source.parse().map_err(io::Error::other)?;
                let concurrency: usize = concurrency.parse().map_err(io::Error::other)?;
                let started = Instant::now();
                let results: Vec<Result<Endpoint, String>> = runtime.block_on(
                    futures::stream::iter(0..n)
                        .map(|_| connect_one(addr, source, workload))
                        .buffer_unordered(concurrency)
                        .collect(),
                );
                let mut failed = 0;
                let mut first_error = String::from("-");
                for result in results {
                    match result {
                        Ok(endpoint) => held.push(endpoint),
                        Err(error) => {
                            if failed == 0 {
                                first_error = error.replace(char::is_whitespace, "_");
                            }
                            failed += 1;
                        }
                    }
                }
                println!(
                    "opened {} {failed} {} {first_error}",
                    held.len(),
                    started.elapsed().as_millis()
                );
            }
            ["close"] => {
                let started = Instant::now();
                let closing = held.drain(..).map(|endpoint| async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), endpoint.close()).await;
                });
                runtime.block_on(futures::future::join_all(closing));
                println!("closed {}", started.elapsed().as_millis());
            }
            ["quit"] => break,
            _ => {}
        }
    }
    drop(held);
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

// ---------------------------------------------------------------- attacks

/// The memory attacks of the hostile suite, one connection each.
const ATTACKS: [(&str, &str); 7] = [
    ("ping_flood", "PING flood, PONGs never read (F1)"),
    (
        "header_opens",
        "1024 OPENs with 16 KiB headers, bodies never sent (F5)",
    ),
    ("tiny_chunks", "1-byte DATA over 2000 unread streams (F5)"),
    (
        "stalled_reader",
        "256 calls of a 1 MiB reply, never read (F2)",
    ),
    (
        "queued_calls",
        "256 slow calls, then empty calls, never read (F3)",
    ),
    (
        "pinned_blocks",
        "16 KiB DATA to unread streams, each followed by 512 KiB of PINGs",
    ),
    (
        "big_bodies",
        "8 calls with 32 MiB bodies to a whole-body route",
    ),
];

/// Attacks whose cost is the application's data (request bodies collected
/// whole, replies built by handlers) rather than the library's buffers.
const APPLICATION_SIZED: [&str; 2] = ["stalled_reader", "big_bodies"];

/// `--role attack --addr A --kind K [--quick]`: runs one attack, prints
/// `done <what was sent>`, then keeps its sockets until stdin ends.
fn attack_role(args: &[String]) -> io::Result<()> {
    let addr: SocketAddr = parsed(args, "--addr")?;
    let kind = value_of(args, "--kind").unwrap_or_default();
    let quick = args.iter().any(|arg| arg == "--quick");
    let runtime = runtime()?;
    let (sent, _held) = runtime.block_on(attack(addr, &kind, quick))?;
    println!("done {}", sent.replace(char::is_whitespace, "_"));
    for line in io::stdin().lock().lines() {
        if line?.trim() == "quit" {
            break;
        }
    }
    runtime.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}

/// What an attack keeps alive until the driver has measured.
type Held = (Vec<netcore_hostile::RawPeer>, Option<Endpoint>);

async fn attack(addr: SocketAddr, kind: &str, quick: bool) -> io::Result<(String, Held)> {
    use netcore_hostile::RawPeer;
    use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL};

    let wait = Duration::from_secs(5);
    let call = |id: u64, route: &str, len: Option<u64>| {
        wire::open(
            id,
            PRIORITY_NORMAL,
            len,
            &wire::call_headers(route, id),
            b"",
        )
    };
    let scale = |full: u64, small: u64| if quick { small } else { full };
    match kind {
        "ping_flood" => {
            let mut peer = RawPeer::handshake(addr, &HelloFields::default(), wait).await?;
            let batch: Vec<u8> = (0..1000u64).flat_map(wire::ping).collect();
            let mut sent = 0u64;
            while sent < scale(1_000_000, 200_000) {
                match peer.send_within(&batch, Duration::from_secs(1)).await {
                    Ok(true) => sent += 1000,
                    Ok(false) | Err(_) => break,
                }
            }
            Ok((format!("{sent} PINGs"), (vec![peer], None)))
        }
        "header_opens" => {
            let mut peer = RawPeer::handshake(addr, &HelloFields::default(), wait).await?;
            let mut opened = 0;
            for id in 1..=1024u64 {
                let mut block = wire::call_headers("/hold", id);
                let padding = vec![b'x'; (16 << 10) - block.len() - 3 - 3];
                block.extend(wire::header_block(&[("pad", padding)]));
                let open = wire::open(id, PRIORITY_NORMAL, Some(1), &block, b"");
                match peer.send_within(&open, Duration::from_secs(1)).await {
                    Ok(true) => opened += 1,
                    Ok(false) | Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok((format!("{opened} OPENs"), (vec![peer], None)))
        }
        "tiny_chunks" => {
            let mut peer = RawPeer::handshake(addr, &HelloFields::default(), wait).await?;
            const STREAMS: u64 = 2000;
            let opens: Vec<u8> = (1..=STREAMS)
                .flat_map(|id| call(id, "/hold", None))
                .collect();
            peer.send(&opens).await?;
            let mut chunks = 0;
            for offset in 0..scale(250, 60) {
                let round: Vec<u8> = (1..=STREAMS)
                    .flat_map(|id| wire::data(id, offset, &[0xA5]))
                    .collect();
                match peer.send_within(&round, Duration::from_secs(1)).await {
                    Ok(true) => chunks += STREAMS,
                    Ok(false) | Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok((format!("{chunks} chunks"), (vec![peer], None)))
        }
        "pinned_blocks" => {
            // A chunk of 16 KiB or more is handed to its stream as a slice
            // of the read block it arrived in; the PINGs after it fill that
            // block with bytes that are consumed at once.
            let mut peer = RawPeer::handshake(addr, &HelloFields::default(), wait).await?;
            let streams = scale(240, 64);
            let opens: Vec<u8> = (1..=streams)
                .flat_map(|id| call(id, "/hold", None))
                .collect();
            peer.send(&opens).await?;
            let one_ping = wire::ping(1).len();
            let pings: Vec<u8> = (0..(512 * KIB / one_ping) as u64)
                .flat_map(wire::ping)
                .collect();
            let chunk = vec![0xC3; 16 * KIB];
            let mut sent = 0;
            for id in 1..=streams {
                let mut burst = wire::data(id, 0, &chunk);
                burst.extend_from_slice(&pings);
                match peer.send_within(&burst, Duration::from_secs(1)).await {
                    Ok(true) => sent += 1,
                    Ok(false) | Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok((format!("{sent} chunks"), (vec![peer], None)))
        }
        "stalled_reader" => {
            let hello = HelloFields {
                message_window: 16 << 20,
                connection_window: u32::MAX - 1,
                ..HelloFields::default()
            };
            let mut peer = RawPeer::handshake(addr, &hello, wait).await?;
            let calls: Vec<u8> = (1..=256u64)
                .flat_map(|id| call(id, "/big", Some(0)))
                .collect();
            peer.send(&calls).await?;
            // The handlers run and their replies wait for a reader.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            Ok(("256 calls".to_owned(), (vec![peer], None)))
        }
        "queued_calls" => {
            let mut peer = RawPeer::handshake(addr, &HelloFields::default(), wait).await?;
            let slow: Vec<u8> = (1..=256u64)
                .flat_map(|id| call(id, "/slow", Some(0)))
                .collect();
            peer.send(&slow).await?;
            let mut next = 257u64;
            let last = 256 + scale(50_000, 10_000);
            while next <= last {
                let batch: Vec<u8> = (next..next + 500)
                    .flat_map(|id| call(id, "/ping", Some(0)))
                    .collect();
                match peer.send_within(&batch, Duration::from_secs(1)).await {
                    Ok(true) => next += 500,
                    Ok(false) | Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok((format!("{} calls", next - 1), (vec![peer], None)))
        }
        "big_bodies" => {
            let (calls, size) = if quick { (4, 16 * MIB) } else { (8, 32 * MIB) };
            let client = connect_one(addr, Ipv4Addr::LOCALHOST, Workload::Light)
                .await
                .map_err(io::Error::other)?;
            let body = Bytes::from(vec![0x33; size]);
            let replies = futures::future::join_all(
                (0..calls).map(|_| client.peer().call("/echo", body.clone())),
            )
            .await;
            let ok = replies.iter().filter(|reply| reply.is_ok()).count();
            Ok((
                format!("{ok}/{calls} calls of {} MiB", size / MIB),
                (Vec::new(), Some(client)),
            ))
        }
        other => Err(io::Error::other(format!("unknown attack {other}"))),
    }
}

// ---------------------------------------------------------------- driver

/// A child process of this binary, spoken to by lines.
struct Role {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    name: String,
}

/// The server's answer to `stats`.
#[derive(Debug, Clone, Copy)]
struct Stats {
    heap: usize,
    peak: usize,
    connections: usize,
    rss: usize,
    hwm: usize,
}

impl Role {
    fn spawn(name: &str, args: &[&str], env: &[(&str, &str)]) -> io::Result<Role> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["--role", name])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Role {
            child,
            stdin,
            lines,
            name: name.to_owned(),
        })
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()
    }

    /// The words after `word` of the next line that starts with it.
    fn expect(&mut self, word: &str, wait: Duration) -> io::Result<Vec<String>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|_| {
                io::Error::other(format!("{}: no `{word}` within {wait:?}", self.name))
            })?;
            let mut words = line.split_whitespace().map(str::to_owned);
            if words.next().as_deref() == Some(word) {
                return Ok(words.collect());
            }
        }
    }

    /// `VmRSS` and `VmHWM` of this process, in bytes.
    fn memory(&self) -> io::Result<(usize, usize)> {
        let (rss, peak) = proc_memory::rss_and_peak(&self.child.id().to_string())?;
        Ok((rss as usize, peak as usize))
    }

    fn stats(&mut self) -> io::Result<Stats> {
        self.send("stats")?;
        let words = self.expect("stats", Duration::from_secs(10))?;
        let number = |at: usize| words.get(at).and_then(|w| w.parse().ok()).unwrap_or(0);
        let (rss, hwm) = self.memory()?;
        Ok(Stats {
            heap: number(0),
            peak: number(1),
            connections: number(2),
            rss,
            hwm,
        })
    }

    /// Polls until the server counts at most `at_most` connections (up to
    /// `wait`); the last stats.
    fn connections_down_to(&mut self, at_most: usize, wait: Duration) -> io::Result<Stats> {
        let deadline = Instant::now() + wait;
        loop {
            let stats = self.stats()?;
            if stats.connections <= at_most || Instant::now() >= deadline {
                return Ok(stats);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.send("quit");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server; returns it and its address.
fn start_server(
    max_connections: Option<usize>,
    env: &[(&str, &str)],
) -> io::Result<(Role, String)> {
    let max = max_connections.map(|max| max.to_string());
    let args: Vec<&str> = match &max {
        Some(max) => vec!["--max-connections", max],
        None => Vec::new(),
    };
    let mut server = Role::spawn("server", &args, env)?;
    let addr = server
        .expect("addr", Duration::from_secs(10))?
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::other("server: no address"))?;
    std::thread::sleep(Duration::from_millis(200));
    Ok((server, addr))
}

/// Opens `n` client connections; the count opened.
fn open(
    clients: &mut Role,
    n: usize,
    workload: &str,
    source: Ipv4Addr,
    concurrency: usize,
) -> io::Result<(usize, Duration)> {
    clients.send(&format!("open {n} {workload} {source} {concurrency}"))?;
    let words = clients.expect("opened", Duration::from_secs(180))?;
    let number = |at: usize| words.get(at).and_then(|w| w.parse().ok()).unwrap_or(0);
    let (ok, failed, ms) = (number(0), number(1), number(2));
    if failed > 0 {
        eprintln!(
            "  {failed} of {n} connections failed; first: {}",
            words.get(3).map_or("-", String::as_str)
        );
    }
    Ok((ok, Duration::from_millis(ms as u64)))
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / MIB as f64
}

fn kib(bytes: f64) -> f64 {
    bytes / KIB as f64
}

/// The soft limit on open files of this process (children inherit it).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Scenario 1: heap and RSS per idle connection after calls.
fn idle_heap(connections: usize) -> io::Result<Value> {
    let (mut server, addr) = start_server(None, &[])?;
    let before = server.stats()?;
    let mut clients = Role::spawn("clients", &["--addr", &addr], &[])?;
    let (opened, took) = open(
        &mut clients,
        connections,
        "busy",
        Ipv4Addr::new(127, 0, 0, 2),
        32,
    )?;
    std::thread::sleep(Duration::from_secs(2));
    let after = server.stats()?;
    let n = opened.max(1) as f64;
    let heap_each = after.heap.saturating_sub(before.heap) as f64 / n;
    let rss_each = after.rss.saturating_sub(before.rss) as f64 / n;
    println!(
        "{:<58} {:>12} {:>14}",
        format!(
            "1. idle after calls: {opened} connections ({:.1} s to open)",
            took.as_secs_f64()
        ),
        format!("{:.1} KiB", kib(heap_each)),
        "≤ 64 KiB heap"
    );
    println!(
        "     RSS per connection {:.1} KiB; server RSS {:.0} MiB (start {:.0} MiB), heap {:.1} MiB, peak RSS {:.0} MiB",
        kib(rss_each),
        mib(after.rss),
        mib(before.rss),
        mib(after.heap),
        mib(after.hwm)
    );
    Ok(json!({
        "connections": opened,
        "heap_per_connection_bytes": heap_each.round(),
        "rss_per_connection_bytes": rss_each.round(),
        "server_rss_bytes": after.rss,
        "server_rss_start_bytes": before.rss,
        "server_heap_bytes": after.heap,
        "server_peak_rss_bytes": after.hwm,
        "goal_heap_per_connection_bytes": 64 * KIB,
        "met": heap_each <= (64 * KIB) as f64,
    }))
}

/// Scenario 2: many idle connections, server RSS.
fn many_idle(connections: usize) -> io::Result<Value> {
    let (mut server, addr) = start_server(Some(connections), &[])?;
    let before = server.stats()?;
    let mut clients = Role::spawn("clients", &["--addr", &addr], &[])?;
    let (opened, took) = open(
        &mut clients,
        connections,
        "light",
        Ipv4Addr::new(127, 0, 0, 3),
        128,
    )?;
    std::thread::sleep(Duration::from_secs(2));
    let after = server.stats()?;
    let n = opened.max(1) as f64;
    println!(
        "{:<58} {:>12} {:>14}",
        format!(
            "2. {opened} idle connections ({:.1} s to open): server RSS",
            took.as_secs_f64()
        ),
        format!("{:.0} MiB", mib(after.rss)),
        "< 1024 MiB"
    );
    println!(
        "     per connection: heap {:.1} KiB, RSS {:.1} KiB; server counts {}; client RSS {:.0} MiB",
        kib(after.heap.saturating_sub(before.heap) as f64 / n),
        kib(after.rss.saturating_sub(before.rss) as f64 / n),
        after.connections,
        mib(clients.memory()?.0)
    );
    Ok(json!({
        "connections": opened,
        "server_counted": after.connections,
        "server_rss_bytes": after.rss,
        "server_rss_start_bytes": before.rss,
        "heap_per_connection_bytes": (after.heap.saturating_sub(before.heap) as f64 / n).round(),
        "rss_per_connection_bytes": (after.rss.saturating_sub(before.rss) as f64 / n).round(),
        "goal_rss_bytes": GIB,
        "met": after.rss < GIB,
    }))
}

/// Scenario 3: churn; RSS after each round against round 1's.
fn churn(
    connections: usize,
    rounds: usize,
    env: &[(&str, &str)],
    label: &str,
) -> io::Result<Value> {
    let (mut server, addr) = start_server(Some(connections), env)?;
    let start = server.stats()?;
    let mut clients = Role::spawn("clients", &["--addr", &addr], &[])?;
    let mut rows = Vec::new();
    let mut baseline = None;
    let mut worst: f64 = 0.0;
    for round in 1..=rounds {
        // A fresh source address per round: the closed ones' ports wait in
        // TIME_WAIT.
        let source = Ipv4Addr::new(127, 0, 1, round as u8);
        let (opened, _) = open(&mut clients, connections, "light", source, 128)?;
        let open_stats = server.stats()?;
        clients.send("close")?;
        clients.expect("closed", Duration::from_secs(60))?;
        let mut after = server.connections_down_to(0, Duration::from_secs(30))?;
        std::thread::sleep(Duration::from_millis(500));
        after = Stats {
            connections: after.connections,
            ..server.stats()?
        };
        let base = *baseline.get_or_insert(after.rss);
        let growth = (after.rss as f64 - base as f64) / base as f64 * 100.0;
        worst = worst.max(growth);
        rows.push(json!({
            "round": round,
            "opened": opened,
            "rss_open_bytes": open_stats.rss,
            "rss_after_bytes": after.rss,
            "heap_after_bytes": after.heap,
            "left_connections": after.connections,
            "growth_percent": growth,
        }));
        println!(
            "     round {round}: {opened} open: RSS {:.0} MiB; all closed ({} left): RSS {:.0} MiB ({:+.1} %), heap {:.1} MiB",
            mib(open_stats.rss),
            after.connections,
            mib(after.rss),
            growth,
            mib(after.heap)
        );
    }
    println!(
        "{:<58} {:>12} {:>14}",
        format!(
            "3. churn {label}: {rounds} × {connections} (start RSS {:.0} MiB)",
            mib(start.rss)
        ),
        format!("{worst:+.1} %"),
        "≤ +20 %"
    );
    Ok(json!({
        "allocator": label,
        "connections_per_round": connections,
        "server_rss_start_bytes": start.rss,
        "rounds": rows,
        "worst_growth_percent": worst,
        "goal_percent": 20,
        "met": worst <= 20.0,
    }))
}

/// Scenario 4: the peak heap growth of one attacking connection.
fn hostile(kind: &str, what: &str, quick: bool) -> io::Result<(usize, Value)> {
    let (mut server, addr) = start_server(None, &[])?;
    let before = server.stats()?;
    let mut args = vec!["--addr", addr.as_str(), "--kind", kind];
    if quick {
        args.push("--quick");
    }
    let mut attacker = Role::spawn("attack", &args, &[])?;
    let sent = attacker.expect("done", Duration::from_secs(90))?.join(" ");
    std::thread::sleep(Duration::from_millis(500));
    let after = server.stats()?;
    let peak = after.peak.saturating_sub(before.heap);
    let held = after.heap.saturating_sub(before.heap);
    println!(
        "     {:<52} {:>9.1} MiB peak, {:>7.1} MiB held, RSS peak +{:.0} MiB ({sent})",
        what,
        mib(peak),
        mib(held),
        mib(after.hwm.saturating_sub(before.rss))
    );
    Ok((
        peak,
        json!({
            "attack": kind,
            "what": what,
            "sent": sent,
            "peak_heap_growth_bytes": peak,
            "heap_held_after_bytes": held,
            "peak_rss_growth_bytes": after.hwm.saturating_sub(before.rss),
            "noise_floor_bytes": before.peak.saturating_sub(before.heap),
        }),
    ))
}

/// The sum of what the default limits let one connection make the server
/// hold (see docs/resources.md), printed term by term; `queued_peak` is the
/// measured cost of the most messages a connection can have held.
fn defaults_bound(queued_peak: usize) -> Value {
    let server = ServerConfig::default();
    let endpoint = &server.endpoint;
    let pipe = &endpoint.pipe;
    let core = &pipe.core;
    // The read loop's buffer: one read of at most `read_size`.
    let block = pipe.read_size;
    // The queued-calls attack fills one connection's places (its own and
    // as many shared ones as its limit allows) and its pipe's backlog: what
    // it holds, divided by that, is what one held message costs.
    let places = endpoint.max_concurrent_handlers + endpoint.max_queued_requests;
    let held_messages = places + pipe.accept_backlog;
    let per_message = queued_peak / held_messages.max(1);
    let own_places = server.own_request_places.min(places);
    let terms: Vec<(String, usize)> = vec![
        (
            format!("read buffer: read_size {} KiB", pipe.read_size / KIB),
            block,
        ),
        (
            // A chunk handed up as a slice keeps its read's buffer; chunks
            // that are not most of their read are copied out (netcore-pipe
            // io.rs `detach_if_sparse`), so the buffers kept are at most
            // the unread body bytes again. Above the floor, windows come
            // from the shared budget (below).
            format!(
                "unread body bytes, and the read buffers they keep: 2 × min_connection_window {} KiB",
                core.min_connection_window as usize / KIB
            ),
            2 * core.min_connection_window as usize,
        ),
        (
            format!(
                "open headers of its own: header_budget {} KiB",
                core.header_budget / KIB
            ),
            core.header_budget,
        ),
        (
            format!(
                "held messages: ({} own request places + {} accept_backlog) × {:.1} KiB measured",
                own_places,
                pipe.accept_backlog,
                kib(per_message as f64)
            ),
            (own_places + pipe.accept_backlog) * per_message,
        ),
        (
            format!("write_batch {} KiB", pipe.write_batch / KIB),
            pipe.write_batch,
        ),
    ];
    let total: usize = terms.iter().map(|(_, bytes)| bytes).sum();
    println!("   what the default limits let one connection hold (library buffers):");
    for (term, bytes) in &terms {
        println!("     {term:<84} {:>8.1} MiB", mib(*bytes));
    }
    println!(
        "     {:<84} {:>8.1} MiB; × {} = {:.1} GiB",
        "sum",
        mib(total),
        server.max_connections,
        (total * server.max_connections) as f64 / GIB as f64
    );
    // Windows above their floor come only from the one budget all the
    // server's connections share; request places past a connection's own
    // from the server's shared places.
    let shared_windows = 2 * core.window_budget.total() as usize;
    println!(
        "     + for the whole server: windows above the floor, 2 × window_budget {} MiB = {:.1} GiB",
        core.window_budget.total() as usize / MIB,
        shared_windows as f64 / GIB as f64
    );
    let shared_headers = core.shared_header_budget.total() as usize;
    println!(
        "     + for the whole server: open headers past each connection's own, shared_header_budget {:.1} MiB",
        mib(shared_headers)
    );
    let shared_messages = server.shared_request_places * per_message;
    println!(
        "     + for the whole server: {} shared request places × {:.1} KiB = {:.1} MiB",
        server.shared_request_places,
        kib(per_message as f64),
        mib(shared_messages)
    );
    println!(
        "     + application data: request bodies (max_buffered_request_bytes {} MiB for the server) and the replies of \
         {} × {} own + {} shared places",
        server.max_buffered_request_bytes >> 20,
        server.max_connections,
        own_places,
        server.shared_request_places
    );
    let shared = shared_windows + shared_headers + shared_messages;
    println!(
        "{:<58} {:>12} {:>14}",
        format!(
            "   library buffers of {} hostile connections, stated",
            server.max_connections
        ),
        format!(
            "{:.2} GiB",
            (total * server.max_connections + shared) as f64 / GIB as f64
        ),
        "≤ 1 GiB"
    );
    json!({
        "terms": terms
            .iter()
            .map(|(term, bytes)| json!({ "term": term, "bytes": bytes }))
            .collect::<Vec<_>>(),
        "per_connection_bytes": total,
        "max_connections": server.max_connections,
        "shared_bytes": shared,
        "total_bytes": total * server.max_connections + shared,
    })
}

/// Scenario 4, every attack: the worst, and that × 1024.
fn all_attacks(quick: bool) -> io::Result<Value> {
    println!("4. one hostile connection, default settings: server peak heap growth");
    let mut attacks = Vec::new();
    let mut worst = (0usize, "");
    let mut worst_library = (0usize, "");
    for (kind, what) in ATTACKS {
        let (peak, row) = hostile(kind, what, quick)?;
        if peak > worst.0 {
            worst = (peak, what);
        }
        if !APPLICATION_SIZED.contains(&kind) && peak > worst_library.0 {
            worst_library = (peak, what);
        }
        attacks.push(row);
    }
    for (label, (peak, what)) in [
        ("worst case per hostile connection", worst),
        (
            "worst of what the library holds (no body/reply)",
            worst_library,
        ),
    ] {
        println!(
            "{:<58} {:>12} {:>14}",
            format!("   {label}"),
            format!("{:.1} MiB", mib(peak)),
            ""
        );
        println!("     ({what})");
        // One connection alone may take all of a shared pool (the window
        // and header budgets, the shared request places): × 1024 counts
        // those 1024 times, so it bounds from above; the derivation below
        // counts them once.
        println!(
            "{:<58} {:>12} {:>14}",
            "     × 1024 (shared pools counted 1024 times: an over-estimate)",
            format!("{:.1} GiB", peak as f64 * 1024.0 / GIB as f64),
            ""
        );
    }
    let bound = worst.0 as f64 * 1024.0;
    let queued_peak = attacks
        .iter()
        .find(|row| row["attack"] == "queued_calls")
        .and_then(|row| row["peak_heap_growth_bytes"].as_u64())
        .unwrap_or(0) as usize;
    let derivation = defaults_bound(queued_peak);
    Ok(json!({
        "attacks": attacks,
        "defaults_bound": derivation,
        "worst_peak_heap_growth_bytes": worst.0,
        "worst_attack": worst.1,
        "times_1024_bytes": bound,
        "worst_library_peak_heap_growth_bytes": worst_library.0,
        "worst_library_attack": worst_library.1,
        "library_times_1024_bytes": worst_library.0 as f64 * 1024.0,
        "goal_bytes": GIB,
        "met": bound <= GIB as f64,
    }))
}

fn drive(quick: bool, only: Option<&str>) -> io::Result<()> {
    let run = |part: &str| only.is_none_or(|only| only == part);
    let started = Instant::now();
    let limit = open_files_limit().unwrap_or(1024);
    let fit = |wanted: usize| {
        let room = limit.saturating_sub(256);
        if wanted > room {
            eprintln!("  open-files limit {limit}: {wanted} connections cut to {room}");
        }
        wanted.min(room)
    };
    let (idle_n, many_n, churn_n) = if quick {
        (200, fit(2000), fit(1000))
    } else {
        (1000, fit(10_000), fit(5000))
    };
    println!(
        "resources of a Netcore server (ServerConfig::default(), TCP on 127.0.0.1){}",
        if quick { ", quick" } else { "" }
    );
    println!("{:<58} {:>12} {:>14}", "case", "measured", "goal");
    let idle = if run("idle") {
        idle_heap(idle_n)?
    } else {
        Value::Null
    };
    let many = if run("many") {
        many_idle(many_n)?
    } else {
        Value::Null
    };
    let mut churns = Vec::new();
    if run("churn") {
        churns.push(churn(churn_n, 6, &[], netcore_hostile::meter::BASE_NAME)?);
    }
    // The allocator variant only in full runs (it doubles the churn's time).
    if !quick
        && churns
            .first()
            .is_some_and(|first| first["met"] == json!(false))
    {
        churns.push(churn(
            churn_n,
            6,
            &[("MALLOC_ARENA_MAX", "2")],
            "MALLOC_ARENA_MAX=2",
        )?);
    }
    let hostile = if run("hostile") {
        all_attacks(quick)?
    } else {
        Value::Null
    };
    println!("total {:.0} s", started.elapsed().as_secs_f64());

    let report = json!({
        "quick": quick,
        "idle_heap": idle,
        "many_idle": many,
        "churn": churns,
        "hostile": hostile,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let text = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
    // A run built for another allocator keeps its figures apart.
    let file = if netcore_hostile::meter::BASE_NAME == "mimalloc" {
        "resources-mimalloc.json"
    } else {
        "resources.json"
    };
    std::fs::write(dir.join(file), text + "\n")?;
    println!("figures written to {}", dir.join(file).display());
    Ok(())
}
