//! The built `netcore` binary end to end: `serve` and `listen` on
//! loopback, over a Unix socket, over QUIC and over a pseudo-terminal pair;
//! `call`, `send`, `stats` and `bench` against them in both wire formats;
//! and each way a call can fail, with its message and exit code. Every
//! process is bounded in time (`serve --for`, `call --timeout`, a guard on
//! waits).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use netcore_endpoint::{Endpoint, EndpointConfig, Router};
use netcore_transports::serial;

const NETCORE: &str = env!("CARGO_BIN_EXE_netcore");

/// A `netcore serve` (or `listen`) child; killed when dropped.
struct Served {
    child: Child,
    address: String,
    /// The rest of what it prints on standard output.
    stdout: BufReader<ChildStdout>,
}

impl Served {
    /// The next line it prints (within the child's own `--for`).
    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("a line");
        line.trim_end().to_owned()
    }
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
    start("serve", args)
}

/// Starts `netcore COMMAND ARGS… --for 60s` and reads the address it
/// announces.
fn start(command: &str, args: &[&str]) -> Served {
    let mut child = Command::new(NETCORE)
        .arg(command)
        .args(args)
        .args(["--for", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("netcore starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("it says where it listens");
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not an announcement: {line:?}"))
        .to_owned();
    Served {
        child,
        address,
        stdout,
    }
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
    // QUIC without the certificate to trust: a usage error saying so.
    let quic = netcore(&["call", "quic://127.0.0.1:4433", "/echo"]);
    assert_eq!(quic.status.code(), Some(2));
    assert!(stderr(&quic).contains("quic://"), "{}", stderr(&quic));
    assert!(stderr(&quic).contains("--ca"), "{}", stderr(&quic));
}

#[test]
fn listen_prints_every_incoming_message() {
    let mut listening = start("listen", &["tcp://127.0.0.1:0", "--show", "16"]);
    let call = netcore(&[
        "call",
        &listening.address,
        "/sensors/temp",
        "--data",
        "21.5C",
        "--header",
        "unit=celsius",
    ]);
    assert!(call.status.success(), "{}", stderr(&call));
    assert_eq!(stdout(&call), "", "a listener answers empty");
    let line = listening.next_line();
    assert!(line.starts_with("/sensors/temp from peer "), "{line}");
    assert!(line.contains("5 bytes"), "{line}");
    assert!(line.contains("unit=celsius"), "{line}");
    assert!(line.ends_with("\"21.5C\""), "{line}");
    let binary = netcore(&[
        "call",
        &listening.address,
        "/raw",
        "--data",
        "0123456789abcdefXYZ",
    ]);
    assert!(binary.status.success(), "{}", stderr(&binary));
    let line = listening.next_line();
    assert!(line.contains("19 bytes"), "{line}");
    assert!(
        line.ends_with("\"0123456789abcdef\"…"),
        "--show 16 cuts it: {line}"
    );
}

#[test]
fn send_uploads_a_file_and_draws_no_bar_when_piped() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, vec![3u8; 5 << 20]).expect("written");
    let served = serve(&["tcp://127.0.0.1:0"]);
    let file = file.display().to_string();
    let sent = netcore(&["send", &served.address, "--file", &file]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let said = stderr(&sent);
    assert!(said.contains("sent 5.0 MiB in "), "{said}");
    assert!(
        !said.contains("ETA"),
        "no progress bar off a terminal: {said}"
    );
    let sized = netcore(&["send", &served.address, "--file", &file, "--route", "/size"]);
    assert_eq!(stdout(&sized), (5 << 20).to_string());
    let missing = netcore(&["send", &served.address, "--file", "/no/such/file"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("/no/such/file"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn a_shell_route_answers_what_its_command_prints() {
    let served = serve(&[
        "tcp://127.0.0.1:0",
        "--route",
        "/upper=tr a-z A-Z",
        "--route",
        "/broken=echo disk on fire >&2; exit 3",
        "--route",
        "/slow=sleep 1.5; echo done",
    ]);
    let upper = netcore(&["call", &served.address, "/upper", "--data", "hello"]);
    assert!(upper.status.success(), "{}", stderr(&upper));
    assert_eq!(stdout(&upper), "HELLO");
    let broken = netcore(&["call", &served.address, "/broken"]);
    assert_eq!(broken.status.code(), Some(1), "{}", stderr(&broken));
    assert!(
        stderr(&broken).contains("disk on fire"),
        "{}",
        stderr(&broken)
    );
    // --stats on a call that lasts past a second: a line of figures.
    let slow = netcore(&["--stats", "call", &served.address, "/slow"]);
    assert!(slow.status.success(), "{}", stderr(&slow));
    assert_eq!(stdout(&slow), "done\n");
    let said = stderr(&slow);
    assert!(
        said.contains(&format!("stats {}: in flight ", served.address)),
        "{said}"
    );
    assert!(said.contains("rtt "), "{said}");
}

#[test]
fn stats_prints_the_links_figures_each_period() {
    let served = serve(&["tcp://127.0.0.1:0"]);
    let watched = netcore(&["stats", &served.address, "--for", "1s", "--every", "200ms"]);
    assert!(watched.status.success(), "{}", stderr(&watched));
    let lines: Vec<String> = stdout(&watched).lines().map(str::to_owned).collect();
    assert!(lines.len() >= 3, "a line each 200 ms for 1 s: {lines:?}");
    for line in &lines {
        assert!(line.starts_with("in flight 0/0 | sent "), "{line}");
        assert!(line.contains("| resyncs 0 | damaged 0 B"), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains("rtt ") && !line.contains("rtt -")),
        "the round trip is measured: {lines:?}"
    );
}

#[test]
fn bench_prints_a_table_of_the_three_figures() {
    let served = serve(&["tcp://127.0.0.1:0"]);
    let bench = netcore(&[
        "bench",
        &served.address,
        "--bulk",
        "4MiB",
        "--for",
        "300ms",
        "--in-flight",
        "8",
    ]);
    assert!(bench.status.success(), "{}", stderr(&bench));
    let table = stdout(&bench);
    for row in ["throughput ", "rtt under bulk ", "calls/s "] {
        assert!(
            table.lines().any(|line| line.starts_with(row)),
            "{row:?} row missing: {table}"
        );
    }
    assert!(table.contains("4.0 MiB in "), "{table}");
    assert!(table.contains("8 in flight"), "{table}");
}

#[test]
fn quic_is_served_with_a_self_signed_certificate_the_client_trusts() {
    let mut served = serve(&["quic://127.0.0.1:0"]);
    assert!(
        served.address.starts_with("quic://127.0.0.1:"),
        "{}",
        served.address
    );
    let certificate = served.next_line();
    let certificate = certificate
        .strip_prefix("certificate ")
        .unwrap_or_else(|| panic!("no certificate line: {certificate:?}"))
        .to_owned();
    let echo = netcore(&[
        "call",
        &served.address,
        "/echo",
        "--data",
        "over quic",
        "--ca",
        &certificate,
    ]);
    assert!(echo.status.success(), "{}", stderr(&echo));
    assert_eq!(stdout(&echo), "over quic");
    // A certificate the server does not have: refused, naming why.
    let dir = tempfile::tempdir().expect("a directory");
    let other = dir.path().join("other.pem");
    std::fs::write(&other, "not a certificate").expect("written");
    let untrusted = netcore(&[
        "call",
        &served.address,
        "/echo",
        "--ca",
        &other.display().to_string(),
    ]);
    assert_eq!(untrusted.status.code(), Some(2), "{}", stderr(&untrusted));
    assert!(
        stderr(&untrusted).contains("--ca"),
        "{}",
        stderr(&untrusted)
    );
}

#[test]
fn completions_and_help_are_there_for_each_command() {
    let bash = netcore(&["completions", "bash"]);
    assert!(bash.status.success(), "{}", stderr(&bash));
    assert!(stdout(&bash).contains("_netcore"), "{}", stdout(&bash));
    let zsh = netcore(&["completions", "zsh"]);
    assert!(
        stdout(&zsh).starts_with("#compdef netcore"),
        "{}",
        stdout(&zsh)
    );
    let fish = netcore(&["completions", "fish"]);
    assert!(
        stdout(&fish).contains("complete -c netcore"),
        "{}",
        stdout(&fish)
    );
    for command in [
        "call",
        "serve",
        "listen",
        "send",
        "stats",
        "bench",
        "completions",
    ] {
        let help = netcore(&[command, "--help"]);
        assert!(help.status.success(), "{command}: {}", stderr(&help));
        assert!(
            stdout(&help).contains("Examples:\n  netcore "),
            "{command} --help has examples: {}",
            stdout(&help)
        );
    }
}

/// The configuration a library peer on a pseudo-terminal uses for `wire`.
fn serial_config(wire: &str) -> EndpointConfig {
    match wire {
        "python013" => EndpointConfig::py013(),
        _ => EndpointConfig::lossy_link(),
    }
}

/// A route name in `wire`'s spelling.
fn route(wire: &str, name: &str) -> String {
    match wire {
        "python013" => name.to_owned(),
        _ => format!("/{name}"),
    }
}

#[test]
fn serve_answers_over_a_pseudo_terminal_in_both_wire_formats() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for wire in ["lso2", "python013"] {
        let _entered = runtime.enter();
        let (ours, theirs) = serial::pair().expect("a pseudo-terminal pair");
        let address = format!("serial://{}", theirs.name().expect("its path"));
        let served = serve(&[&address, "--wire", wire]);
        assert!(served.address.starts_with(&address), "{}", served.address);
        assert!(served.address.contains("?baud="), "{}", served.address);
        let config = serial_config(wire);
        let pipe = serial::from_stream(ours, &config.pipe);
        let endpoint = Endpoint::builder()
            .config(config)
            .start(pipe)
            .expect("an endpoint");
        let echoed = runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(20),
                endpoint.peer().call(&route(wire, "echo"), "down the line"),
            )
            .await
        });
        let echoed = echoed
            .unwrap_or_else(|_| panic!("{wire}: no reply in 20 s"))
            .unwrap_or_else(|error| panic!("{wire}: {error}"));
        assert_eq!(echoed.body, "down the line", "{wire}");
        drop(served);
        drop(theirs);
    }
}

#[test]
fn call_reaches_a_device_on_a_pseudo_terminal_in_both_wire_formats() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for wire in ["lso2", "python013"] {
        let _entered = runtime.enter();
        let (ours, theirs) = serial::pair().expect("a pseudo-terminal pair");
        let address = format!("serial://{}", theirs.name().expect("its path"));
        let config = serial_config(wire);
        let pipe = serial::from_stream(ours, &config.pipe);
        let routes = Router::new()
            .route(&route(wire, "status"), |body: Bytes| async move {
                format!("device ok, {} bytes", body.len())
            })
            .build()
            .expect("routes");
        let _device = Endpoint::builder()
            .config(config)
            .routes(routes)
            .start(pipe)
            .expect("an endpoint");
        let status = netcore(&[
            "call",
            &address,
            &route(wire, "status"),
            "--wire",
            wire,
            "--json",
            "{}",
            "--timeout",
            "20s",
        ]);
        assert!(status.status.success(), "{wire}: {}", stderr(&status));
        assert_eq!(stdout(&status), "device ok, 2 bytes", "{wire}");
        drop(theirs);
    }
}

#[test]
fn verbose_logs_show_the_connection_and_each_call_in_its_span() {
    let served = serve(&["tcp://127.0.0.1:0"]);
    let quiet = netcore(&["call", &served.address, "/echo", "--data", "hi"]);
    assert_eq!(stderr(&quiet), "", "no logs without -v");
    let info = netcore(&["-v", "call", &served.address, "/echo", "--data", "hi"]);
    assert!(info.status.success(), "{}", stderr(&info));
    let said = stderr(&info);
    assert!(said.contains("connection open"), "{said}");
    assert!(!said.contains("DEBUG"), "-v stops at INFO: {said}");
    let debug = netcore(&["-vv", "call", &served.address, "/echo", "--data", "hi"]);
    let said = stderr(&debug);
    assert!(said.contains("call{route=\"/echo\""), "a call span: {said}");
    assert!(said.contains("msg.id="), "messages carry their id: {said}");
    assert!(
        !said.contains(" message="),
        "no field named like tracing's own: {said}"
    );
    assert!(!said.contains("TRACE"), "-vv stops at DEBUG: {said}");
    let trace = netcore(&["-vvv", "call", &served.address, "/echo", "--data", "hi"]);
    let said = stderr(&trace);
    assert!(
        said.contains("frame read") && said.contains("kind=Open"),
        "each frame read at TRACE, with its kind: {said}"
    );
    assert!(
        said.contains("frame queued for writing"),
        "each frame sent at TRACE: {said}"
    );
}
