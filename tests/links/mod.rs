//! Servers over each listener of the transports crate and a client pipe
//! connected to each, shared by the facade's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use netcore::prelude::*;

/// Every wait in these tests ends.
pub async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what} took over 60 s"))
}

/// A server for `routes` on `listener`, serving in a task.
pub fn serve<L: Listener>(routes: Routes, listener: L) -> Server {
    let server = Server::new(routes, ServerConfig::default());
    let _serving = server.spawn(listener);
    server
}

/// A server on a loopback TCP port and a pipe connected to it.
pub async fn over_tcp(routes: Routes) -> (Server, Pipe) {
    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default())
        .await
        .expect("bind");
    let address = listener.local_addr();
    let server = serve(routes, listener);
    let pipe = bounded("connect", tcp::connect(address, &TcpOptions::default()))
        .await
        .expect("connect");
    (server, pipe)
}

/// A server on a Unix socket in a fresh directory (kept alive by the
/// returned guard) and a pipe connected to it.
pub async fn over_unix(routes: Routes) -> (Server, Pipe, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("server.sock");
    let listener =
        netcore::transports::unix::Listener::bind(&path, PipeConfig::default()).expect("bind");
    let server = serve(routes, listener);
    let pipe = bounded("connect", unix::connect(&path, &PipeConfig::default()))
        .await
        .expect("connect");
    (server, pipe, dir)
}

/// A server on a loopback QUIC port with a self-signed certificate, and a
/// pipe connected to it that trusts that certificate.
pub async fn over_quic(routes: Routes) -> (Server, Pipe) {
    use netcore::transports::quic::{self, QuicClientConfig, QuicListener, QuicServerConfig};
    let identity =
        QuicServerConfig::self_signed(&["localhost", "127.0.0.1"]).expect("a certificate");
    let roots = quic::TrustRoots::new()
        .add_der(identity.certificate_der().clone())
        .expect("a trust root");
    let listener =
        QuicListener::bind("127.0.0.1:0".parse().expect("an address"), &identity).expect("bind");
    let address = listener.local_addr().expect("its address");
    let server = serve(routes, listener);
    let pipe = bounded(
        "connect",
        quic::connect(
            address,
            "localhost",
            &QuicClientConfig::new(roots),
            PipeConfig::default(),
        ),
    )
    .await
    .expect("connect");
    (server, pipe)
}
