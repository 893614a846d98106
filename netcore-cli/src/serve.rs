//! `netcore serve ADDR`: answers `echo`, `size`, `sink`, static files and
//! shell commands; also the listening half of `netcore listen`.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{Endpoint, ReplyError, Router, Routes, Server, ServerConfig, Streamed};
use netcore_transports::quic::QuicListener;
use netcore_transports::{serial, tcp, unix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Wire;
use crate::address::Address;
use crate::failure::Failure;
use crate::link::{self, LinkArgs};
use crate::stats::Reporter;

/// The most a shell route's command may print as its reply.
const COMMAND_OUTPUT_LIMIT: u64 = 64 << 20;

/// Serves ADDR: `echo` answers the body back, `size` its length, `sink`
/// nothing; --route adds static files and shell commands. Logs each request
/// on standard error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore serve tcp://127.0.0.1:7000
  netcore serve tcp://127.0.0.1:0 --for 30s          # prints the port it got
  netcore serve unix:///tmp/x.sock --route /status=@status.json
  netcore serve tcp://127.0.0.1:7000 --route /upper='tr a-z A-Z'
  netcore serve quic://127.0.0.1:7443 --cert cert.pem --key key.pem
  netcore serve tcp://127.0.0.1:9000 --wire python013   # for Python netcore 0.1.3 clients

Routes: /echo, /size and /sink for LSO v2 peers; echo, size and sink for
Python ones (their routes have no slash). A --route /PATH=@FILE answers the
file's bytes; /PATH=COMMAND runs `sh -c COMMAND` per request with the body
on its standard input and answers what it prints (a non-zero exit answers
an error with its standard error). It prints `listening on ADDR` once it
accepts connections (and for quic:// without --cert, `certificate PATH`:
a self-signed certificate for clients' --ca).")]
pub(crate) struct ServeArgs {
    /// Where to listen: tcp://host:port, unix:///path, serial:///dev/tty?baud=N, quic://host:port.
    address: Address,
    /// A route: /PATH=@FILE answers the file, /PATH=COMMAND runs a shell command (repeatable).
    #[arg(long = "route", value_name = "/PATH=@FILE|/PATH=COMMAND")]
    routes: Vec<String>,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    serve_for: Option<Duration>,
    #[command(flatten)]
    link: LinkArgs,
}

/// A route name in `wire`'s spelling: Python 0.1.3 routes have no slash.
pub(crate) fn route_name(wire: Wire, route: &str) -> String {
    match wire {
        Wire::Lso2 => format!("/{route}"),
        Wire::Python013 => route.to_owned(),
    }
}

/// The built-in routes, the static files and the shell commands.
fn routes(args: &ServeArgs) -> Result<Routes, Failure> {
    let name = |route: &str| route_name(args.link.wire, route);
    let mut router = Router::new()
        .route(&name("echo"), |body: Bytes| async move {
            eprintln!("echo: {} bytes", body.len());
            body
        })
        .route(&name("size"), |Streamed(body): Streamed| async move {
            let total = count(body).await?;
            eprintln!("size: {total} bytes");
            Ok::<_, ReplyError>(total.to_string())
        })
        .route(&name("sink"), |Streamed(body): Streamed| async move {
            let total = count(body).await?;
            eprintln!("sink: {total} bytes");
            Ok::<_, ReplyError>(())
        });
    for route in &args.routes {
        let (path, action) = route
            .split_once('=')
            .filter(|(path, action)| !path.is_empty() && !action.is_empty())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--route {route:?} is not /PATH=@FILE or /PATH=COMMAND"
                ))
            })?;
        let shown = path.to_owned();
        router = match action.strip_prefix('@') {
            Some(file) => {
                let bytes = Bytes::from(std::fs::read(file).map_err(|error| {
                    Failure::Usage(format!("--route {path}: cannot read {file}: {error}"))
                })?);
                router.route(path, move || {
                    let bytes = bytes.clone();
                    let shown = shown.clone();
                    async move {
                        eprintln!("{shown}: {} bytes of file", bytes.len());
                        bytes
                    }
                })
            }
            None => {
                let command = action.to_owned();
                router.route(path, move |body: Bytes| {
                    let command = command.clone();
                    let shown = shown.clone();
                    async move {
                        eprintln!("{shown}: `{command}` with {} bytes", body.len());
                        run_command(&command, body).await
                    }
                })
            }
        };
    }
    router
        .build()
        .map_err(|error| Failure::Usage(format!("bad --route: {error}")))
}

/// The length of a streamed body, read to its end without holding it.
async fn count(mut body: netcore_pipe::BodyStream) -> Result<u64, ReplyError> {
    use futures::StreamExt;
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| ReplyError::bad_request(error.to_string()))?;
        total += chunk.len() as u64;
    }
    Ok(total)
}

/// Runs `sh -c command` with `body` on its standard input: what it prints,
/// or an error with its exit status and standard error. The process is
/// killed if the request is given up (its deadline, a cancel).
async fn run_command(command: &str, body: Bytes) -> Result<Bytes, ReplyError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| ReplyError::internal(format!("cannot run `{command}`: {error}")))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(ReplyError::internal("the command's pipes are missing"));
    };
    let feed = async move {
        // A command that does not read its input closes the pipe early:
        // not an error of the request.
        let _ = stdin.write_all(&body).await;
        drop(stdin);
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let (mut stdout, mut stderr) = (stdout.take(COMMAND_OUTPUT_LIMIT + 1), stderr.take(64 << 10));
    let read_out = stdout.read_to_end(&mut out);
    let read_err = stderr.read_to_end(&mut err);
    let ((), read_out, _) = tokio::join!(feed, read_out, read_err);
    read_out.map_err(|error| ReplyError::internal(format!("reading `{command}`: {error}")))?;
    if out.len() as u64 > COMMAND_OUTPUT_LIMIT {
        return Err(ReplyError::internal(format!(
            "`{command}` printed more than {} MiB",
            COMMAND_OUTPUT_LIMIT >> 20
        )));
    }
    let status = child
        .wait()
        .await
        .map_err(|error| ReplyError::internal(format!("waiting for `{command}`: {error}")))?;
    if status.success() {
        Ok(Bytes::from(out))
    } else {
        let said = String::from_utf8_lossy(&err);
        Err(ReplyError::internal(format!(
            "`{command}` failed ({status}): {}",
            said.trim()
        )))
    }
}

/// Prints a line on standard output, for people and for scripts that
/// read it.
pub(crate) fn say(text: impl std::fmt::Display) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Local(format!("cannot write to standard output: {error}")))
}

pub(crate) async fn run(args: ServeArgs, stats: bool) -> Result<(), Failure> {
    let routes = routes(&args)?;
    serve(&args.address, &args.link, routes, args.serve_for, stats).await
}

/// A self-signed certificate written for clients to trust; removed when
/// dropped.
struct WrittenCertificate(PathBuf);

impl Drop for WrittenCertificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Serves `routes` at `address` until `serve_for` has passed or Ctrl-C.
pub(crate) async fn serve(
    address: &Address,
    link: &LinkArgs,
    routes: Routes,
    serve_for: Option<Duration>,
    stats: bool,
) -> Result<(), Failure> {
    let config = link::endpoint_config(link.wire, address);
    let bind_failed =
        |error: String| Failure::Connection(format!("cannot listen on {address}: {error}"));
    let server = Server::new(
        routes.clone(),
        ServerConfig::default().with_endpoint(config.clone()),
    );
    let mut _certificate = None;
    let serving = match address {
        Address::Tcp(host_port) => {
            let options = tcp::TcpOptions::default().pipe(config.pipe.clone());
            let listener = tcp::Listener::bind(host_port.as_str(), options)
                .await
                .map_err(|error| bind_failed(error.to_string()))?;
            say(format_args!("listening on tcp://{}", listener.local_addr()))?;
            server.spawn(listener)
        }
        Address::Unix(path) => {
            let listener = unix::Listener::bind(path, config.pipe.clone())
                .map_err(|error| bind_failed(error.to_string()))?;
            say(format_args!("listening on {address}"))?;
            server.spawn(listener)
        }
        Address::Quic(host_port) => {
            let (quic, made) = link::quic_server(host_port, link)?;
            let at = link::resolve(host_port).await?;
            let listener = QuicListener::bind(at, &quic)
                .map_err(|error| bind_failed(error.to_string()))?
                .with_pipe_config(config.pipe.clone());
            let local = listener
                .local_addr()
                .map_err(|error| bind_failed(error.to_string()))?;
            say(format_args!("listening on quic://{local}"))?;
            if let Some(pem) = made {
                let path = std::env::temp_dir().join(format!(
                    "netcore-serve-{}-{}.pem",
                    std::process::id(),
                    local.port()
                ));
                std::fs::write(&path, pem).map_err(|error| {
                    Failure::Local(format!("cannot write {}: {error}", path.display()))
                })?;
                say(format_args!("certificate {}", path.display()))?;
                _certificate = Some(WrittenCertificate(path));
            }
            server.spawn(listener)
        }
        Address::Serial { path, baud, parity } => {
            // One peer at the other end of the line, for as long as it lasts.
            let options = link::serial_options(path, *baud, *parity, config.pipe.clone());
            let pipe = serial::open(&options).map_err(|error| bind_failed(error.to_string()))?;
            let endpoint = Endpoint::builder()
                .config(config)
                .routes(routes)
                .start(pipe)
                .map_err(|error| Failure::Usage(error.to_string()))?;
            say(format_args!("listening on {address}"))?;
            let _reporter = Reporter::one(stats, address.to_string(), endpoint.peer());
            let closed = async {
                endpoint
                    .peer()
                    .closed()
                    .await
                    .map_err(|error| Failure::Connection(error.to_string()))
            };
            return until_stopped(serve_for, closed).await;
        }
    };
    let peers = server.clone();
    let _reporter = Reporter::start(stats, move || {
        peers
            .peers()
            .into_iter()
            .map(|peer| (format!("peer {}", peer.id()), peer))
            .collect()
    });
    let served = async {
        match serving.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::Connection(format!("the listener failed: {error}"))),
            Err(error) => Err(Failure::Local(format!("the server task failed: {error}"))),
        }
    };
    let outcome = until_stopped(serve_for, served).await;
    server.shutdown(Duration::from_secs(2)).await;
    outcome
}

/// `work`'s outcome, or `Ok` once `serve_for` has passed or Ctrl-C came.
async fn until_stopped(
    serve_for: Option<Duration>,
    work: impl std::future::Future<Output = Result<(), Failure>>,
) -> Result<(), Failure> {
    let stop = async {
        match serve_for {
            Some(duration) => tokio::time::sleep(duration).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        outcome = work => outcome,
        () = stop => Ok(()),
    }
}
