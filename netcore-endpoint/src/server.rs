//! The [`Server`]: many connections, one router.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

use netcore_pipe::{IntoPipe, Listener, Pipe, ReceiveMode};

use crate::admission::SharedPlaces;
use crate::body_budget::BodyBudget;
use crate::endpoint::{Endpoint, EndpointConfig, Lifecycle, ServerShares};
use crate::events::{Events, LifecycleEvent};
use crate::peer::Peer;
use crate::peer_id::PeerId;
use crate::router::Routes;
use crate::scheduler::Scheduler;

/// Settings of a [`Server`].
///
/// A connection goes through two stages, each with its own bound: from
/// accept until its peer's HELLO it is *pending* (counted against
/// [`max_pending_handshakes`](Self::max_pending_handshakes), dropped after
/// [`handshake_timeout`](Self::handshake_timeout), and it runs nothing:
/// no endpoint, no routes); from HELLO on it is *live* (counted against
/// [`max_connections`](Self::max_connections), listed by
/// [`Server::peers`]). Both stages count toward
/// [`max_connections_per_address`](Self::max_connections_per_address).
/// Connections over a bound are closed at once, with a WARN log naming the
/// peer's address and the bound.
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct ServerConfig {
    /// Settings of each connection's endpoint.
    pub endpoint: EndpointConfig,
    /// Most live connections (peers that said HELLO) at once; further ones
    /// are closed when accepted, or when their HELLO comes if the limit was
    /// reached meanwhile (their pipes see the peer close). Default 1024.
    pub max_connections: usize,
    /// Most connections at once still waiting for their peer's HELLO. When
    /// a new connection finds them all taken, the one that has waited
    /// longest is dropped to make room: an honest client says HELLO within
    /// a round trip, so peers that connect and say nothing cannot lock out
    /// those that speak (they would have to open connections faster than an
    /// honest handshake completes). They do not count toward
    /// [`max_connections`](Self::max_connections). Default 256: plenty for
    /// a burst of honest clients.
    pub max_pending_handshakes: usize,
    /// How long a connection may take to say HELLO before it is dropped
    /// (the pipe's own `CoreConfig::handshake_timeout` bounds this too).
    /// Default 10 s: a round trip or two on any real link, with room for a
    /// TLS or QUIC handshake below. `None`: wait as long as the pipe does.
    pub handshake_timeout: Option<Duration>,
    /// Most connections at once from one peer address, pending and live
    /// together; further ones are closed when accepted. The address is the
    /// listener's: for `ip:port` (or `[v6]:port`) its IP (IPv4-mapped IPv6
    /// counts as the IPv4 address), any other address (a Unix socket's, say)
    /// as a whole.
    ///
    /// Default `None` (no per-address limit): many honest clients often share
    /// one address — behind NAT, a reverse proxy, a load balancer, or on
    /// loopback — and a default limit would refuse them, while a hostile
    /// peer with IPv6 has addresses to spare. The limits that hold whatever
    /// the addresses are `max_connections` and `max_pending_handshakes`; set
    /// this when clients come directly from their own addresses (a quarter
    /// of `max_connections` keeps one address from taking all).
    pub max_connections_per_address: Option<usize>,
    /// Most bytes of request bodies collected in memory (for routes that
    /// take their body whole) by all connections together. Under a server
    /// this takes the place of each connection's
    /// [`EndpointConfig::max_buffered_request_bytes`], with the same rules
    /// (a body waits for room without being read, so its sender is held
    /// back by flow control; one larger than all of it is refused with
    /// [`ReplyCode::TOO_LARGE`](crate::ReplyCode::TOO_LARGE)), so that many
    /// connections cannot each hold their own share. Default 256 MiB.
    pub max_buffered_request_bytes: u64,
    /// Request places (a request running, or queued for a handler slot)
    /// each connection has of its own. Past them, up to its
    /// [`max_concurrent_handlers`](EndpointConfig::max_concurrent_handlers)
    /// \+ [`max_queued_requests`](EndpointConfig::max_queued_requests), each
    /// request also takes one of the server's
    /// [`shared_request_places`](Self::shared_request_places); while none is
    /// free, the connection stops reading new requests (its peer is held
    /// back by flow control, nothing is refused or lost) and waits its turn
    /// (first come, first served). So a connection always has a few places,
    /// however many others hold. Default 8.
    pub own_request_places: usize,
    /// Request places all connections share beyond their own: with them,
    /// the requests the server holds at once — and the memory each costs,
    /// about 6 KiB before its body and reply — stay under `connections ×
    /// own_request_places + shared_request_places`, hostile connections
    /// included. Default 4096: one connection alone can still use all of
    /// its 512 places, as many as 4096 calls in flight across connections.
    pub shared_request_places: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            endpoint: EndpointConfig::default(),
            max_connections: 1024,
            max_pending_handshakes: 256,
            handshake_timeout: Some(Duration::from_secs(10)),
            max_connections_per_address: None,
            max_buffered_request_bytes: 256 << 20,
            own_request_places: 8,
            shared_request_places: 4096,
        }
    }
}

/// The connections of a server, by stage, and their count per address.
#[derive(Default)]
struct Connections {
    /// Live: their peers said HELLO.
    live: HashMap<PeerId, Arc<Endpoint>>,
    /// Live connections whose endpoint is being started.
    starting: usize,
    /// Waiting for HELLO: the accepted ones (running no endpoint yet),
    /// oldest first, each with what drops it to make room for a newer one.
    pending: VecDeque<(u64, oneshot::Sender<()>)>,
    /// The ticket of the next pending connection.
    next_ticket: u64,
    /// Waiting for HELLO: the adopted ones (their endpoint runs already).
    adopted: HashMap<PeerId, Arc<Endpoint>>,
    /// Pending and live connections per address key.
    per_address: HashMap<String, usize>,
}

impl Connections {
    fn live_count(&self) -> usize {
        self.live.len() + self.starting
    }

    fn pending_count(&self) -> usize {
        self.pending.len() + self.adopted.len()
    }

    /// Why a connection from `key` must be refused now, if it must.
    fn refusal(&self, config: &ServerConfig, key: &str) -> Option<String> {
        if self.live_count() >= config.max_connections {
            return Some(format!(
                "connection limit reached (max_connections = {})",
                config.max_connections
            ));
        }
        if self.pending_count() >= config.max_pending_handshakes && self.pending.is_empty() {
            return Some(format!(
                "too many connections waiting for their HELLO (max_pending_handshakes = {})",
                config.max_pending_handshakes
            ));
        }
        let from_here = self.per_address.get(key).copied().unwrap_or(0);
        match config.max_connections_per_address {
            Some(limit) if from_here >= limit => Some(format!(
                "too many connections from this address (max_connections_per_address = {limit})"
            )),
            _ => None,
        }
    }

    fn address_gone(&mut self, key: &str) {
        if let Some(count) = self.per_address.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_address.remove(key);
            }
        }
    }
}

/// The key a peer address is counted under for
/// [`ServerConfig::max_connections_per_address`]: the IP of an `ip:port`
/// address, the whole address otherwise.
fn address_key(address: &str) -> String {
    let ip = address
        .parse::<std::net::SocketAddr>()
        .map(|socket| socket.ip())
        .or_else(|_| address.parse::<std::net::IpAddr>());
    match ip {
        Ok(ip) => ip.to_canonical().to_string(),
        Err(_) => address.to_owned(),
    }
}

struct Inner {
    routes: Routes,
    config: ServerConfig,
    /// What all connections share: room for collected request bodies,
    /// request places beyond their own.
    shares: ServerShares,
    connections: Mutex<Connections>,
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
                shares: ServerShares {
                    body_budget: BodyBudget::new(config.max_buffered_request_bytes),
                    places: SharedPlaces::new(
                        config.shared_request_places,
                        config.own_request_places,
                    ),
                },
                config,
                connections: Mutex::new(Connections::default()),
                stop: watch::channel(false).0,
                scheduler: Scheduler::new(),
            }),
        }
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, Connections> {
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
    ///
    /// Each connection accepted waits for its peer's HELLO before an
    /// endpoint serves it; the limits of [`ServerConfig`] apply at accept
    /// and again at HELLO.
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
            let key = address_key(&address);
            let (ticket, evicted) = {
                let mut connections = self.connections();
                if let Some(why) = connections.refusal(&self.inner.config, &key) {
                    drop(connections);
                    tracing::warn!(address, why, "connection refused");
                    drop(io);
                    continue;
                }
                if connections.pending_count() >= self.inner.config.max_pending_handshakes
                    && let Some((_, evict)) = connections.pending.pop_front()
                {
                    tracing::warn!(
                        max_pending_handshakes = self.inner.config.max_pending_handshakes,
                        "dropping the connection that waited longest for its HELLO to make room"
                    );
                    let _ = evict.send(());
                }
                let ticket = connections.next_ticket;
                connections.next_ticket += 1;
                let (evict, evicted) = oneshot::channel();
                connections.pending.push_back((ticket, evict));
                *connections.per_address.entry(key.clone()).or_default() += 1;
                (ticket, evicted)
            };
            let mut pipe_config = self.inner.config.endpoint.pipe.clone();
            pipe_config.receive = ReceiveMode::Streaming;
            let pipe = io.into_pipe(pipe_config);
            tokio::spawn(self.clone().handshake(pipe, address, key, ticket, evicted));
        }
    }

    /// An accepted connection until its HELLO (or its end, or the
    /// handshake timeout), then live under its own endpoint if the limit
    /// allows, until it ends.
    async fn handshake(
        self,
        pipe: Pipe,
        address: String,
        key: String,
        ticket: u64,
        evicted: oneshot::Receiver<()>,
    ) {
        let mut stop = self.inner.stop.subscribe();
        let hello = tokio::select! {
            hello = wait_hello(&pipe, self.inner.config.handshake_timeout) => hello,
            _ = stop.wait_for(|stop| *stop) => Err("the server is shutting down".to_owned()),
            Ok(()) = evicted => Err(format!(
                "no HELLO yet and max_pending_handshakes = {} newer connections came",
                self.inner.config.max_pending_handshakes
            )),
        };
        let admitted = {
            let mut connections = self.connections();
            connections
                .pending
                .retain(|(pending, _)| *pending != ticket);
            let admitted = match hello {
                Err(why) => Err(why),
                Ok(()) if *self.inner.stop.borrow() => {
                    Err("the server is shutting down".to_owned())
                }
                Ok(()) if connections.live_count() >= self.inner.config.max_connections => {
                    Err(format!(
                        "connection limit reached (max_connections = {}) when its HELLO came",
                        self.inner.config.max_connections
                    ))
                }
                Ok(()) => Ok(()),
            };
            match admitted {
                Ok(()) => connections.starting += 1,
                Err(_) => connections.address_gone(&key),
            }
            admitted
        };
        if let Err(why) = admitted {
            tracing::warn!(address, why, "connection dropped before it was served");
            // No graceful close for a peer that never said HELLO: it would
            // wait `close_grace` for an answer that will not come.
            pipe.abort();
            return;
        }
        let endpoint = Arc::new(Endpoint::start(
            pipe,
            Some(self.inner.routes.clone()),
            self.inner.config.endpoint.clone(),
            Lifecycle::Server,
            Some(self.inner.shares.clone()),
        ));
        let peer = endpoint.peer().clone();
        let id = peer.id();
        tracing::info!(%id, address, "peer connected");
        {
            let mut connections = self.connections();
            connections.starting = connections.starting.saturating_sub(1);
            connections.live.insert(id, endpoint);
        }
        if *self.inner.stop.borrow() {
            // Shutdown began while it started: it missed the close.
            self.connections().live.remove(&id);
        }
        let outcome = peer.closed().await;
        tracing::info!(%id, ?outcome, "peer disconnected");
        let mut connections = self.connections();
        connections.live.remove(&id);
        connections.address_gone(&key);
    }

    /// Runs [`serve`](Server::serve) in a task of its own: the server answers
    /// on `listener` until [`shutdown`](Server::shutdown); the handle gives
    /// how the accept loop ended.
    pub fn spawn<L: Listener>(&self, listener: L) -> tokio::task::JoinHandle<io::Result<()>> {
        let server = self.clone();
        tokio::spawn(async move { server.serve(listener).await })
    }

    /// Serves one connection made elsewhere — a transport or a ready pipe —
    /// as if it had been accepted, though no limit refuses it: its endpoint
    /// runs at once (the peer it returns can call right away). It counts as
    /// pending, and toward its `address`'s connections, until its peer's
    /// HELLO, then as live; it is dropped if no HELLO comes within
    /// [`ServerConfig::handshake_timeout`].
    pub fn adopt(&self, io: impl IntoPipe, address: String) -> Peer {
        let endpoint = Arc::new(Endpoint::start(
            io,
            Some(self.inner.routes.clone()),
            self.inner.config.endpoint.clone(),
            Lifecycle::Server,
            Some(self.inner.shares.clone()),
        ));
        let peer = endpoint.peer().clone();
        let id = peer.id();
        let key = address_key(&address);
        tracing::debug!(%id, address, "connection adopted");
        {
            let mut connections = self.connections();
            connections.adopted.insert(id, endpoint);
            *connections.per_address.entry(key.clone()).or_default() += 1;
        }
        let server = self.clone();
        let watcher = peer.clone();
        tokio::spawn(async move {
            let hello =
                wait_hello(&watcher.inner.pipe, server.inner.config.handshake_timeout).await;
            {
                let mut connections = server.connections();
                let endpoint = connections.adopted.remove(&id);
                match (&hello, endpoint) {
                    (Ok(()), Some(endpoint)) => {
                        connections.live.insert(id, endpoint);
                    }
                    (Err(why), _) => {
                        tracing::warn!(address, why, "adopted connection dropped");
                    }
                    // Shut down meanwhile.
                    (Ok(()), None) => {}
                }
            }
            let outcome = watcher.closed().await;
            tracing::info!(%id, ?outcome, "peer disconnected");
            let mut connections = server.connections();
            connections.live.remove(&id);
            connections.address_gone(&key);
        });
        peer
    }

    /// The live peers (those that said HELLO).
    pub fn peers(&self) -> Vec<Peer> {
        self.connections()
            .live
            .values()
            .map(|endpoint| endpoint.peer().clone())
            .collect()
    }

    /// The live peer with this id.
    pub fn peer(&self, id: PeerId) -> Option<Peer> {
        self.connections()
            .live
            .get(&id)
            .map(|endpoint| endpoint.peer().clone())
    }

    /// How many peers are connected (said HELLO): what
    /// [`ServerConfig::max_connections`] bounds.
    pub fn connection_count(&self) -> usize {
        self.connections().live_count()
    }

    /// How many connections wait for their peer's HELLO: what
    /// [`ServerConfig::max_pending_handshakes`] bounds.
    pub fn pending_handshakes(&self) -> usize {
        self.connections().pending_count()
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

    /// Stops accepting, drops the connections still waiting for their
    /// HELLO, closes every other connection gracefully (calls in flight
    /// finish) and waits up to `grace` for them; connections still open
    /// then are dropped.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.stop.send_replace(true);
        self.inner.scheduler.shutdown();
        let endpoints: Vec<Arc<Endpoint>> = {
            let mut connections = self.connections();
            let adopted: Vec<Arc<Endpoint>> = connections.adopted.drain().map(|(_, e)| e).collect();
            connections.live.values().cloned().chain(adopted).collect()
        };
        let closing = endpoints.iter().map(|endpoint| endpoint.close());
        if tokio::time::timeout(grace, futures::future::join_all(closing))
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace period over; dropping remaining connections");
        }
        self.connections().live.clear();
        self.events().emit_lifecycle(LifecycleEvent::Stopped);
    }
}

/// Waits for the peer's HELLO, for at most `timeout`; why not otherwise.
async fn wait_hello(pipe: &Pipe, timeout: Option<Duration>) -> Result<(), String> {
    let ready = async {
        pipe.ready()
            .await
            .map_err(|error| format!("the connection ended before its HELLO: {error}"))
    };
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, ready)
            .await
            .unwrap_or_else(|_| Err(format!("no HELLO within {timeout:?}"))),
        None => ready.await,
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

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn connections_count_per_ip_or_per_whole_address() {
        assert_eq!(address_key("127.0.0.1:4000"), "127.0.0.1");
        assert_eq!(address_key("[::1]:4000"), "::1");
        assert_eq!(address_key("[::ffff:10.0.0.1]:80"), "10.0.0.1");
        assert_eq!(address_key("10.0.0.2"), "10.0.0.2");
        assert_eq!(address_key("/run/app.sock"), "/run/app.sock");
        assert_eq!(address_key("memory"), "memory");
    }
}
