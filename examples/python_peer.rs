//! A Rust peer for Python netcore 0.1.3 programs, over TCP.
//!
//! Serve the routes `echo` (the request body back, route `echo`), `size`
//! (`{"size": <bytes received>}`) and `blob` (`{"size": N}` asks for N bytes
//! of the pattern 0, 1, … 255, 0, …) to Python clients until killed or for N
//! seconds:
//!
//! ```text
//! cargo run --example python_peer -- --listen 127.0.0.1:9000 [--seconds N]
//! ```
//!
//! It prints `listening on ADDR` once it accepts connections. A Python
//! client, with an exact-read transport (see `docs/python-interop.md`):
//!
//! ```python
//! endpoint = Endpoint(Pipe(recv_exact, sock.sendall))
//! reply = endpoint.send('echo', {'x': 1}, blocking_recv=True)
//! ```
//!
//! Or call a Python server once and print the reply:
//!
//! ```text
//! cargo run --example python_peer -- --connect 127.0.0.1:9000 --route echo --data '{"x": 1}'
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use netcore::endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, Json, ReplyCode, ReplyError, Router, Server,
    ServerConfig,
};
use netcore::pipe::PipeConfig;
use netcore::transports::tcp::{self, TcpOptions};
use serde_json::{Value, json};

/// A Rust peer speaking Python netcore 0.1.3's wire format over TCP.
#[derive(Debug, Parser)]
#[command(about, long_about = None)]
struct Args {
    /// Serve `echo` and `size` on this address.
    #[arg(long, conflicts_with = "connect", required_unless_present = "connect")]
    listen: Option<String>,
    /// Stop serving after this many seconds (default: until killed).
    #[arg(long, requires = "listen")]
    seconds: Option<u64>,
    /// Call a Python server at this address once.
    #[arg(long, requires_all = ["route", "data"])]
    connect: Option<String>,
    /// The route to call.
    #[arg(long)]
    route: Option<String>,
    /// The request body: JSON text.
    #[arg(long)]
    data: Option<String>,
    /// How long to wait for the reply (a Python peer sends none for an
    /// unknown route or a failing handler).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn size(body: Bytes) -> Json<Value> {
    Json(json!({ "size": body.len() }))
}

/// The most `blob` hands out in one reply.
const MAX_BLOB: u64 = 256 << 20;

async fn blob(Json(request): Json<Value>) -> Result<Bytes, ReplyError> {
    let size = request.get("size").and_then(Value::as_u64).unwrap_or(0);
    if size > MAX_BLOB {
        return Err(ReplyError::new(
            ReplyCode::BAD_REQUEST,
            format!("blob serves at most {MAX_BLOB} bytes, not {size}"),
        ));
    }
    let pattern: Vec<u8> = (0..=255u8).collect();
    Ok(pattern
        .iter()
        .copied()
        .cycle()
        .take(size as usize)
        .collect::<Vec<u8>>()
        .into())
}

async fn listen(addr: &str, seconds: Option<u64>) -> Result<(), Box<dyn std::error::Error>> {
    let routes = Router::new()
        .route("echo", echo)
        .route("size", size)
        .route("blob", blob)
        .build()?;
    let server = Server::new(
        routes,
        ServerConfig::default().with_endpoint(EndpointConfig::py013()),
    );
    let listener = tcp::Listener::bind(addr, TcpOptions::default()).await?;
    println!("listening on {}", listener.local_addr());
    let serving = server.serve(listener);
    match seconds {
        Some(seconds) => {
            if tokio::time::timeout(Duration::from_secs(seconds), serving)
                .await
                .is_err()
            {
                server.shutdown(Duration::from_secs(1)).await;
            }
        }
        None => serving.await?,
    }
    Ok(())
}

async fn call(
    addr: &str,
    route: &str,
    data: &str,
    timeout: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    // Checked, then sent as written: the Python side gets the exact text.
    serde_json::from_str::<Value>(data).map_err(|error| format!("--data is not JSON: {error}"))?;
    // The pipe is built for the Python format, as the endpoint expects.
    let options = TcpOptions::default().pipe(PipeConfig::py013());
    let endpoint = Endpoint::builder()
        .config(EndpointConfig::py013())
        .start(tcp::connect(addr, &options).await?)?;
    let options = CallOptions::default().with_timeout(Some(timeout));
    let reply = endpoint
        .peer()
        .call_with(route, data.to_owned(), options)
        .await
        .map_err(|error| match error {
            CallError::Timeout(after) => format!(
                "no reply within {after:?}: a Python peer sends nothing for an unknown route or a failing handler"
            ),
            other => other.to_string(),
        })?;
    match std::str::from_utf8(&reply.body) {
        Ok(text) => println!("{text}"),
        Err(_) => println!("<{} bytes of binary data>", reply.body.len()),
    }
    endpoint.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (&args.listen, &args.connect, &args.route, &args.data) {
        (Some(addr), _, _, _) => listen(addr, args.seconds).await,
        (None, Some(addr), Some(route), Some(data)) => {
            call(addr, route, data, Duration::from_secs(args.timeout)).await
        }
        // clap's rules leave no other case.
        _ => Err("give --listen ADDR, or --connect ADDR --route R --data JSON".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
