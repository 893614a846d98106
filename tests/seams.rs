//! The seams a new user joins the layers at, one test each: endpoints from
//! any transport or ready pipe, clients without routes, the endpoint's own
//! lifecycle events and scheduled tasks, servers over every listener of the
//! transports crate with its per-medium tuning, and serial ports straight
//! into endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netcore::endpoint::ReplyCode;
use netcore::pipe::transport::memory_pair;
use netcore::prelude::*;
use netcore::transports::tcp::TcpTransport;
use socket2::SockRef;

mod links;

use links::bounded;

async fn hello(name: String) -> String {
    format!("hello, {name}")
}

fn hello_routes() -> Routes {
    Router::new()
        .route("/hello", hello)
        .build()
        .expect("valid routes")
}

/// A server on `listener` with the hello route.
fn serve<L: Listener>(listener: L) -> Server {
    links::serve(hello_routes(), listener)
}

async fn says_hello(client: &Endpoint) {
    let reply = bounded("the call", client.peer().call("/hello", "ada"))
        .await
        .expect("the call succeeds");
    assert_eq!(reply.body, "hello, ada");
}

/// A client endpoint over `pipe` calls `server`'s hello route, then the
/// server shuts down.
async fn client_says_hello(pipe: Pipe, server: Server) {
    let client = Endpoint::builder().start(pipe).expect("no routes to check");
    says_hello(&client).await;
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_endpoint_takes_the_pipe_tcp_connect_returns() {
    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default())
        .await
        .expect("bind");
    let address = listener.local_addr();
    let server = serve(listener);
    // `tcp::connect` gives a ready pipe, built to deliver whole messages.
    let pipe = tcp::connect(address, &TcpOptions::default())
        .await
        .expect("connect");
    assert_eq!(pipe.receive_mode(), netcore::pipe::ReceiveMode::Complete);
    let client = Endpoint::builder().start(pipe).expect("no routes to check");
    says_hello(&client).await;
    // Big replies stream too: the endpoint switched the pipe to streaming.
    let big = bounded(
        "a 4 MiB call",
        client.peer().call("/hello", vec![b'x'; 4 << 20]),
    )
    .await
    .expect("the big call succeeds");
    assert_eq!(big.body.len(), (4 << 20) + "hello, ".len());
    client.close().await.expect("graceful close");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_endpoint_over_a_pipe_serves_what_arrived_before_it_took_the_pipe() {
    let (a, b) = memory_pair(64 * 1024);
    let pipe = Pipe::new(a, PipeConfig::default());
    let client = Endpoint::builder().start(b).expect("no routes to check");
    let call = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/hello", "early").await }
    });
    // The call arrives and is collected whole before anyone serves the pipe.
    bounded("the call to arrive", async {
        while pipe.stats().messages_received == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let _server = Endpoint::new(pipe, hello_routes(), EndpointConfig::default());
    let reply = bounded("the early call", call)
        .await
        .expect("the call task")
        .expect("the early call is served");
    assert_eq!(reply.body, "hello, early");
}

#[tokio::test]
async fn a_client_needs_no_router_and_refuses_calls_at_once() {
    let (a, b) = memory_pair(64 * 1024);
    let server = Endpoint::builder()
        .route("/hello", hello)
        .start(b)
        .expect("valid routes");
    let client = Endpoint::builder().start(a).expect("no routes to check");
    says_hello(&client).await;
    // The server calls back the client, which serves nothing.
    let refused = bounded("the call back", server.peer().call("/anything", ""))
        .await
        .expect_err("the client serves no routes");
    assert_eq!(refused.code(), Some(ReplyCode::NOT_FOUND));
    assert!(
        refused.to_string().contains("serves no routes"),
        "{refused}"
    );
}

#[tokio::test]
async fn builder_listeners_see_started_and_stopped_exactly_once() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let count = |counter: &Arc<AtomicUsize>| {
        let counter = Arc::clone(counter);
        move |_: LifecycleEvent| {
            counter.fetch_add(1, Ordering::SeqCst);
            async {}
        }
    };
    let (a, b) = memory_pair(64 * 1024);
    let endpoint = Endpoint::builder()
        .on(LifecycleKind::Started, count(&started))
        .on(LifecycleKind::Stopped, count(&stopped))
        .start(a)
        .expect("no routes to check");
    let _peer = Endpoint::builder().start(b).expect("no routes to check");
    bounded("the started listener", async {
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    endpoint.close().await.expect("graceful close");
    bounded("the stopped listener", async {
        while stopped.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(stopped.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn builder_tasks_wait_their_initial_delay_and_stop_with_the_endpoint() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (a, b) = memory_pair(64 * 1024);
    // No messages cross this link for 15 minutes: without this, the idle
    // timeout (300 s of no message frames) would end it before the task's
    // second run.
    let quiet = EndpointConfig::over(
        PipeConfig::default()
            .with_core(netcore::pipe::core::CoreConfig::default().with_idle_timeout(None)),
    );
    let endpoint = Endpoint::builder()
        .config(quiet.clone())
        .every_after(Duration::from_secs(10), Duration::from_secs(300), {
            let runs = Arc::clone(&runs);
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
                async {}
            }
        })
        .start(a)
        .expect("no routes to check");
    let peer = Endpoint::builder()
        .config(quiet)
        .start(b)
        .expect("no routes to check");
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0, "not before its delay");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "once at 10 s");
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "then every 300 s");
    endpoint.close().await.expect("graceful close");
    peer.closed().await.expect("the peer sees the close");
    tokio::time::sleep(Duration::from_secs(900)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "stopped with the endpoint");
}

/// A listener that reports the socket options of what it accepts.
struct Inspecting {
    inner: tcp::Listener,
    seen: tokio::sync::mpsc::UnboundedSender<SocketOptions>,
}

#[derive(Debug, PartialEq, Eq)]
struct SocketOptions {
    nodelay: bool,
    keepalive: bool,
    notsent_lowat: u32,
}

impl SocketOptions {
    fn of(stream: &tokio::net::TcpStream) -> SocketOptions {
        let socket = SockRef::from(stream);
        SocketOptions {
            nodelay: socket.tcp_nodelay().expect("TCP_NODELAY"),
            keepalive: socket.keepalive().expect("SO_KEEPALIVE"),
            notsent_lowat: socket.tcp_notsent_lowat().expect("TCP_NOTSENT_LOWAT"),
        }
    }
}

impl Listener for Inspecting {
    type Io = TcpTransport;

    async fn accept(&mut self) -> std::io::Result<(TcpTransport, String)> {
        let (transport, peer) = Listener::accept(&mut self.inner).await?;
        let _ = self.seen.send(SocketOptions::of(transport.get_ref()));
        Ok((transport, peer))
    }
}

#[tokio::test]
async fn a_server_over_the_tcp_listener_tunes_sockets_as_tcp_connect_does() {
    let options = TcpOptions::default();
    let inner = tcp::Listener::bind("127.0.0.1:0", options.clone())
        .await
        .expect("bind");
    let address = inner.local_addr();
    let (seen, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    let server = serve(Inspecting { inner, seen });
    let stream = tcp::connect_stream(address, &options)
        .await
        .expect("connect");
    let client_side = SocketOptions::of(&stream);
    let client = Endpoint::builder()
        .start(TcpTransport::new(stream))
        .expect("no routes to check");
    says_hello(&client).await;
    let server_side = bounded("the accepted socket", accepted.recv())
        .await
        .expect("one connection accepted");
    assert_eq!(server_side, client_side);
    assert_eq!(
        server_side,
        SocketOptions {
            nodelay: true,
            keepalive: true,
            notsent_lowat: tcp::DEFAULT_NOTSENT_LOWAT,
        }
    );
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_server_over_the_unix_listener_serves_unix_connect() {
    let (server, pipe, _dir) = links::over_unix(hello_routes()).await;
    client_says_hello(pipe, server).await;
}

#[tokio::test]
async fn a_server_over_the_quic_listener_serves_quic_connect() {
    let (server, pipe) = links::over_quic(hello_routes()).await;
    client_says_hello(pipe, server).await;
}

#[tokio::test]
async fn a_serial_pair_plugs_straight_into_endpoints() {
    let (device_end, host_end) = serial::pair().expect("a pseudo-terminal pair");
    let _device = Endpoint::builder()
        .config(EndpointConfig::lossy_link())
        .route("message", || async {
            Json(netcore::serde_json::json!({"status": "received"}))
        })
        .start(device_end)
        .expect("valid routes");
    let host = Endpoint::builder()
        .config(EndpointConfig::lossy_link())
        .start(host_end)
        .expect("no routes to check");
    let reply: netcore::serde_json::Value =
        bounded("the call", host.peer().call_json("message", &()))
            .await
            .expect("the call succeeds");
    assert_eq!(reply, netcore::serde_json::json!({"status": "received"}));
}

#[tokio::test]
async fn a_python_config_refuses_a_pipe_built_for_lso() {
    let (a, _b) = memory_pair(64 * 1024);
    let lso_pipe = Pipe::new(a, PipeConfig::default());
    let refused = Endpoint::builder()
        .config(EndpointConfig::py013())
        .start(lso_pipe)
        .expect_err("the wire formats disagree");
    assert!(
        matches!(refused, StartError::WireMismatch { .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("PipeConfig::py013()"),
        "{refused}"
    );
    // Given the transport itself, the endpoint builds the pipe it needs.
    let (a, _b) = memory_pair(64 * 1024);
    let endpoint = Endpoint::builder()
        .config(EndpointConfig::py013())
        .start(a)
        .expect("a transport takes the config's format");
    assert!(matches!(
        endpoint.peer().wire_format(),
        netcore::pipe::WireFormat::Py013(_)
    ));
}
