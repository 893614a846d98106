//! Calls end to end between two endpoints over an in-memory link: routing,
//! blueprints, middleware scoping, hooks, errors, panics, notifications,
//! deadlines, cancellation, many calls in flight, call-backs and link death.
//! Timeouts are failure guards only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, Json, Peer, Reply, ReplyCode, ReplyError,
    RequestMeta, Router, RouterError, Routes, State,
};
use netcore_pipe::transport::memory_pair;
use serde::{Deserialize, Serialize};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

fn connect(server: Routes, client: Routes, config: EndpointConfig) -> (Endpoint, Endpoint) {
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, server, config.clone());
    let client = Endpoint::new(a, client, config);
    (server, client)
}

fn no_routes() -> Routes {
    Routes::default()
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct User {
    id: u32,
    name: String,
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn user(Json(id): Json<u32>) -> Result<Json<User>, ReplyError> {
    match id {
        7 => Ok(Json(User {
            id,
            name: "ada".into(),
        })),
        _ => Err(ReplyError::new(
            ReplyCode::NOT_FOUND,
            format!("no user {id}"),
        )),
    }
}

#[tokio::test]
async fn calls_reach_their_routes_and_errors_come_back_as_errors() {
    let users = Router::new().route("/get", user);
    let routes = Router::new()
        .route("/echo", echo)
        .nest("/users", users)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    let reply = guard(peer.call("/echo", "ping")).await.expect("echo");
    assert_eq!(reply.body, "ping");
    let ada: User = guard(peer.call_json("/users/get", &7))
        .await
        .expect("user 7");
    assert_eq!(
        ada,
        User {
            id: 7,
            name: "ada".into()
        }
    );
    let missing = guard(peer.call_json::<_, User>("/users/get", &8)).await;
    assert!(
        matches!(&missing, Err(CallError::Remote(e)) if e.code == ReplyCode::NOT_FOUND && e.message == "no user 8"),
        "{missing:?}"
    );
    let bad_json = guard(peer.call("/users/get", "not json")).await;
    assert_eq!(
        bad_json.err().and_then(|e| e.code()),
        Some(ReplyCode::BAD_REQUEST)
    );
    let unknown = guard(peer.call("/nowhere", "")).await;
    assert!(
        matches!(&unknown, Err(CallError::Remote(e)) if e.code == ReplyCode::NOT_FOUND && e.message.contains("/nowhere")),
        "{unknown:?}"
    );
}

#[test]
fn the_same_route_twice_fails_at_build_time() {
    let nested = Router::new().route("/a", echo);
    let error = Router::new()
        .route("/x/a", echo)
        .nest("/x", nested)
        .build()
        .err();
    assert_eq!(
        error,
        Some(RouterError::DuplicateRoute {
            route: "/x/a".into()
        })
    );
    // Bare names are Python netcore's route style: fine at the top level,
    // not under a prefix; a path with '/' inside must start with one.
    assert!(Router::new().route("echo", echo).build().is_ok());
    assert!(matches!(
        Router::new()
            .nest("/x", Router::new().route("echo", echo))
            .build(),
        Err(RouterError::BadPath { .. })
    ));
    for bad in ["", "a/b"] {
        assert!(matches!(
            Router::new().route(bad, echo).build(),
            Err(RouterError::BadPath { .. })
        ));
    }
    assert!(matches!(
        Router::new().nest("/x/", Router::new()).build(),
        Err(RouterError::BadPath { .. })
    ));
}

#[tokio::test]
async fn fallbacks_answer_unknown_routes_by_prefix() {
    async fn root_fallback(meta: RequestMeta) -> String {
        format!("root saw {}", meta.route)
    }
    async fn admin_fallback(meta: RequestMeta) -> String {
        format!("admin saw {}", meta.route)
    }
    let admin = Router::new().route("/", echo).fallback(admin_fallback);
    let routes = Router::new()
        .nest("/admin", admin)
        .fallback(root_fallback)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    assert_eq!(
        guard(peer.call("/admin", "x")).await.expect("call").body,
        "x"
    );
    assert_eq!(
        guard(peer.call("/admin/users", ""))
            .await
            .expect("call")
            .body,
        "admin saw /admin/users"
    );
    assert_eq!(
        guard(peer.call("/administrator", ""))
            .await
            .expect("call")
            .body,
        "root saw /administrator"
    );
}

/// A tower layer counting the requests that pass through it.
#[derive(Clone)]
struct Count(Arc<AtomicUsize>);

impl<S> tower::Layer<S> for Count {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted(inner, self.0.clone())
    }
}

#[derive(Clone)]
struct Counted<S>(S, Arc<AtomicUsize>);

impl<S: tower::Service<netcore_endpoint::Request>> tower::Service<netcore_endpoint::Request>
    for Counted<S>
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, request: netcore_endpoint::Request) -> S::Future {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.call(request)
    }
}

#[tokio::test]
async fn a_blueprints_middleware_wraps_only_its_routes() {
    let inner = Arc::new(AtomicUsize::new(0));
    let outer = Arc::new(AtomicUsize::new(0));
    let blueprint = Router::new().route("/in", echo).layer(Count(inner.clone()));
    let routes = Router::new()
        .route("/out", echo)
        .nest("/bp", blueprint)
        .layer(Count(outer.clone()))
        .route("/after", echo)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    for route in ["/bp/in", "/bp/in", "/out", "/after"] {
        guard(peer.call(route, "x")).await.expect("call");
    }
    assert_eq!(
        inner.load(Ordering::SeqCst),
        2,
        "blueprint layer: its own routes only"
    );
    assert_eq!(
        outer.load(Ordering::SeqCst),
        3,
        "parent layer: routes present when added"
    );
}

#[tokio::test]
async fn hooks_answer_early_replace_replies_and_handle_errors() {
    async fn fails() -> Result<String, ReplyError> {
        Err(ReplyError::internal("database down"))
    }
    let guarded = Router::new()
        .route("/secret", echo)
        .route("/fails", fails)
        .before(|request: netcore_endpoint::Request| async move {
            if request.headers.get_str("token") == Some("letmein") {
                Ok(request)
            } else {
                Err(Reply::error(ReplyCode(401), "no token"))
            }
        })
        .on_error(|error, meta| Reply::body(format!("{} failed: {}", meta.route, error.message)));
    let routes = Router::new()
        .nest("/g", guarded)
        .route("/plain", echo)
        .after(|_meta, reply| async move {
            match reply {
                Reply::Ok { body, .. } => {
                    Reply::body(format!("[{}]", String::from_utf8_lossy(&body)))
                }
                other => other,
            }
        })
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    // The blueprint's error handler turns the hook's refusal into a reply.
    let refused = guard(peer.call("/g/secret", "x")).await.expect("reply");
    assert_eq!(refused.body, "[/g/secret failed: no token]");
    let mut options = CallOptions::default();
    options.headers.insert("token", "letmein").expect("header");
    let allowed = guard(peer.call_with("/g/secret", "x", options.clone())).await;
    assert_eq!(allowed.expect("reply").body, "[x]");
    let failed = guard(peer.call_with("/g/fails", "", options))
        .await
        .expect("reply");
    assert_eq!(failed.body, "[/g/fails failed: database down]");
    assert_eq!(
        guard(peer.call("/plain", "y")).await.expect("reply").body,
        "[y]"
    );
}

#[tokio::test]
async fn a_panicking_handler_becomes_an_error_and_the_endpoint_lives_on() {
    async fn boom() -> String {
        panic!("boom")
    }
    let routes = Router::new()
        .route("/boom", boom)
        .route("/echo", echo)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    let error = guard(peer.call("/boom", "")).await;
    assert_eq!(
        error.err().and_then(|e| e.code()),
        Some(ReplyCode::INTERNAL)
    );
    assert_eq!(
        guard(peer.call("/echo", "still here"))
            .await
            .expect("echo")
            .body,
        "still here"
    );
}

#[derive(Clone, Default)]
struct Flags {
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    notified: Arc<tokio::sync::Notify>,
}

async fn slow(State(flags): State<Flags>) -> &'static str {
    flags.started.fetch_add(1, Ordering::SeqCst);
    flags.notified.notify_one();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    flags.finished.fetch_add(1, Ordering::SeqCst);
    "done"
}

async fn note(State(flags): State<Flags>, body: String) {
    assert_eq!(body, "hello");
    flags.finished.fetch_add(1, Ordering::SeqCst);
    flags.notified.notify_one();
}

#[tokio::test(start_paused = true)]
async fn deadlines_and_dropped_calls_abort_the_remote_handler() {
    let flags = Flags::default();
    let routes = Router::with_state(flags.clone())
        .route("/slow", slow)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let peer = client.peer();
    // A deadline: the caller gets Timeout, the handler never finishes.
    let options = CallOptions::default().with_timeout(Some(Duration::from_secs(2)));
    let result = peer.call_with("/slow", "", options).await;
    assert!(matches!(result, Err(CallError::Timeout(_))), "{result:?}");
    // Dropping the call's future cancels it at the peer.
    let call = tokio::spawn({
        let peer = peer.clone();
        async move { peer.call("/slow", "").await }
    });
    while flags.started.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    call.abort();
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(flags.started.load(Ordering::SeqCst), 2);
    assert_eq!(
        flags.finished.load(Ordering::SeqCst),
        0,
        "an aborted handler finished"
    );
    assert_eq!(peer.pending_calls(), 0);
}

#[tokio::test]
async fn notifications_run_without_a_reply() {
    let flags = Flags::default();
    let routes = Router::with_state(flags.clone())
        .route("/note", note)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    guard(client.peer().notify("/note", "hello"))
        .await
        .expect("sent");
    guard(flags.notified.notified()).await;
    assert_eq!(flags.finished.load(Ordering::SeqCst), 1);
    assert_eq!(client.peer().pending_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_calls_in_flight_on_one_connection() {
    async fn double(Json(n): Json<u64>) -> Json<u64> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Json(n * 2)
    }
    let routes = Router::new()
        .route("/double", double)
        .build()
        .expect("routes");
    let config = EndpointConfig::default().with_max_concurrent_handlers(4096);
    let (_server, client) = connect(routes, no_routes(), config);
    let peer = client.peer().clone();
    let calls: Vec<_> = (0..3000u64)
        .map(|n| {
            let peer = peer.clone();
            tokio::spawn(async move { peer.call_json::<_, u64>("/double", &n).await })
        })
        .collect();
    for (n, call) in calls.into_iter().enumerate() {
        let doubled = guard(call).await.expect("task").expect("reply");
        assert_eq!(doubled, 2 * n as u64);
    }
}

#[tokio::test]
async fn a_server_handler_calls_back_the_client_that_called_it() {
    async fn whoami() -> &'static str {
        "client-7"
    }
    async fn greet(caller: Peer) -> Result<String, ReplyError> {
        let name = caller
            .call("/whoami", "")
            .await
            .map_err(|e| ReplyError::internal(e.to_string()))?;
        Ok(format!("hello, {}", String::from_utf8_lossy(&name.body)))
    }
    let server_routes = Router::new()
        .route("/greet", greet)
        .build()
        .expect("routes");
    let client_routes = Router::new()
        .route("/whoami", whoami)
        .build()
        .expect("routes");
    let (_server, client) = connect(server_routes, client_routes, EndpointConfig::default());
    let reply = guard(client.peer().call("/greet", ""))
        .await
        .expect("reply");
    assert_eq!(reply.body, "hello, client-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_concurrency_is_capped_per_connection() {
    #[derive(Clone, Default)]
    struct Gauge {
        now: Arc<AtomicUsize>,
        max: Arc<AtomicUsize>,
    }
    async fn busy(State(gauge): State<Gauge>) -> &'static str {
        let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        gauge.now.fetch_sub(1, Ordering::SeqCst);
        "ok"
    }
    let gauge = Gauge::default();
    let routes = Router::with_state(gauge.clone())
        .route("/busy", busy)
        .build()
        .expect("routes");
    let config = EndpointConfig::default().with_max_concurrent_handlers(3);
    let (_server, client) = connect(routes, no_routes(), config);
    let calls: Vec<_> = (0..30)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call("/busy", "").await })
        })
        .collect();
    for call in calls {
        guard(call).await.expect("task").expect("reply");
    }
    assert_eq!(gauge.max.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn pending_calls_fail_when_the_link_dies() {
    let flags = Flags::default();
    let routes = Router::with_state(flags.clone())
        .route("/slow", slow)
        .build()
        .expect("routes");
    let (server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let call = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/slow", "").await }
    });
    guard(flags.notified.notified()).await;
    drop(server); // the server goes away; its handler is aborted
    let result = guard(call).await.expect("task");
    assert!(
        matches!(result, Err(CallError::Connection(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_handler_reads_the_body_as_it_arrives() {
    use futures::StreamExt;
    use netcore_endpoint::Streamed;
    async fn count(meta: RequestMeta, Streamed(mut body): Streamed) -> String {
        let mut total = 0;
        let mut chunks = 0;
        while let Some(chunk) = body.next().await {
            total += chunk.expect("chunk").len();
            chunks += 1;
        }
        format!("{} {total} {chunks}", meta.route)
    }
    async fn whole(body: Bytes) -> String {
        body.len().to_string()
    }
    let routes = Router::new()
        .route("/count", count)
        .nest("/files", Router::new().route("/count", count))
        .route("/whole", whole)
        .build()
        .expect("routes");
    assert!(routes.streams_body("/count") && routes.streams_body("/files/count"));
    assert!(!routes.streams_body("/whole"));
    let (_server, client) = connect(routes, no_routes(), EndpointConfig::default());
    let upload = Bytes::from(vec![7u8; 16 << 20]);
    let reply = guard(client.peer().call("/files/count", upload.clone()))
        .await
        .expect("reply");
    let text = String::from_utf8(reply.body.to_vec()).expect("utf-8");
    let parts: Vec<&str> = text.split(' ').collect();
    assert_eq!(parts[..2], ["/files/count", "16777216"]);
    assert!(
        parts[2].parse::<usize>().expect("chunks") > 1,
        "the body came in chunks"
    );
    let reply = guard(client.peer().call("/whole", upload))
        .await
        .expect("reply");
    assert_eq!(reply.body, "16777216");
}

#[tokio::test]
async fn a_request_too_large_for_the_peer_fails_at_once() {
    // Found in review: the request's send failure was dropped and the caller
    // waited for its timeout.
    let mut small = EndpointConfig::default();
    small.pipe.core.limits.max_message_size = 1000;
    let routes = Router::new().route("/echo", echo).build().expect("routes");
    let (a, b) = memory_pair(64 << 10);
    let _server = Endpoint::new(b, routes, small);
    let client = Endpoint::new(a, no_routes(), EndpointConfig::default());
    guard(client.peer().call("/echo", "fits"))
        .await
        .expect("a small call works");
    let options = CallOptions::default().with_timeout(Some(Duration::from_secs(3600)));
    let result = guard(client.peer().call_with("/echo", vec![0u8; 5000], options)).await;
    assert!(
        matches!(
            result,
            Err(CallError::Send(netcore_pipe::SendError::Encode(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_reply_too_large_for_the_caller_becomes_an_error_reply() {
    let routes = Router::new().route("/echo", echo).build().expect("routes");
    let mut small = EndpointConfig::default();
    small.pipe.core.limits.max_message_size = 1000;
    let (a, b) = memory_pair(64 << 10);
    let _server = Endpoint::new(b, routes, EndpointConfig::default());
    let client = Endpoint::new(a, no_routes(), small);
    // The 4000-byte request fits the server's limits; its echo does not fit
    // the client's 1000-byte limit, so the server answers with an error.
    let result = guard(client.peer().call("/echo", vec![1u8; 4000])).await;
    assert_eq!(
        result.err().and_then(|e| e.code()),
        Some(ReplyCode::INTERNAL)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_calling_back_do_not_deadlock_when_every_slot_is_busy() {
    // Found in review: the dispatcher waited for a handler slot and stopped
    // reading, so replies to the busy handlers' own calls never arrived.
    async fn x(caller: Peer) -> Result<String, ReplyError> {
        let reply = caller
            .call("/y", "")
            .await
            .map_err(|e| ReplyError::internal(e.to_string()))?;
        Ok(String::from_utf8_lossy(&reply.body).into_owned())
    }
    async fn y() -> &'static str {
        "y"
    }
    let config = EndpointConfig::default().with_max_concurrent_handlers(1);
    let server_routes = Router::new().route("/x", x).build().expect("routes");
    let client_routes = Router::new().route("/y", y).build().expect("routes");
    let (_server, client) = connect(server_routes, client_routes, config);
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call("/x", "").await })
        })
        .collect();
    for call in calls {
        let reply = guard(call).await.expect("task").expect("reply");
        assert_eq!(reply.body, "y");
    }
}

#[tokio::test]
async fn small_calls_go_at_high_priority_and_uploads_below_them() {
    use netcore_pipe::protocol::Priority;
    use netcore_pipe::{Pipe, PipeConfig, ReceiveMode};
    // The far end is a bare pipe: it sees each request's priority.
    let (a, b) = memory_pair(256 << 10);
    let client = Endpoint::new(a, no_routes(), EndpointConfig::default());
    let far = Pipe::new(
        b,
        PipeConfig::default().with_receive(ReceiveMode::Streaming),
    );
    let peer = client.peer().clone();
    let small = Bytes::from(vec![1u8; netcore_endpoint::SMALL_BODY as usize]);
    let large = Bytes::from(vec![2u8; netcore_endpoint::SMALL_BODY as usize + 1]);
    let calls = tokio::spawn(async move {
        let short = CallOptions::default().with_timeout(Some(Duration::from_millis(1)));
        let _ = peer.call_with("/small", small, short.clone()).await;
        let _ = peer.call_with("/large", large, short.clone()).await;
        let chosen = short.with_priority(Some(Priority::LOW));
        let _ = peer
            .call_with("/chosen", Bytes::from_static(b"x"), chosen)
            .await;
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let incoming = guard(far.accept()).await.expect("a request");
        // Requests name their route; the cancels of the timed-out calls
        // do not.
        if incoming.headers.get_str("route").is_some() {
            seen.push(incoming.priority);
        }
    }
    assert_eq!(
        seen,
        [Priority::HIGH, Priority::NORMAL, Priority::LOW],
        "small at HIGH, large at NORMAL, a chosen priority kept"
    );
    guard(calls).await.expect("calls");
}
