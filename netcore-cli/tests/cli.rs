//! The built `netcore` binary end to end: `serve` on loopback and over a
//! Unix socket, `call` against it in both wire formats, and each way a
//! call can fail, with its message and exit code. Every process is
//! bounded in time (`serve --for`, `call --timeout`, a guard on waits).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NETCORE: &str = env!("CARGO_BIN_EXE_netcore");

/// A `netcore serve` child; killed when dropped.
struct Served {
    child: Child,
    address: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `netcore serve ARGS… --for 60s` and reads the address it
/// announces.
fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(NETCORE)
        .arg("serve")
        .args(args)
        .args(["--for", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("netcore serve starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("it says where it listens");
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not an announcement: {line:?}"))
        .to_owned();
    Served { child, address }
}

/// Runs `netcore ARGS…` to its end (within 30 s).
fn netcore(args: &[&str]) -> Output {
    let started = Instant::now();
    let mut child = Command::new(NETCORE)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netcore starts");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("netcore {args:?} ran over 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("its output")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_call_over_tcp_prints_the_reply() {
    let served = serve(&["tcp://127.0.0.1:0"]);
    let echo = netcore(&["call", &served.address, "/echo", "--data", "hello"]);
    assert!(echo.status.success(), "{}", stderr(&echo));
    assert_eq!(stdout(&echo), "hello", "piped: the bytes as they came");
    let size = netcore(&["call", &served.address, "/size", "--json", "[1, 2, 3]"]);
    assert_eq!(stdout(&size), "9");
    let header = netcore(&[
        "call",
        &served.address,
        "/sink",
        "--header",
        "trace=abc",
        "--timeout",
        "2s",
    ]);
    assert!(header.status.success(), "{}", stderr(&header));
    assert_eq!(stdout(&header), "");
}

#[test]
fn a_file_goes_as_the_body_and_a_static_route_answers_a_file() {
    let dir = tempfile::tempdir().expect("a directory");
    let status = dir.path().join("status.json");
    std::fs::write(&status, r#"{"up": true}"#).expect("written");
    let route = format!("/status=@{}", status.display());
    let served = serve(&["tcp://127.0.0.1:0", "--route", &route]);
    let file = netcore(&["call", &served.address, "/status"]);
    assert_eq!(stdout(&file), r#"{"up": true}"#);
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 3 << 20]).expect("written");
    let size = netcore(&[
        "call",
        &served.address,
        "/size",
        "--data",
        &format!("@{}", big.display()),
    ]);
    assert_eq!(stdout(&size), (3 << 20).to_string());
}

#[test]
fn a_unix_socket_is_served_and_called() {
    let dir = tempfile::tempdir().expect("a directory");
    let address = format!("unix://{}", dir.path().join("cli.sock").display());
    let served = serve(&[&address]);
    assert_eq!(served.address, address);
    let echo = netcore(&["call", &address, "/echo", "--data", "over unix"]);
    assert_eq!(stdout(&echo), "over unix");
}

#[test]
fn the_python_013_wire_format_is_spoken_both_ways() {
    let served = serve(&["tcp://127.0.0.1:0", "--wire", "python013"]);
    let echo = netcore(&[
        "call",
        &served.address,
        "echo",
        "--wire",
        "python013",
        "--json",
        r#"{"x": 1}"#,
    ]);
    assert!(echo.status.success(), "{}", stderr(&echo));
    assert_eq!(stdout(&echo), r#"{"x": 1}"#);
}

#[test]
fn each_failure_says_why_with_its_own_exit_code() {
    let served = serve(&["tcp://127.0.0.1:0"]);
    // A bad address: a usage error, naming the forms that work.
    let bad = netcore(&["call", "ftp://host:1", "/echo"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("tcp://host:port"), "{}", stderr(&bad));
    // Malformed JSON: refused before anything is sent.
    let json = netcore(&["call", &served.address, "/echo", "--json", "{"]);
    assert_eq!(json.status.code(), Some(2));
    assert!(stderr(&json).contains("not JSON"), "{}", stderr(&json));
    // A route the peer does not have: its answer, exit 1.
    let missing = netcore(&["call", &served.address, "/nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("404"), "{}", stderr(&missing));
    // Nobody listening: exit 3.
    let refused = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("its address")
            .port();
        netcore(&["call", &format!("tcp://127.0.0.1:{port}"), "/echo"])
    };
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("refused"), "{}", stderr(&refused));
    // A peer that accepts and never answers: the timeout, exit 4.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("tcp://{}", silent.local_addr().expect("address"));
    let timeout = netcore(&["call", &address, "/echo", "--timeout", "300ms"]);
    assert_eq!(timeout.status.code(), Some(4), "{}", stderr(&timeout));
    assert!(
        stderr(&timeout).contains("no reply within 300ms"),
        "{}",
        stderr(&timeout)
    );
    // QUIC is named but not taken yet: a usage error saying so.
    let quic = netcore(&["call", "quic://127.0.0.1:4433", "/echo"]);
    assert_eq!(quic.status.code(), Some(2));
    assert!(stderr(&quic).contains("quic://"), "{}", stderr(&quic));
}
