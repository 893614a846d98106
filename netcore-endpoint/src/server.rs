//! The [`Server`]: many connections, one router.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use netcore_pipe::{IntoPipe, Listener};

use crate::endpoint::{Endpoint, EndpointConfig, Lifecycle};
use crate::events::{Events, LifecycleEvent};
use crate::peer::Peer;
use crate::peer_id::PeerId;
use crate::router::Routes;
use crate::scheduler::Scheduler;

/// Settings of a [`Server`].
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct ServerConfig {
    /// Settings of each connection's endpoint.
    pub endpoint: EndpointConfig,
    /// Most connections at once; further ones are closed as soon as they are
    /// accepted (their pipes see the peer close).
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            endpoint: EndpointConfig::default(),
            max_connections: 1024,
        }
    }
}

struct Inner {
    routes: Routes,
    config: ServerConfig,
    connections: Mutex<HashMap<PeerId, Arc<Endpoint>>>,
    stop: watch::Sender<bool>,
    scheduler: Scheduler,
}

/// Accepts connections from any [`Listener`], runs one [`Endpoint`] per
/// connection with a shared router, and keeps the list of connected peers.
///
/// `netcore_transports::tcp::Listener` (also Unix and QUIC listeners) gives
/// each connection the socket tuning of `tcp::connect`; tokio's own
/// listener works too, with `TCP_NODELAY` only.
///
/// ```no_run
/// use netcore_endpoint::{Router, Server, ServerConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// async fn ping() -> &'static str { "pong" }
/// let server = Server::new(Router::new().route("/ping", ping).build()?, ServerConfig::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:7000").await?;
/// let serving = tokio::spawn({
///     let server = server.clone();
///     async move { server.serve(listener).await }
/// });
/// // … later:
/// server.shutdown(std::time::Duration::from_secs(5)).await;
/// serving.await??;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl Server {
    /// A server answering with `routes`.
    pub fn new(routes: Routes, config: ServerConfig) -> Server {
        Server {
            inner: Arc::new(Inner {
                routes,
                config,
                connections: Mutex::new(HashMap::new()),
                stop: watch::channel(false).0,
                scheduler: Scheduler::new(),
            }),
        }
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, Arc<Endpoint>>> {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The hub every connection reports its lifecycle events to (and the
    /// server its `Started` / `Stopped`); add user events as you like.
    pub fn events(&self) -> &Events {
        &self.inner.config.endpoint.events
    }

    /// The server's scheduler: its tasks stop at [`Server::shutdown`].
    pub fn scheduler(&self) -> &Scheduler {
        &self.inner.scheduler
    }

    /// Accepts connections until [`Server::shutdown`]; returns an error only
    /// if the listener fails for good.
    pub async fn serve<L: Listener>(&self, mut listener: L) -> io::Result<()> {
        let mut stop = self.inner.stop.subscribe();
        self.events().emit_lifecycle(LifecycleEvent::Started);
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.changed() => return Ok(()),
            };
            let (io, address) = match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_transient(&error) => {
                    tracing::debug!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if self.connection_count() >= self.inner.config.max_connections {
                tracing::warn!(address, "connection refused: limit reached");
                drop(io);
                continue;
            }
            self.adopt(io, address);
        }
    }

    /// Runs [`serve`](Server::serve) in a task of its own: the server answers
    /// on `listener` until [`shutdown`](Server::shutdown); the handle gives
    /// how the accept loop ended.
    pub fn spawn<L: Listener>(&self, listener: L) -> tokio::task::JoinHandle<io::Result<()>> {
        let server = self.clone();
        tokio::spawn(async move { server.serve(listener).await })
    }

    /// Serves one connection made elsewhere — a transport or a ready pipe —
    /// as if it had been accepted.
    pub fn adopt(&self, io: impl IntoPipe, address: String) -> Peer {
        let endpoint = Arc::new(Endpoint::start(
            io,
            Some(self.inner.routes.clone()),
            self.inner.config.endpoint.clone(),
            Lifecycle::Server,
        ));
        let peer = endpoint.peer().clone();
        let id = peer.id();
        tracing::debug!(%id, address, "peer connected");
        self.connections().insert(id, endpoint);
        let server = self.clone();
        let watcher = peer.clone();
        tokio::spawn(async move {
            let outcome = watcher.closed().await;
            tracing::debug!(%id, ?outcome, "peer disconnected");
            server.connections().remove(&id);
        });
        peer
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<Peer> {
        self.connections()
            .values()
            .map(|endpoint| endpoint.peer().clone())
            .collect()
    }

    /// The connected peer with this id.
    pub fn peer(&self, id: PeerId) -> Option<Peer> {
        self.connections()
            .get(&id)
            .map(|endpoint| endpoint.peer().clone())
    }

    /// How many peers are connected.
    pub fn connection_count(&self) -> usize {
        self.connections().len()
    }

    /// Notifies every connected peer; returns how many it reached.
    pub async fn broadcast(&self, route: &str, body: Bytes) -> usize {
        let sends = self.peers().into_iter().map(|peer| {
            let body = body.clone();
            async move { peer.notify(route, body).await.is_ok() }
        });
        futures::future::join_all(sends)
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count()
    }

    /// Stops accepting, closes every connection gracefully (calls in flight
    /// finish) and waits up to `grace` for them; connections still open then
    /// are dropped.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.stop.send_replace(true);
        self.inner.scheduler.shutdown();
        let endpoints: Vec<Arc<Endpoint>> = self.connections().values().cloned().collect();
        let closing = endpoints.iter().map(|endpoint| endpoint.close());
        if tokio::time::timeout(grace, futures::future::join_all(closing))
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace period over; dropping remaining connections");
        }
        self.connections().clear();
        self.events().emit_lifecycle(LifecycleEvent::Stopped);
    }
}

/// Whether an accept error concerns one connection or a passing shortage,
/// so the accept loop carries on (as `accept(2)` advises) rather than ends.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::OutOfMemory
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable
    ) || matches!(
        error.raw_os_error(),
        // ENOMEM, ENFILE, EMFILE, EPROTO, ENOBUFS on Linux; WSAEMFILE on Windows.
        Some(12 | 23 | 24 | 71 | 105 | 10024)
    )
}
