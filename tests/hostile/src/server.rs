//! The server under attack and the honest client that checks it still
//! serves.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{Endpoint, Router, Routes, Server, ServerConfig, Streamed};
use netcore_pipe::PipeConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Route answering `pong`.
pub const PING_ROUTE: &str = "/ping";
/// Route answering [`BIG_REPLY`] bytes.
pub const BIG_ROUTE: &str = "/big";
/// Size of the `/big` reply: 8 MiB, far more than kernel socket buffers.
pub const BIG_REPLY: usize = 8 << 20;
/// Route that sleeps [`SLOW_FOR`] and answers `slow`.
pub const SLOW_ROUTE: &str = "/slow";
/// How long `/slow` takes.
pub const SLOW_FOR: Duration = Duration::from_secs(2);
/// Route answering its request body.
pub const ECHO_ROUTE: &str = "/echo";
/// Route that takes its body as a stream, never reads it, and answers
/// `held` after [`HOLD_FOR`].
pub const HOLD_ROUTE: &str = "/hold";
/// How long `/hold` keeps its unread body.
pub const HOLD_FOR: Duration = Duration::from_secs(5);

/// The routes every attacked server serves: `/ping`, `/big`, `/slow`,
/// `/echo`, `/hold`.
pub fn routes() -> Routes {
    // A constant router: its paths are valid and distinct.
    let big = Bytes::from(vec![0x5A; BIG_REPLY]);
    Router::new()
        .route(PING_ROUTE, || async { "pong" })
        .route(BIG_ROUTE, move || {
            let big = big.clone();
            async move { big }
        })
        .route(SLOW_ROUTE, || async {
            tokio::time::sleep(SLOW_FOR).await;
            "slow"
        })
        .route(ECHO_ROUTE, |body: Bytes| async move { body })
        .route(HOLD_ROUTE, |body: Streamed| async move {
            tokio::time::sleep(HOLD_FOR).await;
            drop(body);
            "held"
        })
        .build()
        .unwrap_or_else(|error| panic!("the test router is valid: {error}"))
}

/// A [`Server`] serving [`routes`] on a 127.0.0.1 port; its accept loop
/// stops when this is dropped.
#[derive(Debug)]
pub struct TestServer {
    /// The server.
    pub server: Server,
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<io::Result<()>>,
}

impl TestServer {
    /// Starts a server with `config` on a fresh 127.0.0.1 port.
    pub async fn start(config: ServerConfig) -> io::Result<TestServer> {
        TestServer::start_with(routes(), config).await
    }

    /// Starts a server with `routes` and `config` on a fresh 127.0.0.1 port.
    pub async fn start_with(routes: Routes, config: ServerConfig) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = Server::new(routes, config);
        let task = server.spawn(listener);
        Ok(TestServer { server, addr, task })
    }

    /// Starts a server with `config` and connects one raw attacker to it,
    /// past the handshake (a default HELLO).
    pub async fn with_attacker(config: ServerConfig) -> (TestServer, crate::RawPeer) {
        let server = TestServer::start(config).await.expect("server");
        let hello = crate::wire::HelloFields::default();
        let attacker = crate::RawPeer::handshake(server.addr, &hello, Duration::from_secs(5))
            .await
            .expect("handshake");
        (server, attacker)
    }

    /// Waits up to `wait` for the connection count to come down to `at_most`;
    /// returns the last count seen.
    pub async fn connections_down_to(&self, at_most: usize, wait: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let count = self.server.connection_count();
            if count <= at_most || tokio::time::Instant::now() >= deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An honest Netcore client (an [`Endpoint`] without routes over TCP).
pub async fn client(addr: SocketAddr, pipe: PipeConfig) -> io::Result<Endpoint> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = netcore_endpoint::EndpointConfig::over(pipe);
    Endpoint::builder()
        .config(config)
        .start(stream)
        .map_err(io::Error::other)
}

/// Whether a fresh honest client gets `pong` from `/ping` within `wait`.
/// The error says what happened instead.
pub async fn fresh_client_served(addr: SocketAddr, wait: Duration) -> Result<(), String> {
    let attempt = async {
        let client = client(addr, PipeConfig::default())
            .await
            .map_err(|error| format!("could not connect: {error}"))?;
        let reply = client
            .peer()
            .call(PING_ROUTE, "")
            .await
            .map_err(|error| format!("the call failed: {error}"))?;
        if reply.body == "pong" {
            Ok(())
        } else {
            Err(format!("unexpected reply {:?}", reply.body))
        }
    };
    tokio::time::timeout(wait, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no reply within {wait:?}")))
}
