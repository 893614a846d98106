//! Streamed calls over every transport (issue #17): one `#[service]` with
//! an upload, a download and a duplex method, served over TCP, a Unix
//! socket, QUIC and a serial (pseudo-terminal) pair, each body checked byte
//! for byte. The endpoint layer does not know the medium; these tests make
//! sure that stays true for bodies that stream.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore::prelude::*;

mod links;

use links::bounded;

/// Byte `i` of a test body: varied, so a reordered or dropped chunk shows.
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 9)) as u8
}

/// `len` bytes of the pattern, as a stream of `chunk`-byte pieces.
fn pattern(len: u64, chunk: u64) -> Body {
    Body::stream(futures::stream::iter(0..len.div_ceil(chunk)).map(move |n| {
        let start = n * chunk;
        let end = (start + chunk).min(len);
        Ok::<_, io::Error>((start..end).map(byte).collect::<Bytes>())
    }))
}

fn assert_pattern(body: &[u8], len: u64, what: &str) {
    assert_eq!(body.len() as u64, len, "{what}: length");
    if let Some(i) = (0..len).find(|&i| body[i as usize] != byte(i)) {
        panic!("{what}: byte {i} differs");
    }
}

/// A service whose bodies stream.
#[service(prefix = "/bulk")]
trait Bulk {
    /// The number of bytes uploaded, after checking them against the pattern.
    async fn check(&self, body: Streamed) -> Result<u64, ReplyError>;
    /// `len` bytes of the pattern.
    async fn fetch(&self, len: u64) -> Result<Body, ReplyError>;
    /// The upload back as it arrives.
    async fn echo(&self, body: Streamed) -> Result<Body, ReplyError>;
}

struct Served;

impl Bulk for Served {
    async fn check(&self, Streamed(mut body): Streamed) -> Result<u64, ReplyError> {
        let mut at = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| ReplyError::bad_request(error.to_string()))?;
            for &b in chunk.iter() {
                if b != byte(at) {
                    return Err(ReplyError::bad_request(format!("byte {at} differs")));
                }
                at += 1;
            }
        }
        Ok(at)
    }

    async fn fetch(&self, len: u64) -> Result<Body, ReplyError> {
        Ok(pattern(len, 16 << 10))
    }

    async fn echo(&self, Streamed(body): Streamed) -> Result<Body, ReplyError> {
        Ok(Body::stream(
            body.map(|chunk| chunk.map_err(io::Error::other)),
        ))
    }
}

fn routes() -> Routes {
    bulk::serve(Router::new(), Served).build().expect("routes")
}

/// Uploads, downloads and echoes `len` bytes through `client`, all three
/// at once.
async fn streams_both_ways(client: &Endpoint, len: u64) {
    let bulk = bulk::Client::new(client.peer().clone());
    let upload = async {
        let checked = bounded("the upload", bulk.check(pattern(len, 8 << 10)))
            .await
            .expect("the upload is checked");
        assert_eq!(checked, len);
    };
    let download = async {
        let reply = bounded("the download head", bulk.fetch(len))
            .await
            .expect("the download starts");
        let body = bounded("the download", reply.bytes())
            .await
            .expect("the download ends");
        assert_pattern(&body, len, "the download");
    };
    let duplex = async {
        let reply = bounded("the echo head", bulk.echo(pattern(len, 4 << 10)))
            .await
            .expect("the echo starts");
        let body = bounded("the echo", reply.bytes())
            .await
            .expect("the echo ends");
        assert_pattern(&body, len, "the echo");
    };
    tokio::join!(upload, download, duplex);
}

const LEN: u64 = 3 << 20;

/// The calls through a client over `pipe`, then `server` shuts down.
async fn through(server: Server, pipe: Pipe) {
    let client = Endpoint::builder().start(pipe).expect("a client");
    streams_both_ways(&client, LEN).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_calls_over_tcp() {
    let (server, pipe) = links::over_tcp(routes()).await;
    through(server, pipe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_calls_over_a_unix_socket() {
    let (server, pipe, _dir) = links::over_unix(routes()).await;
    through(server, pipe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_calls_over_quic() {
    let (server, pipe) = links::over_quic(routes()).await;
    through(server, pipe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_calls_over_a_serial_pair() {
    let (device_end, host_end) = serial::pair().expect("a pseudo-terminal pair");
    let _device = Endpoint::builder()
        .config(EndpointConfig::lossy_link())
        .routes(routes())
        .start(device_end)
        .expect("valid routes");
    let host = Endpoint::builder()
        .config(EndpointConfig::lossy_link())
        .start(host_end)
        .expect("a client");
    // A serial line is slow: a smaller body, still many chunks.
    streams_both_ways(&host, 256 << 10).await;
}
