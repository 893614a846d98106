//! Unix domain sockets end to end: messages both ways, a 64 MiB message, a
//! graceful close, a peer that dies mid-transfer, the socket file's life, and
//! errors that name the path.
//!
//! Every step is bounded by `tokio::time::timeout` as a failure guard only;
//! assertions are about content and order.
#![cfg(all(feature = "unix", unix))]

mod scenarios;

use std::io;
use std::path::{Path, PathBuf};

use netcore_transports::pipe::{Message, Pipe, PipeConfig};
use netcore_transports::{Address, Error, unix};
use scenarios::{KIB, MIB, guarded, streaming};
use tokio::net::UnixStream;

/// A fresh directory for socket files, removed at the end of the test.
fn socket_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn socket_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("netcore.sock")
}

/// A client and a server pipe connected through a socket at `path`.
async fn pipes_at(path: &Path, config: &PipeConfig) -> (Pipe, Pipe) {
    let listener = unix::Listener::bind(path, config.clone()).expect("bind");
    let (client, server) = guarded("connect", async {
        tokio::join!(unix::connect(path, config), listener.accept())
    })
    .await;
    (client.expect("connect"), server.expect("accept").0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_messages_each_way_at_once() {
    let dir = socket_dir();
    let (a, b) = pipes_at(&socket_path(&dir), &PipeConfig::default()).await;
    scenarios::concurrent_both_ways(&a, &b, 50, 256 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_64_mib_message() {
    let dir = socket_dir();
    let (a, b) = pipes_at(&socket_path(&dir), &PipeConfig::default()).await;
    scenarios::large_message(&a, &b, 64 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_close_lets_messages_in_flight_finish() {
    let dir = socket_dir();
    let (a, b) = pipes_at(&socket_path(&dir), &PipeConfig::default()).await;
    scenarios::graceful_close(a, b, 8, 2 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_dies_mid_transfer_fails_the_sender_without_a_hang() {
    let dir = socket_dir();
    let path = socket_path(&dir);
    let config = PipeConfig::default();
    let listener = unix::Listener::bind(&path, config.clone()).expect("bind");
    let (client, server) = guarded("connect", async {
        tokio::join!(unix::connect(&path, &config), listener.accept_stream())
    })
    .await;
    let a = client.expect("connect");
    // The peer's socket moves to the peer's own runtime, where it dies.
    let server = server.expect("accept").0.into_std().expect("a std socket");
    let start_peer = move || {
        let server = UnixStream::from_std(server).expect("register the socket");
        unix::from_stream(server, &streaming(PipeConfig::default()))
    };
    scenarios::peer_dies_mid_transfer(a, start_peer, 64 * MIB, MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_over_a_socket_pair() {
    let (a, b) = UnixStream::pair().expect("a socket pair");
    let a = unix::from_stream(a, &PipeConfig::default());
    let b = unix::from_stream(b, &PipeConfig::default());
    scenarios::concurrent_both_ways(&a, &b, 10, 16 * KIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_removes_its_socket_file() {
    let dir = socket_dir();
    let path = socket_path(&dir);
    let listener = unix::Listener::bind(&path, PipeConfig::default()).expect("bind");
    assert_eq!(listener.path(), Some(path.as_path()));
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists(), "the socket file outlived its listener");
    // So the path can be bound again at once.
    let config = PipeConfig::default();
    let again = unix::Listener::bind(&path, config.clone()).expect("bind again");
    let (a, b) = guarded("connect", async {
        tokio::join!(unix::connect(&path, &config), again.accept())
    })
    .await;
    let (a, (b, _)) = (a.expect("connect"), b.expect("accept"));
    a.send(Message::new("again")).expect("send");
    let got = guarded("recv", b.recv()).await.expect("message");
    assert_eq!(got.body.to_bytes().await.expect("body"), "again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_path_in_use_names_it() {
    let dir = socket_dir();
    let path = socket_path(&dir);
    let _taken = unix::Listener::bind(&path, PipeConfig::default()).expect("bind");
    let error = unix::Listener::bind(&path, PipeConfig::default()).expect_err("the path is taken");
    assert!(
        matches!(&error, Error::Bind { local: Address::Unix(local), .. } if *local == path),
        "{error:?}"
    );
    assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_missing_socket_names_the_path() {
    let dir = socket_dir();
    let path = socket_path(&dir);
    let error = guarded("connect", unix::connect(&path, &PipeConfig::default()))
        .await
        .expect_err("nobody listens there");
    assert!(
        matches!(&error, Error::Connect { peer: Address::Unix(peer), .. } if *peer == path),
        "{error:?}"
    );
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}
