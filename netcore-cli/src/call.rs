//! `netcore call ADDR ROUTE`: one call, its reply printed.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{CallError, CallOptions};

use crate::address::Address;
use crate::failure::Failure;
use crate::link::{self, LinkArgs};
use crate::stats::Reporter;

/// Calls ROUTE at ADDR and prints the reply: pretty JSON on a terminal,
/// the bytes as they came when piped.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore call tcp://127.0.0.1:7000 echo --data hello
  netcore call tcp://127.0.0.1:7000 /users/get --json '{\"id\": 7}' --timeout 2s
  netcore call unix:///run/app.sock upload --data @photo.jpg
  netcore call serial:///dev/ttyUSB0?baud=115200 status --wire python013 --json '{}'
  netcore call quic://127.0.0.1:7443 /echo --data hi --ca cert.pem
  echo hi | netcore call tcp://127.0.0.1:7000 echo --stdin

Exit codes: 0 answered, 1 the peer answered with an error, 2 bad arguments,
3 no connection, 4 no reply in time.")]
pub(crate) struct CallArgs {
    /// Where the peer is: tcp://host:port, unix:///path, serial:///dev/tty?baud=N&parity=P, quic://host:port.
    address: Address,
    /// The route to call (`/users/get`; a Python 0.1.3 peer's routes have no slash).
    route: String,
    /// The body as JSON (checked, then sent as written).
    #[arg(long, group = "body")]
    json: Option<String>,
    /// The body: the text given, or @FILE for a file's bytes.
    #[arg(long, group = "body")]
    data: Option<String>,
    /// The body read from standard input.
    #[arg(long, group = "body")]
    stdin: bool,
    /// How long to wait for the reply (5s, 300ms, 1m).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// A request header, NAME=VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    #[command(flatten)]
    link: LinkArgs,
}

/// The request body the arguments give.
fn body(args: &CallArgs) -> Result<Bytes, Failure> {
    if let Some(json) = &args.json {
        serde_json::from_str::<serde_json::Value>(json)
            .map_err(|error| Failure::Usage(format!("--json is not JSON: {error}")))?;
        return Ok(Bytes::from(json.clone()));
    }
    if let Some(data) = &args.data {
        return match data.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map(Bytes::from)
                .map_err(|error| Failure::Usage(format!("cannot read --data @{path}: {error}"))),
            None => Ok(Bytes::from(data.clone())),
        };
    }
    if args.stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|error| Failure::Local(format!("cannot read standard input: {error}")))?;
        return Ok(Bytes::from(bytes));
    }
    Ok(Bytes::new())
}

/// The call's options: its timeout and headers.
fn options(args: &CallArgs) -> Result<CallOptions, Failure> {
    let mut options = CallOptions::default().with_timeout(Some(args.timeout));
    for header in &args.headers {
        let (name, value) = header
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--header {header:?} is not NAME=VALUE")))?;
        options
            .headers
            .insert(name, Bytes::from(value.to_owned()))
            .map_err(|error| Failure::Usage(format!("--header {name}: {error}")))?;
    }
    Ok(options)
}

pub(crate) async fn run(args: CallArgs, show_stats: bool) -> Result<(), Failure> {
    let body = body(&args)?;
    let options = options(&args)?;
    let endpoint = link::client(&args.address, &args.link).await?;
    let _reporter = Reporter::one(show_stats, args.address.to_string(), endpoint.peer());
    let reply = endpoint
        .peer()
        .call_with(&args.route, body, options)
        .await
        .map_err(|error| call_failure(error, &args.address))?;
    print_reply(&reply.body)?;
    let _ = endpoint.peer().close().await;
    Ok(())
}

/// The command's failure for a call's error.
pub(crate) fn call_failure(error: CallError, address: &Address) -> Failure {
    match error {
        CallError::Timeout(after) => Failure::Timeout(after),
        CallError::Remote(error) => Failure::Remote(error.to_string()),
        CallError::Connection(error) => Failure::Connection(format!("{address}: {error}")),
        other => Failure::Local(other.to_string()),
    }
}

/// Pretty JSON on a terminal, the bytes as they came otherwise.
pub(crate) fn print_reply(body: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    let terminal = stdout.is_terminal();
    let written = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if terminal => serde_json::to_string_pretty(&value)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(stdout, "{text}")),
        _ => stdout.write_all(body).and_then(|()| {
            if terminal && !body.ends_with(b"\n") {
                writeln!(stdout)
            } else {
                Ok(())
            }
        }),
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Local(format!("cannot write the reply: {error}")))
}
