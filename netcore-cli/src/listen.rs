//! `netcore listen ADDR`: prints every incoming message.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{RequestContext, Router};

use crate::address::Address;
use crate::failure::Failure;
use crate::link::LinkArgs;
use crate::serve;

/// Listens at ADDR and prints every message that comes — calls and
/// notifications on any route — one line each on standard output: the
/// route, the peer, the size, the headers and the body (as text when it is
/// text, else as hex). Calls get an empty reply.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  netcore listen tcp://127.0.0.1:7000
  netcore listen serial:///dev/ttyUSB0?baud=115200 --show 64
  netcore listen tcp://127.0.0.1:9000 --wire python013

A line looks like:
  /sensors/temp from peer 1: 5 bytes [nc-deadline-ms=5000] \"21.5C\"")]
pub(crate) struct ListenArgs {
    /// Where to listen: tcp://host:port, unix:///path, serial:///dev/tty?baud=N, quic://host:port.
    address: Address,
    /// How many bytes of each body to show.
    #[arg(long, default_value_t = 200)]
    show: usize,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    listen_for: Option<Duration>,
    #[command(flatten)]
    link: LinkArgs,
}

pub(crate) async fn run(args: ListenArgs, stats: bool) -> Result<(), Failure> {
    let show = args.show;
    let routes = Router::new()
        .fallback(move |body: Bytes| async move {
            let line = match RequestContext::current() {
                Some(request) => describe(
                    request.route(),
                    &format!("peer {}", request.peer().id()),
                    request
                        .headers()
                        .iter()
                        .map(|(name, value)| (name.to_owned(), value.clone())),
                    &body,
                    show,
                ),
                None => describe("?", "?", std::iter::empty(), &body, show),
            };
            if let Err(error) = serve::say(line) {
                eprintln!("netcore: {error}");
            }
        })
        .build()
        .map_err(|error| Failure::Usage(error.to_string()))?;
    serve::serve(&args.address, &args.link, routes, args.listen_for, stats).await
}

/// One message as a line: route, peer, size, headers, body.
fn describe(
    route: &str,
    peer: &str,
    headers: impl Iterator<Item = (String, Bytes)>,
    body: &[u8],
    show: usize,
) -> String {
    let mut line = format!("{route} from {peer}: {} bytes", body.len());
    let headers: Vec<String> = headers
        .map(|(name, value)| format!("{name}={}", String::from_utf8_lossy(&value)))
        .collect();
    if !headers.is_empty() {
        let _ = write!(line, " [{}]", headers.join(" "));
    }
    if body.is_empty() {
        return line;
    }
    let shown = &body[..body.len().min(show)];
    let more = if shown.len() < body.len() { "…" } else { "" };
    match std::str::from_utf8(shown) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            let _ = write!(line, " {text:?}{more}");
        }
        _ => {
            let hex: String = shown.iter().map(|byte| format!("{byte:02x}")).collect();
            let _ = write!(line, " 0x{hex}{more}");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_as_text_and_binary_as_hex() {
        let headers = || vec![("k".to_owned(), Bytes::from_static(b"v"))].into_iter();
        assert_eq!(
            describe("/t", "peer 1", headers(), b"21.5C", 200),
            "/t from peer 1: 5 bytes [k=v] \"21.5C\""
        );
        assert_eq!(
            describe("/b", "peer 2", std::iter::empty(), &[0, 1, 255], 200),
            "/b from peer 2: 3 bytes 0x0001ff"
        );
        assert_eq!(
            describe("/l", "peer 3", std::iter::empty(), b"abcdef", 3),
            "/l from peer 3: 6 bytes \"abc\"…"
        );
        assert_eq!(
            describe("/e", "peer 4", std::iter::empty(), b"", 3),
            "/e from peer 4: 0 bytes"
        );
    }
}
