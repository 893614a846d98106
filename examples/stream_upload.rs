//! An upload of any size through a `#[service]`: the method takes its body
//! as [`Streamed`] and reads it chunk by chunk; the generated client takes
//! any [`Body`] in its place — here a stream made on the fly, never held
//! whole. The server writes the upload to disk as it arrives and answers
//! with what it stored.
//!
//! Run it with `cargo run --release --example stream_upload [-- MIB]`
//! (32 MiB unless told). The streaming guide,
//! `netcore_endpoint::guide::streaming`, walks through it.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use netcore::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What the server stored.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stored {
    /// Bytes written.
    pub bytes: u64,
    /// A checksum of them (FNV-1a), to compare with the sender's.
    pub checksum: u64,
}

/// A file store: its upload streams, so a file of any size goes up with a
/// bounded amount of memory on both sides.
#[service(prefix = "/store", crate = netcore::endpoint)]
pub trait Store {
    /// Stores `body` under `name`.
    async fn put(&self, name: String, body: Streamed) -> Result<Stored, ReplyError>;
}

/// FNV-1a over a stream of chunks.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

struct Disk {
    dir: PathBuf,
}

impl Store for Disk {
    async fn put(&self, name: String, Streamed(mut body): Streamed) -> Result<Stored, ReplyError> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(ReplyError::bad_request(format!(
                "not a file name: {name:?}"
            )));
        }
        let io = |error: std::io::Error| ReplyError::internal(format!("{name}: {error}"));
        let mut file = tokio::fs::File::create(self.dir.join(&name))
            .await
            .map_err(io)?;
        let (mut bytes, mut checksum) = (0, Fnv::new());
        while let Some(chunk) = body.next().await {
            // A body cut short (the caller cancelled, the link failed)
            // stores nothing that looks complete.
            let chunk = chunk.map_err(|error| ReplyError::bad_request(error.to_string()))?;
            checksum.update(&chunk);
            bytes += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(Stored {
            bytes,
            checksum: checksum.0,
        })
    }
}

/// `len` pseudo-random bytes in 64 KiB chunks, made as they are read.
fn generated(len: u64, seed: u64) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    const CHUNK: u64 = 64 << 10;
    futures::stream::iter(0..len.div_ceil(CHUNK)).map(move |n| {
        let size = (len - n * CHUNK).min(CHUNK) as usize;
        let mut state = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let chunk: Bytes = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        Ok(chunk)
    })
}

/// The checksum of what [`generated`] makes, computed the same way.
async fn checksum_of(stream: impl Stream<Item = std::io::Result<Bytes>>) -> AnyResult<(u64, u64)> {
    let mut stream = std::pin::pin!(stream);
    let (mut bytes, mut checksum) = (0, Fnv::new());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        checksum.update(&chunk);
        bytes += chunk.len() as u64;
    }
    Ok((bytes, checksum.0))
}

#[tokio::main]
async fn main() -> AnyResult<()> {
    let mib: u64 = std::env::args().nth(1).map_or(Ok(32), |n| n.parse())?;
    let len = mib << 20;
    let dir = tempfile::tempdir()?;

    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
    let address = listener.local_addr();
    let routes = store::serve(
        Router::new(),
        Disk {
            dir: dir.path().to_owned(),
        },
    )
    .build()?;
    let server = Server::new(routes, ServerConfig::default());
    let _serving = server.spawn(listener);

    let client = Endpoint::builder().start(tcp::connect(address, &TcpOptions::default()).await?)?;
    let store = store::Client::new(client.peer().clone());
    let started = Instant::now();
    let stored = store
        .put("upload.bin".to_owned(), Body::stream(generated(len, 7)))
        .await?;
    let elapsed = started.elapsed();
    println!(
        "uploaded {} bytes in {elapsed:.2?} ({:.0} MB/s)",
        stored.bytes,
        stored.bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    let (sent, checksum) = checksum_of(generated(len, 7)).await?;
    if (stored.bytes, stored.checksum) != (sent, checksum) {
        return Err(
            format!("stored {stored:?}, sent {sent} bytes with checksum {checksum:#x}").into(),
        );
    }
    let on_disk = std::fs::metadata(dir.path().join("upload.bin"))?.len();
    if on_disk != len {
        return Err(format!("{on_disk} bytes on disk, {len} sent").into());
    }
    println!("the server stored every byte: checksum {checksum:#018x}");

    client.peer().close().await?;
    server.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
