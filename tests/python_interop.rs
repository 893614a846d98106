//! Interop with the real Python framework **netcore 0.1.3** (PyPI), driven
//! through `tests/python/peer.py` in the venv `cargo xtask pyenv` makes
//! (`cargo xtask test` makes it and sets `NETCORE_PY013_PYTHON`).
//!
//! - A Python client calls a Rust server: JSON and raw echo, 50 concurrent
//!   calls from threads, 1 MiB payloads, an unknown route (Python times out
//!   cleanly and the connection still works).
//! - A Rust client calls a Python server: the same set, and a call dropped
//!   mid-send, which cancels the request at the Python peer.
//! - 20 uploads and 20 downloads of 300 kB, 4 in flight, both ways round:
//!   all finish, every body checked (times are for `cargo xtask bench`).
//!
//! Everything binds to 127.0.0.1; every wait has a bound.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore::endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, Json, Router, Server, ServerConfig, State,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

/// Bound on anything a test waits for (Python is slow: its threads spin).
const GUARD: Duration = Duration::from_secs(120);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// The venv's Python with netcore 0.1.3.
fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("NETCORE_PY013_PYTHON") {
        return path.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py013-venv/bin/python");
    assert!(
        venv.exists(),
        "the Python interop tests need netcore 0.1.3 in a venv: run `cargo xtask pyenv` \
         (`cargo xtask test` does it), or set NETCORE_PY013_PYTHON"
    );
    venv
}

fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/peer.py")
}

// ----- a Python client calling a Rust server --------------------------------

/// A Rust server in Python-compatible mode with the routes the Python
/// client scenarios call: `echo`, `size` and `blob` (`{"size": N}` gets N
/// bytes of the pattern 0, 1, … 255, 0, … back).
async fn rust_server(echoes: Arc<AtomicUsize>) -> (Server, std::net::SocketAddr) {
    async fn echo(State(echoes): State<Arc<AtomicUsize>>, body: Bytes) -> Bytes {
        echoes.fetch_add(1, Ordering::SeqCst);
        body
    }
    async fn size(body: Bytes) -> Json<Value> {
        Json(json!({ "size": body.len() }))
    }
    async fn blob(Json(asked): Json<Value>) -> Bytes {
        let size = asked["size"].as_u64().unwrap_or(0).min(16 << 20) as usize;
        (0..=255u8).cycle().take(size).collect::<Vec<u8>>().into()
    }
    let routes = Router::with_state(echoes)
        .route("echo", echo)
        .route("size", size)
        .route("blob", blob)
        .build()
        .expect("routes");
    let server = Server::new(
        routes,
        ServerConfig::default().with_endpoint(EndpointConfig::py013()),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    (server, addr)
}

/// Runs `peer.py` with `args`; returns the JSON line it ends with, once
/// that says `"ok": true` and the exit status agrees. `what` names the run
/// in failure messages.
async fn run_peer_py(args: &[String], what: &str) -> Value {
    let output = Command::new(python())
        .arg(peer_script())
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("{what} printed {stdout:?}: {error}"));
    assert_eq!(result["ok"], true, "{what}: {result}");
    assert!(output.status.success(), "{what}: {result}");
    result
}

/// Runs one `peer.py call` scenario against `addr`; returns its JSON line.
async fn python_scenario(addr: std::net::SocketAddr, scenario: &str) -> Value {
    let args = [
        "call",
        "--connect",
        &addr.to_string(),
        "--scenario",
        scenario,
    ];
    run_peer_py(&args.map(String::from), &format!("scenario {scenario}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_calls_a_rust_server() {
    let echoes = Arc::new(AtomicUsize::new(0));
    let (server, addr) = rust_server(echoes.clone()).await;
    guard(async {
        let json_echo = python_scenario(addr, "json_echo").await;
        assert_eq!(json_echo["reply"], json!({"x": 1, "name": "héllo"}));
        assert_eq!(json_echo["route"], "echo");

        let raw = python_scenario(addr, "raw_echo").await;
        assert_eq!(raw["bytes"], 1024);

        let concurrent = python_scenario(addr, "concurrent").await;
        assert_eq!(concurrent["count"], 50);
        assert_eq!(concurrent["failed"], json!([]));

        let big = python_scenario(addr, "big").await;
        assert_eq!(big["bytes"], 1 << 20);
        assert_eq!(big["size_reply"], json!({"size": 1 << 20}));

        let before = echoes.load(Ordering::SeqCst);
        let unknown = python_scenario(addr, "unknown_route").await;
        assert_eq!(
            unknown["timed_out"], true,
            "Python got no reply for an unknown route"
        );
        assert_eq!(
            unknown["echo_after"], true,
            "and the connection still works"
        );
        assert_eq!(echoes.load(Ordering::SeqCst), before + 1);
        // 1 + 1 + 50 + 1 + 1 echo calls reached the Rust handler.
        assert_eq!(echoes.load(Ordering::SeqCst), 54);
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

/// Runs `peer.py bench` against `addr`: `calls` uploads to `size` or
/// downloads from `blob` of `bytes` each, `in_flight` at a time; returns its
/// JSON line once every call came back right.
async fn python_bench(
    addr: std::net::SocketAddr,
    route: &str,
    bytes: usize,
    calls: usize,
    in_flight: usize,
) -> Value {
    let args = [
        "bench",
        "--connect",
        &addr.to_string(),
        "--route",
        route,
        "--bytes",
        &bytes.to_string(),
        "--calls",
        &calls.to_string(),
        "--in-flight",
        &in_flight.to_string(),
        "--timeout",
        "100",
    ];
    let result = run_peer_py(&args.map(String::from), &format!("bench {route}")).await;
    assert_eq!(result["calls"], calls, "bench {route}: {result}");
    assert_eq!(result["failed"], json!([]), "bench {route}: {result}");
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_300_kb_uploads_and_downloads_four_in_flight_all_finish() {
    let (server, addr) = rust_server(Arc::new(AtomicUsize::new(0))).await;
    guard(async {
        // Python → Rust bodies: each reply says how many bytes arrived.
        python_bench(addr, "size", 300_000, 20, 4).await;
        // Rust → Python bodies: each reply is checked byte for byte.
        python_bench(addr, "blob", 300_000, 20, 4).await;
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

// ----- a Rust client calling a Python server --------------------------------

/// A running `peer.py serve`; it exits when its stdin closes (on drop).
struct PythonServer {
    child: Child,
    addr: String,
}

async fn python_server() -> PythonServer {
    let mut child = Command::new(python())
        .arg(peer_script())
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seconds",
            "600",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the Python server starts")
        .expect("stdout")
        .expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    PythonServer { child, addr }
}

impl PythonServer {
    async fn connect(&self) -> Endpoint {
        let stream = TcpStream::connect(&self.addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Endpoint::builder()
            .config(EndpointConfig::py013())
            .start(stream)
            .expect("a client has no routes to check")
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_client_calls_a_python_server() {
    let python = python_server().await;
    let client = python.connect().await;
    guard(async {
        let peer = client.peer();
        let reply: Value = peer
            .call_json("echo", &json!({"x": 1, "name": "héllo"}))
            .await
            .expect("json echo");
        assert_eq!(reply, json!({"x": 1, "name": "héllo"}));
        let response = peer.call("echo", "{\"x\": 1}").await.expect("echo");
        assert_eq!(response.headers.get_str("route"), Some("echo"));
        assert_eq!(response.headers.get_str("is_response"), Some("true"));

        let raw: Bytes = (0..=255u8).cycle().take(1024).collect::<Vec<u8>>().into();
        assert_eq!(peer.call("echo", raw.clone()).await.expect("raw").body, raw);

        let calls = (0..50).map(|i| {
            let peer = peer.clone();
            async move { peer.call_json::<_, Value>("echo", &json!({ "i": i })).await }
        });
        for (i, reply) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(reply.expect("concurrent reply"), json!({ "i": i }));
        }

        let big: Bytes = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect::<Vec<u8>>()
            .into();
        assert_eq!(
            peer.call("echo", big.clone())
                .await
                .expect("1 MiB echo")
                .body,
            big
        );
        let size: Value = serde_json::from_slice(&peer.call("size", big).await.expect("size").body)
            .expect("size JSON");
        assert_eq!(size, json!({"size": 1 << 20}));

        // Python sends nothing for an unknown route: the call times out.
        let options = CallOptions::default().with_timeout(Some(Duration::from_secs(2)));
        let error = peer
            .call_with("no_such_route", "{}", options)
            .await
            .expect_err("no reply from Python");
        assert!(matches!(error, CallError::Timeout(_)), "{error}");
        assert_eq!(
            peer.call("echo", "still").await.expect("echo after").body,
            "still"
        );
    })
    .await;
    drop(client);
    python.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dropped_mid_send_is_cancelled_at_the_python_peer() {
    let python = python_server().await;
    let client = python.connect().await;
    guard(async {
        let peer = client.peer();
        let stats = |peer: netcore::endpoint::Peer| async move {
            let reply = peer.call("stats", "{}").await.expect("stats");
            serde_json::from_slice::<Value>(&reply.body).expect("stats JSON")
        };
        let before = stats(peer.clone()).await;
        // Python reads about 10–20 MB/s: 16 MiB takes a second or more.
        let big = Bytes::from(vec![7u8; 16 << 20]);
        let call = peer.call("echo", big);
        let dropped = tokio::time::timeout(Duration::from_millis(150), call).await;
        assert!(dropped.is_err(), "the 16 MiB call was still being sent");
        // The stream is still in step, and the cancelled request never ran.
        assert_eq!(
            peer.call("echo", "after").await.expect("echo").body,
            "after"
        );
        let after = stats(peer.clone()).await;
        assert_eq!(after["echo"], before["echo"].as_u64().unwrap_or(0) + 1);
        assert_eq!(
            after["total_bytes"],
            before["total_bytes"].as_u64().unwrap_or(0) + 5,
            "only the 5-byte echo reached a Python handler"
        );
        assert_eq!(peer.pending_calls(), 0);
    })
    .await;
    drop(client);
    python.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_300_kb_calls_to_a_python_server_four_in_flight_all_finish() {
    use futures::StreamExt;
    let python = python_server().await;
    let client = python.connect().await;
    guard(async {
        let peer = client.peer();
        let upload = Bytes::from(vec![7u8; 300_000]);
        let sizes: Vec<_> = futures::stream::iter(0..20)
            .map(|_| peer.call("size", upload.clone()))
            .buffer_unordered(4)
            .collect()
            .await;
        for reply in sizes {
            let body = reply.expect("an upload's reply").body;
            let size: Value = serde_json::from_slice(&body).expect("size JSON");
            assert_eq!(size, json!({"size": 300_000}));
        }
        let pattern: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let blobs: Vec<_> = futures::stream::iter(0..20)
            .map(|_| peer.call("blob", "{\"size\": 300000}"))
            .buffer_unordered(4)
            .collect()
            .await;
        for reply in blobs {
            assert_eq!(reply.expect("a download").body, pattern);
        }
    })
    .await;
    drop(client);
    python.stop().await;
}
