//! A download of any size: a handler answers with a file, sent as it is
//! read ([`Body::file`]); the client saves the reply to a file as it arrives
//! ([`StreamedResponse::save`]). Neither side holds more of it than the
//! flow-control windows, however large the file is.
//!
//! Run it with `cargo run --release --example stream_download [-- MIB]`
//! (32 MiB unless told). The streaming guide,
//! `netcore_endpoint::guide::streaming`, walks through it.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netcore::prelude::*;

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Byte `i` of the test file: varied, so a reordered or lost chunk shows.
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 9)) as u8
}

/// Writes `len` bytes of the pattern to `path`.
fn write_pattern(path: &Path, len: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(block.len() as u64) as usize;
        for (k, b) in block[..n].iter_mut().enumerate() {
            *b = byte(at + k as u64);
        }
        file.write_all(&block[..n])?;
        at += n as u64;
    }
    file.flush()
}

/// The first byte where `path` differs from the pattern, if any.
fn first_difference(path: &Path, len: u64) -> std::io::Result<Option<u64>> {
    let data = std::fs::read(path)?;
    if data.len() as u64 != len {
        return Ok(Some(data.len().min(len as usize) as u64));
    }
    Ok((0..len).find(|&i| data[i as usize] != byte(i)))
}

/// The server's one route: `/files/get` answers with the file named by the
/// request body, streamed from disk.
fn routes(shared: Arc<PathBuf>) -> Routes {
    Router::new()
        .route("/files/get", move |name: String| {
            let shared = Arc::clone(&shared);
            async move {
                // A name is a file name, not a path: nothing outside the
                // shared directory can be asked for.
                if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                    return Err(ReplyError::bad_request(format!(
                        "not a file name: {name:?}"
                    )));
                }
                Body::file(shared.join(&name)).await.map_err(|error| {
                    ReplyError::new(ReplyCode::NOT_FOUND, format!("{name}: {error}"))
                })
            }
        })
        .build()
        .expect("valid routes")
}

#[tokio::main]
async fn main() -> AnyResult<()> {
    let mib: u64 = std::env::args().nth(1).map_or(Ok(32), |n| n.parse())?;
    let len = mib << 20;
    let dir = tempfile::tempdir()?;
    let shared = Arc::new(dir.path().join("shared"));
    std::fs::create_dir(&*shared)?;
    write_pattern(&shared.join("big.bin"), len)?;

    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
    let address = listener.local_addr();
    let server = Server::new(routes(Arc::clone(&shared)), ServerConfig::default());
    let _serving = server.spawn(listener);

    let client = Endpoint::builder().start(tcp::connect(address, &TcpOptions::default()).await?)?;
    let started = Instant::now();
    let reply = client
        .peer()
        .call_streamed("/files/get", "big.bin", CallOptions::default())
        .await?;
    println!(
        "reply head after {:?}: {:?} bytes to come",
        started.elapsed(),
        reply.len()
    );
    let saved_to = dir.path().join("downloaded.bin");
    let saved = reply.save(&saved_to).await?;
    let elapsed = started.elapsed();
    println!(
        "downloaded {saved} bytes in {elapsed:.2?} ({:.0} MB/s)",
        saved as f64 / elapsed.as_secs_f64() / 1e6
    );
    if let Some(at) = first_difference(&saved_to, len)? {
        return Err(format!("the download differs from the file at byte {at}").into());
    }
    println!("the saved file matches the served one byte for byte");

    // A name the server refuses comes back as a typed error, not a stream.
    match client
        .peer()
        .call_streamed("/files/get", "missing.bin", CallOptions::default())
        .await
    {
        Err(CallError::Remote(error)) if error.code == ReplyCode::NOT_FOUND => {
            println!("a missing file: {error}");
        }
        other => return Err(format!("a missing file was not refused: {other:?}").into()),
    }

    client.peer().close().await?;
    server.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
