//! What one peer can make an endpoint or a server hold, and for how long
//! (issue #14): queued requests bounded with back-pressure, replies that a
//! peer does not take given up after their timeout or deadline, and a
//! server's fair shares (handshakes pending apart from live connections,
//! a handshake timeout, a per-address limit). Timeouts are failure guards
//! only; the waits of seconds run on tokio's paused clock.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{
    CallError, Endpoint, EndpointConfig, Router, Routes, Server, ServerConfig, State,
};
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{Message, Pipe, PipeConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::sync::watch;

const GUARD: Duration = Duration::from_secs(60);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// Polls `condition` until it holds (a failure guard bounds the wait).
async fn until(mut condition: impl FnMut() -> bool) {
    guard(async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Handlers that count their start and wait until the gate opens.
#[derive(Clone)]
struct Gate {
    started: Arc<AtomicUsize>,
    open: watch::Receiver<bool>,
}

async fn blocked(State(gate): State<Gate>) -> &'static str {
    gate.started.fetch_add(1, Ordering::SeqCst);
    let mut open = gate.open.clone();
    let _ = open.wait_for(|open| *open).await;
    "done"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_calls_at_busy_handlers_is_held_to_the_slots_and_the_queue() {
    const HANDLERS: usize = 4;
    const QUEUE: usize = 16;
    const CALLS: usize = 10_000;
    let (open_tx, open) = watch::channel(false);
    let gate = Gate {
        started: Arc::new(AtomicUsize::new(0)),
        open,
    };
    let routes = Router::with_state(gate.clone())
        .route("/blocked", blocked)
        .build()
        .expect("routes");
    let config = EndpointConfig::default()
        .with_max_concurrent_handlers(HANDLERS)
        .with_max_queued_requests(QUEUE)
        .with_default_timeout(None);
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call("/blocked", Bytes::new()).await })
        })
        .collect();
    // Every slot busy and the queue full: the reader stops taking calls.
    until(|| gate.started.load(Ordering::SeqCst) == HANDLERS).await;
    until(|| server.requests_held().0 == HANDLERS + QUEUE).await;
    // Time for the reader to take more, were it unbounded.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (held, peak) = server.requests_held();
    assert_eq!(held, HANDLERS + QUEUE);
    assert_eq!(peak, HANDLERS + QUEUE, "never more than slots + queue");
    assert_eq!(gate.started.load(Ordering::SeqCst), HANDLERS);
    // Released, every call is answered: nothing was refused or lost.
    open_tx.send_replace(true);
    for call in calls {
        let reply = guard(call).await.expect("task").expect("answered");
        assert_eq!(reply.body, "done");
    }
    assert_eq!(gate.started.load(Ordering::SeqCst), CALLS);
    // A place is given back once its reply has gone, which may be just
    // after the caller has it.
    until(|| server.requests_held().0 == 0).await;
    let (held, peak) = server.requests_held();
    assert_eq!(held, 0);
    assert!(peak <= HANDLERS + QUEUE, "peak {peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_this_sides_calls_flow_while_its_handlers_are_busy() {
    // The server's only slot is busy and its queue is full; a call the
    // server makes still gets its reply (no request waits in the reader).
    let (open_tx, open) = watch::channel(false);
    let gate = Gate {
        started: Arc::new(AtomicUsize::new(0)),
        open,
    };
    let routes = Router::with_state(gate.clone())
        .route("/blocked", blocked)
        .build()
        .expect("routes");
    let config = EndpointConfig::default()
        .with_max_concurrent_handlers(1)
        .with_max_queued_requests(1);
    let (a, b) = memory_pair(64 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client_routes = Router::new()
        .route("/name", || async { "client" })
        .build()
        .expect("routes");
    let client = Endpoint::new(a, client_routes, config);
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call("/blocked", "").await })
        })
        .collect();
    until(|| server.requests_held().0 == 2).await;
    let name = guard(server.peer().call("/name", "")).await.expect("reply");
    assert_eq!(name.body, "client");
    open_tx.send_replace(true);
    for call in calls {
        guard(call).await.expect("task").expect("answered");
    }
}

/// A transport whose reading can be paused: a peer that stops reading.
struct Pausable {
    inner: tokio::io::DuplexStream,
    reading: Arc<ReadSwitch>,
}

#[derive(Default)]
struct ReadSwitch {
    paused: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl ReadSwitch {
    fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().expect("not poisoned").take() {
            waker.wake();
        }
    }
}

impl AsyncRead for Pausable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.reading.paused.load(Ordering::SeqCst) {
            *self.reading.waker.lock().expect("not poisoned") = Some(cx.waker().clone());
            if self.reading.paused.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pausable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Two ends of a 64 KiB in-memory link, the first one pausable.
fn pausable_pair() -> (Pausable, Arc<ReadSwitch>, tokio::io::DuplexStream) {
    let (a, b) = tokio::io::duplex(64 << 10);
    let reading = Arc::new(ReadSwitch::default());
    let a = Pausable {
        inner: a,
        reading: reading.clone(),
    };
    (a, reading, b)
}

const BIG: usize = 8 << 20;

/// A server with 2 handler slots: `/big` answers 8 MiB, `/small` counts.
fn replies_server(small: Arc<AtomicUsize>) -> Routes {
    Router::with_state(small)
        .route("/big", || async { Bytes::from(vec![7u8; BIG]) })
        .route(
            "/small",
            |State(small): State<Arc<AtomicUsize>>| async move {
                small.fetch_add(1, Ordering::SeqCst);
                "small"
            },
        )
        .build()
        .expect("routes")
}

#[tokio::test(start_paused = true)]
async fn replies_a_peer_does_not_take_are_given_up_after_the_reply_timeout() {
    let small = Arc::new(AtomicUsize::new(0));
    let config = EndpointConfig::default()
        .with_max_concurrent_handlers(2)
        .with_max_queued_requests(0)
        .with_reply_timeout(Some(Duration::from_secs(5)))
        .with_default_timeout(None);
    let (a, reading, b) = pausable_pair();
    let server = Endpoint::new(b, replies_server(small.clone()), config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    guard(client.peer().call("/small", ""))
        .await
        .expect("handshake done");
    // The client stops reading: the server's replies cannot go.
    reading.set_paused(true);
    let big: Vec<_> = (0..2)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call("/big", "").await })
        })
        .collect();
    until(|| server.requests_held().0 == 2).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        server.requests_held().0,
        2,
        "still within the reply timeout"
    );
    // Past the timeout, both replies are given up and their slots free.
    until(|| server.requests_held().0 == 0).await;
    assert!(
        !client.peer().is_closed(),
        "freed by the timeout, not the link's end"
    );
    // The same connection is served again: the handler runs now, and its
    // reply arrives once the client reads.
    let again = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/small", "").await }
    });
    until(|| small.load(Ordering::SeqCst) == 2).await;
    reading.set_paused(false);
    let reply = guard(again).await.expect("task").expect("served");
    assert_eq!(reply.body, "small");
    for call in big {
        let result = guard(call).await.expect("task");
        assert!(result.is_err(), "a given-up reply does not arrive whole");
    }
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn a_calls_deadline_covers_the_send_of_its_reply() {
    // A raw pipe calls with a 2 s deadline, stops reading and never
    // cancels: the server's reply timeout is an hour, the deadline frees the
    // slot.
    let small = Arc::new(AtomicUsize::new(0));
    let config = EndpointConfig::default()
        .with_max_concurrent_handlers(1)
        .with_max_queued_requests(0)
        .with_reply_timeout(Some(Duration::from_secs(3600)));
    let (a, reading, b) = pausable_pair();
    let server = Endpoint::new(b, replies_server(small), config);
    let caller = Pipe::new(a, PipeConfig::default());
    guard(caller.ready()).await.expect("handshake");
    reading.set_paused(true);
    let call = Message::new(Bytes::new())
        .header("nc-kind", "call")
        .and_then(|m| m.header("route", "/big"))
        .and_then(|m| m.header("nc-call", "1"))
        .and_then(|m| m.header("nc-deadline-ms", "2000"))
        .expect("headers");
    let _sent = caller.send(call).expect("sent");
    until(|| server.requests_held().0 == 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.requests_held().0, 1, "within the deadline");
    until(|| server.requests_held().0 == 0).await;
    assert!(
        !caller.is_closed(),
        "freed by the deadline, not the link's end"
    );
    drop(caller);
}

// ---- the server's fair shares ----

async fn whoami() -> &'static str {
    "server"
}

async fn tcp_server(
    config: ServerConfig,
) -> (
    Server,
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let routes = Router::new()
        .route("/whoami", whoami)
        .build()
        .expect("routes");
    let server = Server::new(routes, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let serving = server.spawn(listener);
    (server, address, serving)
}

async fn tcp_client(address: std::net::SocketAddr) -> Endpoint {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    Endpoint::new(stream, Routes::default(), EndpointConfig::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_do_not_lock_out_a_client_that_speaks() {
    let config = ServerConfig::default().with_max_connections(65);
    let (server, address, _serving) = tcp_server(config).await;
    let mut silent = Vec::new();
    for _ in 0..64 {
        silent.push(
            tokio::net::TcpStream::connect(address)
                .await
                .expect("connect"),
        );
    }
    until(|| server.pending_handshakes() == 64).await;
    assert_eq!(server.connection_count(), 0, "no HELLO, not live");
    let fresh = tcp_client(address).await;
    let reply = guard(fresh.peer().call("/whoami", ""))
        .await
        .expect("served");
    assert_eq!(reply.body, "server");
    assert_eq!(server.connection_count(), 1);
    assert_eq!(server.pending_handshakes(), 64);
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_pending_over_their_limit_make_room_by_dropping_the_oldest() {
    let config = ServerConfig::default().with_max_pending_handshakes(2);
    let (server, address, _serving) = tcp_server(config).await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(
            tokio::net::TcpStream::connect(address)
                .await
                .expect("connect"),
        );
    }
    until(|| server.pending_handshakes() == 2).await;
    // A third comes: it gets the server's HELLO, and the oldest is dropped.
    let mut third = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let mut buffer = [0u8; 256];
    let read = guard(third.read(&mut buffer)).await.expect("read");
    assert!(read > 0, "the newcomer is served a HELLO");
    let mut oldest_ended = false;
    for _ in 0..8 {
        match guard(silent[0].read(&mut buffer)).await {
            Ok(0) | Err(_) => {
                oldest_ended = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(
        oldest_ended,
        "the connection that waited longest was dropped"
    );
    assert_eq!(server.pending_handshakes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_hello_is_dropped_after_the_handshake_timeout() {
    let config = ServerConfig::default().with_handshake_timeout(Some(Duration::from_millis(200)));
    let (server, address, _serving) = tcp_server(config).await;
    let mut silent = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    until(|| server.pending_handshakes() == 1).await;
    // It reads the server's HELLO, then the end of the connection.
    let mut received = Vec::new();
    let _ = guard(silent.read_to_end(&mut received)).await;
    until(|| server.pending_handshakes() == 0).await;
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_adopted_connection_without_hello_is_dropped_after_the_default_handshake_timeout() {
    let server = Server::new(Routes::default(), ServerConfig::default());
    let (a, b) = memory_pair(64 << 10);
    let _peer = server.adopt(b, "memory".into());
    let mut raw = a.into_inner();
    assert_eq!(server.pending_handshakes(), 1);
    let ended = tokio::spawn(async move {
        let mut received = Vec::new();
        let _ = raw.read_to_end(&mut received).await;
    });
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(server.pending_handshakes(), 1, "within the timeout");
    guard(ended).await.expect("the link ended");
    until(|| server.pending_handshakes() == 0).await;
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_address_limit_refuses_one_address_not_another() {
    let config = ServerConfig::default().with_max_connections_per_address(Some(2));
    let (server, address, _serving) = tcp_server(config).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let client = tcp_client(address).await;
        guard(client.peer().call("/whoami", ""))
            .await
            .expect("served");
        clients.push(client);
    }
    let third = tcp_client(address).await;
    let refused = guard(third.peer().call("/whoami", "")).await;
    assert!(
        matches!(refused, Err(CallError::Connection(_))),
        "{refused:?}"
    );
    // Another address is served.
    let (a, b) = memory_pair(64 << 10);
    let _adopted = server.adopt(b, "10.1.2.3:4000".into());
    let other = Endpoint::new(a, Routes::default(), EndpointConfig::default());
    let reply = guard(other.peer().call("/whoami", ""))
        .await
        .expect("served");
    assert_eq!(reply.body, "server");
    until(|| server.connection_count() == 3).await;
    // A connection from 127.0.0.1 that ends makes room for another.
    drop(clients.pop());
    until(|| server.connection_count() == 2).await;
    let again = tcp_client(address).await;
    guard(again.peer().call("/whoami", ""))
        .await
        .expect("served again");
}
