//! `netcore serve ADDR`: answers `echo`, `size`, `sink` and static files.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{Endpoint, Router, Routes, Server, ServerConfig};
use netcore_transports::{serial, tcp, unix};

use crate::Wire;
use crate::address::Address;
use crate::failure::Failure;
use crate::link;

/// Serves ADDR: `echo` answers the body back, `size` its length, `sink`
/// nothing; --route adds static files. Logs each request on standard error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore serve tcp://127.0.0.1:7000
  netcore serve tcp://127.0.0.1:0 --for 30s          # prints the port it got
  netcore serve unix:///tmp/x.sock --route /status=@status.json
  netcore serve tcp://127.0.0.1:9000 --wire python013   # for Python netcore 0.1.3 clients

Routes: /echo, /size and /sink for LSO v2 peers; echo, size and sink for
Python ones (their routes have no slash). It prints `listening on ADDR`
once it accepts connections.")]
pub(crate) struct ServeArgs {
    /// Where to listen: tcp://host:port, unix:///path, serial:///dev/tty?baud=N.
    address: Address,
    /// A route answering a file's bytes: /PATH=@FILE (repeatable).
    #[arg(long = "route", value_name = "/PATH=@FILE")]
    routes: Vec<String>,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    serve_for: Option<Duration>,
    /// The wire format clients speak.
    #[arg(long, value_enum, default_value_t = Wire::Lso2)]
    wire: Wire,
}

/// The built-in routes and the static files, in `wire`'s route spelling.
fn routes(args: &ServeArgs) -> Result<Routes, Failure> {
    let name = |route: &str| match args.wire {
        Wire::Lso2 => format!("/{route}"),
        Wire::Python013 => route.to_owned(),
    };
    let mut router = Router::new()
        .route(&name("echo"), |body: Bytes| async move {
            eprintln!("echo: {} bytes", body.len());
            body
        })
        .route(&name("size"), |body: Bytes| async move {
            eprintln!("size: {} bytes", body.len());
            body.len().to_string()
        })
        .route(&name("sink"), |body: Bytes| async move {
            eprintln!("sink: {} bytes", body.len());
        });
    for route in &args.routes {
        let (path, file) = route
            .split_once("=@")
            .ok_or_else(|| Failure::Usage(format!("--route {route:?} is not /PATH=@FILE")))?;
        let bytes = Bytes::from(std::fs::read(file).map_err(|error| {
            Failure::Usage(format!("--route {path}: cannot read {file}: {error}"))
        })?);
        let shown = path.to_owned();
        router = router.route(path, move || {
            let bytes = bytes.clone();
            let shown = shown.clone();
            async move {
                eprintln!("{shown}: {} bytes of file", bytes.len());
                bytes
            }
        });
    }
    router
        .build()
        .map_err(|error| Failure::Usage(format!("bad --route: {error}")))
}

/// Prints where it listens, for people and for scripts that read it.
fn announce(address: impl std::fmt::Display) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {address}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Local(format!("cannot write to standard output: {error}")))
}

pub(crate) async fn run(args: ServeArgs) -> Result<(), Failure> {
    let routes = routes(&args)?;
    let config = link::endpoint_config(args.wire, &args.address);
    let bind_failed = |error: netcore_transports::Error| {
        Failure::Connection(format!("cannot listen on {}: {error}", args.address))
    };
    let server = Server::new(
        routes.clone(),
        ServerConfig::default().with_endpoint(config.clone()),
    );
    let serving = match &args.address {
        Address::Tcp(host_port) => {
            let options = tcp::TcpOptions::default().pipe(config.pipe.clone());
            let listener = tcp::Listener::bind(host_port.as_str(), options)
                .await
                .map_err(bind_failed)?;
            announce(format!("tcp://{}", listener.local_addr()))?;
            server.spawn(listener)
        }
        Address::Unix(path) => {
            let listener = unix::Listener::bind(path, config.pipe.clone()).map_err(bind_failed)?;
            announce(&args.address)?;
            server.spawn(listener)
        }
        Address::Serial { path, baud, parity } => {
            // One peer at the other end of the line, for as long as it lasts.
            let options = link::serial_options(path, *baud, *parity, config.pipe.clone());
            let pipe = serial::open(&options).map_err(bind_failed)?;
            let endpoint = Endpoint::builder()
                .config(config)
                .routes(routes)
                .start(pipe)
                .map_err(|error| Failure::Usage(error.to_string()))?;
            announce(&args.address)?;
            let closed = async {
                endpoint
                    .peer()
                    .closed()
                    .await
                    .map_err(|error| Failure::Connection(error.to_string()))
            };
            return until_stopped(args.serve_for, closed).await;
        }
        Address::Quic(_) => return Err(link::quic_not_yet()),
    };
    let served = async {
        match serving.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::Connection(format!("the listener failed: {error}"))),
            Err(error) => Err(Failure::Local(format!("the server task failed: {error}"))),
        }
    };
    let outcome = until_stopped(args.serve_for, served).await;
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
