//! The server over loopback TCP: many clients, one router, peer list,
//! broadcast, connection limit, graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{
    CallError, Endpoint, EndpointConfig, RequestMeta, Router, Routes, Server, ServerConfig, State,
};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

async fn whoami(meta: RequestMeta) -> String {
    meta.peer_id.to_string()
}

async fn start(
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
    serve(routes, config).await
}

/// A server for `routes` on a loopback port, serving in a task.
async fn serve(
    routes: Routes,
    config: ServerConfig,
) -> (
    Server,
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let server = Server::new(routes, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve(listener).await }
    });
    (server, address, serving)
}

async fn client(address: std::net::SocketAddr, routes: Routes) -> Endpoint {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    Endpoint::new(stream, routes, EndpointConfig::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_share_one_router_and_hear_broadcasts() {
    let (server, address, serving) = start(ServerConfig::default()).await;
    let heard = Arc::new(AtomicUsize::new(0));
    async fn news(State(heard): State<Arc<AtomicUsize>>, body: String) {
        assert_eq!(body, "hello everyone");
        heard.fetch_add(1, Ordering::SeqCst);
    }
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let routes = Router::with_state(heard.clone())
            .route("/news", news)
            .build()
            .expect("routes");
        let client = client(address, routes).await;
        let id = guard(client.peer().call("/whoami", ""))
            .await
            .expect("reply");
        ids.push(String::from_utf8(id.body.to_vec()).expect("utf-8"));
        clients.push(client);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each connection has its own peer id");
    assert_eq!(server.connection_count(), 3);
    let peers = server.peers();
    assert!(ids.contains(&peers[0].id().to_string()));
    assert!(server.peer(peers[0].id()).is_some());
    let reached = guard(server.broadcast("/news", Bytes::from_static(b"hello everyone"))).await;
    assert_eq!(reached, 3);
    guard(async {
        while heard.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // A client leaving is noticed.
    drop(clients.pop());
    guard(async {
        while server.connection_count() > 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    guard(server.shutdown(Duration::from_secs(5))).await;
    for client in &clients {
        guard(client.closed()).await.expect("closed gracefully");
    }
    guard(serving)
        .await
        .expect("task")
        .expect("serve ended cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_refused() {
    let config = ServerConfig::default().with_max_connections(1);
    let (server, address, _serving) = start(config).await;
    let no_routes = || Routes::default();
    let first = client(address, no_routes()).await;
    guard(first.peer().call("/whoami", ""))
        .await
        .expect("first is served");
    let second = client(address, no_routes()).await;
    let refused = guard(second.peer().call("/whoami", "")).await;
    assert!(
        matches!(refused, Err(CallError::Connection(_))),
        "{refused:?}"
    );
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_calls_in_flight_finish() {
    async fn slow(State(started): State<Arc<tokio::sync::Notify>>) -> &'static str {
        started.notify_one();
        tokio::time::sleep(Duration::from_millis(200)).await;
        "finished"
    }
    let started = Arc::new(tokio::sync::Notify::new());
    let routes = Router::with_state(started.clone())
        .route("/slow", slow)
        .build()
        .expect("routes");
    let (server, address, serving) = serve(routes, ServerConfig::default()).await;
    let client = client(address, Routes::default()).await;
    let call = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/slow", "").await }
    });
    guard(started.notified()).await; // the call is in flight
    guard(server.shutdown(Duration::from_secs(5))).await;
    let reply = guard(call).await.expect("task").expect("the call finished");
    assert_eq!(reply.body, "finished");
    guard(serving).await.expect("task").expect("serve ended");
    assert_eq!(server.connection_count(), 0);
    guard(client.closed()).await.expect("closed gracefully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_events_report_connections_requests_and_replies() {
    use netcore_endpoint::events::{Events, Lifecycle, LifecycleEvent};
    // The listener is in place before the server starts: `Started` comes
    // as soon as it serves.
    let events = Events::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    events.on(Lifecycle, {
        let seen = seen.clone();
        move |event: LifecycleEvent| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(event);
            }
        }
    });
    let config =
        ServerConfig::default().with_endpoint(EndpointConfig::default().with_events(events));
    let (server, address, serving) = start(config).await;
    let client = client(address, Routes::default()).await;
    guard(client.peer().call("/whoami", ""))
        .await
        .expect("reply");
    let missing = guard(client.peer().call("/missing", "")).await;
    assert!(missing.is_err());
    drop(client);
    guard(async {
        loop {
            let done = seen
                .lock()
                .expect("lock")
                .iter()
                .any(|e| matches!(e, LifecycleEvent::PeerDisconnected { .. }));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    guard(server.shutdown(Duration::from_secs(5))).await;
    guard(serving).await.expect("task").expect("serve ended");
    // Listeners run as tasks, in no set order (a task spawned later may run
    // first): wait for `Stopped` and for both replies' events.
    guard(async {
        loop {
            let (stopped, replies) = {
                let seen = seen.lock().expect("lock");
                let stopped = seen.iter().any(|e| matches!(e, LifecycleEvent::Stopped));
                let replies = seen
                    .iter()
                    .filter(|e| matches!(e, LifecycleEvent::Reply { .. }))
                    .count();
                (stopped, replies)
            };
            if stopped && replies >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let seen = seen.lock().expect("lock").clone();
    let kinds: Vec<String> = seen.iter().map(|e| format!("{:?}", e.kind())).collect();
    for expected in [
        "Started",
        "PeerConnected",
        "Request",
        "Reply",
        "PeerDisconnected",
        "Stopped",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "no {expected} in {kinds:?}"
        );
    }
    let mut replies: Vec<bool> = seen
        .iter()
        .filter_map(|e| match e {
            LifecycleEvent::Reply { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect();
    replies.sort();
    assert_eq!(
        replies,
        vec![false, true],
        "one error reply, one good reply"
    );
}

/// A task counting seconds on `scheduler`; returns the counter.
fn tick_every_second(scheduler: &netcore_endpoint::Scheduler) -> Arc<AtomicUsize> {
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    scheduler.every(Duration::from_secs(1), move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    ticks
}

#[tokio::test(start_paused = true)]
async fn scheduled_tasks_stop_with_the_server_and_the_connection() {
    let server = Server::new(Routes::default(), ServerConfig::default());
    let server_ticks = tick_every_second(server.scheduler());
    let (a, b) = netcore_pipe::transport::memory_pair(64 << 10);
    let _served = server.adopt(b, "memory".into());
    let client = Endpoint::new(a, Routes::default(), EndpointConfig::default());
    let client_ticks = tick_every_second(client.scheduler());
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(server_ticks.load(Ordering::SeqCst), 3);
    assert_eq!(client_ticks.load(Ordering::SeqCst), 3);
    server.shutdown(Duration::from_secs(5)).await;
    client.closed().await.expect("closed gracefully");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        server_ticks.load(Ordering::SeqCst),
        3,
        "server tasks stopped"
    );
    assert_eq!(
        client_ticks.load(Ordering::SeqCst),
        3,
        "connection tasks stopped"
    );
}

/// A `/hold` route whose calls wait until `open` has a permit, counting
/// how many wait at once.
#[derive(Clone)]
struct Holding {
    open: Arc<tokio::sync::Semaphore>,
    running: Arc<AtomicUsize>,
}

async fn hold(State(holding): State<Holding>) -> &'static str {
    holding.running.fetch_add(1, Ordering::SeqCst);
    let _permit = holding.open.acquire().await.expect("not closed");
    holding.running.fetch_sub(1, Ordering::SeqCst);
    "released"
}

/// Waits until `running` reads `n`, then a little longer to see it stays.
async fn settles_at(running: &AtomicUsize, n: usize) {
    guard(async {
        while running.load(Ordering::SeqCst) != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(running.load(Ordering::SeqCst), n, "it stays there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_share_request_places_past_their_own_and_keep_their_own() {
    let holding = Holding {
        open: Arc::new(tokio::sync::Semaphore::new(0)),
        running: Arc::new(AtomicUsize::new(0)),
    };
    let routes = Router::with_state(holding.clone())
        .route("/hold", hold)
        .route("/whoami", whoami)
        .build()
        .expect("routes");
    let config = ServerConfig::default()
        .with_own_request_places(2)
        .with_shared_request_places(4);
    let server = Server::new(routes, config);
    let mut clients = Vec::new();
    for n in 0..3 {
        let (a, b) = netcore_pipe::transport::memory_pair(64 << 10);
        let _served = server.adopt(b, format!("memory {n}"));
        clients.push(Endpoint::new(
            a,
            Routes::default(),
            EndpointConfig::default(),
        ));
    }
    // The first connection makes 20 calls that hold: its own 2 places and
    // the 4 shared ones run, the rest wait unread.
    let greedy = clients[0].peer().clone();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let peer = greedy.clone();
            tokio::spawn(async move { peer.call("/hold", Bytes::new()).await })
        })
        .collect();
    settles_at(&holding.running, 6).await;
    // Another connection still has its own places: a call is served, and
    // two of its holding calls run beside the first one's six.
    let reply = guard(clients[1].peer().call("/whoami", Bytes::new()))
        .await
        .expect("served from its own places");
    assert!(!reply.body.is_empty());
    let second = clients[2].peer().clone();
    let more: Vec<_> = (0..2)
        .map(|_| {
            let peer = second.clone();
            tokio::spawn(async move { peer.call("/hold", Bytes::new()).await })
        })
        .collect();
    settles_at(&holding.running, 8).await;
    // Released, every call is answered: nothing refused or lost.
    holding.open.add_permits(1000);
    for call in calls.into_iter().chain(more) {
        let reply = guard(call).await.expect("no panic").expect("answered");
        assert_eq!(reply.body, "released");
    }
    server.shutdown(Duration::from_secs(2)).await;
}
