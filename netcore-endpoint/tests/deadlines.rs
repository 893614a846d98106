//! Deadlines that travel and the request context (issue #17): a handler's
//! calls inherit what is left of the deadline of the request they serve,
//! capped by their own timeout; a request's clock starts when its OPEN
//! arrives; deadline errors have one code whatever raised them; the
//! task-local `RequestContext` is what the handler and its callees see.
//! Waits run on tokio's paused clock; timeouts are failure guards only.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netcore_endpoint::{
    Cache, CallError, CallOptions, Endpoint, EndpointConfig, Peer, ReplyCode, ReplyError,
    RequestContext, RequestMeta, Router, State,
};
use tokio::sync::watch;

mod common;

use common::{connect, guard};

/// What the back end saw of each call it got.
#[derive(Clone, Default)]
struct Seen {
    /// The `nc-deadline-ms` of each call.
    deadline_ms: Arc<Mutex<Vec<Option<u64>>>>,
    /// Its context's remaining time when its handler started.
    remaining: Arc<Mutex<Vec<Option<Duration>>>>,
    /// Handlers still running (dropped on return or abort).
    running: Arc<AtomicUsize>,
}

struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records what it saw, then waits for ever (until its deadline aborts it).
async fn back_hangs(State(seen): State<Seen>, meta: RequestMeta) -> &'static str {
    record(&seen, &meta);
    seen.running.fetch_add(1, Ordering::SeqCst);
    let _running = Running(seen.running.clone());
    std::future::pending::<()>().await;
    "never"
}

/// Records what it saw and answers at once.
async fn back_answers(State(seen): State<Seen>, meta: RequestMeta) -> &'static str {
    record(&seen, &meta);
    "back"
}

fn record(seen: &Seen, meta: &RequestMeta) {
    let deadline = meta
        .headers
        .get_str("nc-deadline-ms")
        .and_then(|ms| ms.parse().ok());
    seen.deadline_ms
        .lock()
        .expect("not poisoned")
        .push(deadline);
    let remaining = RequestContext::current().and_then(|context| context.remaining());
    seen.remaining.lock().expect("not poisoned").push(remaining);
}

/// A back end recording what it sees, and the peer the front calls it by.
fn back(seen: &Seen) -> (Endpoint, Endpoint) {
    let routes = Router::with_state(seen.clone())
        .route("/hang", back_hangs)
        .route("/answer", back_answers)
        .build()
        .expect("routes");
    connect(routes, EndpointConfig::default())
}

/// The front's handlers: each spends 100 ms, then calls the back end.
#[derive(Clone)]
struct Front {
    back: Peer,
    /// What the call of `front_later`'s task got.
    later: Arc<Mutex<Option<Result<(), CallError>>>>,
    /// `front_edge` has started; its gate.
    edge: Arc<(AtomicBool, tokio::sync::Notify)>,
}

/// Calls the back end with no timeout of its own (the default, 30 s).
async fn front_default(State(front): State<Front>) -> Result<String, ReplyError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = front.back.call("/hang", "").await?;
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// Calls the back end with a 50 ms timeout of its own.
async fn front_short(State(front): State<Front>) -> Result<String, ReplyError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let options = CallOptions::default().with_timeout(Some(Duration::from_millis(50)));
    front.back.call_with("/hang", "", options).await?;
    Ok("unreachable".to_owned())
}

/// A detached call with a 10 s timeout: not capped by the request's deadline.
async fn front_detached(State(front): State<Front>) -> Result<String, ReplyError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let options = CallOptions::default()
        .with_timeout(Some(Duration::from_secs(10)))
        .with_detached(true);
    let reply = front.back.call_with("/answer", "", options).await?;
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// Forwards the back end's refusal (a route it does not have).
async fn front_missing(State(front): State<Front>) -> Result<String, ReplyError> {
    front.back.call("/missing", "").await?;
    Ok("unreachable".to_owned())
}

/// Hands the rest of the work to a task that keeps the request's context,
/// and answers at once; the task calls the back end after 1 s.
async fn front_later(State(front): State<Front>) -> &'static str {
    let context = RequestContext::current().expect("serving");
    tokio::spawn(context.scope(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let result = front.back.call("/answer", "").await;
        *front.later.lock().expect("not poisoned") = Some(result.map(drop));
    }));
    "later"
}

/// Waits for the test to open its gate (the test moves the clock on to
/// half a millisecond before the deadline), then calls the back end; notes
/// what that call got.
async fn front_edge(State(front): State<Front>) -> &'static str {
    front.edge.0.store(true, Ordering::SeqCst);
    front.edge.1.notified().await;
    let result = front.back.call("/answer", "").await;
    *front.later.lock().expect("not poisoned") = Some(result.map(drop));
    "edge"
}

/// Client → front → back; the front's routes, the back's record.
struct Chain {
    seen: Seen,
    edge: Arc<(AtomicBool, tokio::sync::Notify)>,
    later: Arc<Mutex<Option<Result<(), CallError>>>>,
    client: Endpoint,
    _front: Endpoint,
    _back: (Endpoint, Endpoint),
}

fn chain() -> Chain {
    let seen = Seen::default();
    let (back_server, front_to_back) = back(&seen);
    let later = Arc::new(Mutex::new(None));
    let edge = Arc::new((AtomicBool::new(false), tokio::sync::Notify::new()));
    let front = Front {
        back: front_to_back.peer().clone(),
        later: later.clone(),
        edge: edge.clone(),
    };
    let routes = Router::with_state(front)
        .route("/default", front_default)
        .route("/short", front_short)
        .route("/detached", front_detached)
        .route("/missing", front_missing)
        .route("/later", front_later)
        .route("/edge", front_edge)
        .build()
        .expect("routes");
    let (front, client) = connect(routes, EndpointConfig::default());
    Chain {
        seen,
        edge,
        later,
        client,
        _front: front,
        _back: (back_server, front_to_back),
    }
}

impl Chain {
    /// The `nc-deadline-ms` of each call the back end got.
    fn deadlines_seen(&self) -> Vec<Option<u64>> {
        self.seen.deadline_ms.lock().expect("not poisoned").clone()
    }
}

/// Asserts a call failed with the deadline code.
fn assert_timeout(result: Result<netcore_endpoint::Response, CallError>) {
    match result {
        Err(error) => assert_eq!(error.code(), Some(ReplyCode::TIMEOUT), "{error}"),
        Ok(reply) => panic!("answered: {reply:?}"),
    }
}

fn within(millis: u64) -> CallOptions {
    CallOptions::default().with_timeout(Some(Duration::from_millis(millis)))
}

#[tokio::test(start_paused = true)]
async fn a_handlers_call_waits_only_for_what_is_left_of_its_requests_deadline() {
    let chain = chain();
    let result = guard(chain.client.peer().call_with("/default", "", within(500))).await;
    // The caller gave up at 500 ms: the front's call to the back end had
    // what was left (400 ms), not its 30 s default.
    let failed_by_deadline = match &result {
        Err(CallError::Timeout(wait)) => *wait == Duration::from_millis(500),
        Err(error) => error.code() == Some(ReplyCode::TIMEOUT),
        Ok(_) => false,
    };
    assert!(failed_by_deadline, "{result:?}");
    assert_eq!(chain.deadlines_seen(), vec![Some(400)]);
    let remaining = chain.seen.remaining.lock().expect("not poisoned")[0].expect("a deadline");
    assert!(
        remaining <= Duration::from_millis(400) && remaining >= Duration::from_millis(399),
        "{remaining:?}"
    );
    // Its handler was aborted when that deadline passed.
    guard(async {
        while chain.seen.running.load(Ordering::SeqCst) != 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_timeout_the_handler_sets_caps_what_its_call_inherits() {
    let chain = chain();
    let result = guard(chain.client.peer().call_with("/short", "", within(500))).await;
    // The front's own 50 ms ran out first: a deadline error, by its code.
    assert_timeout(result);
    assert_eq!(chain.deadlines_seen(), vec![Some(50)]);
}

#[tokio::test(start_paused = true)]
async fn a_detached_call_keeps_its_own_timeout() {
    let chain = chain();
    let reply = guard(chain.client.peer().call_with("/detached", "", within(500)))
        .await
        .expect("answered");
    assert_eq!(reply.body, "back");
    assert_eq!(chain.deadlines_seen(), vec![Some(10_000)]);
}

#[tokio::test(start_paused = true)]
async fn a_call_after_the_inherited_deadline_sends_nothing() {
    let chain = chain();
    let reply = guard(chain.client.peer().call_with("/later", "", within(500)))
        .await
        .expect("answered");
    assert_eq!(reply.body, "later");
    // The spawned task calls at 1 s, past the 500 ms deadline it inherited.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = chain.later.lock().expect("not poisoned").take();
    assert!(
        matches!(later, Some(Err(CallError::Timeout(wait))) if wait.is_zero()),
        "a call past the inherited deadline fails at once: {later:?}"
    );
    assert!(
        chain
            .seen
            .deadline_ms
            .lock()
            .expect("not poisoned")
            .is_empty(),
        "a call went out past its deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_forwarded_refusal_is_a_bad_gateway_naming_the_peers_code() {
    // The back end's NOT_FOUND is not about the client's own request.
    let chain = chain();
    let result = guard(chain.client.peer().call("/missing", "")).await;
    match result {
        Err(CallError::Remote(error)) => {
            assert_eq!(error.code, ReplyCode::BAD_GATEWAY, "{error}");
            assert!(error.message.contains("404"), "{}", error.message);
        }
        other => panic!("not a refusal: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_with_less_than_a_millisecond_left_sends_nothing() {
    let chain = chain();
    let call = tokio::spawn({
        let peer = chain.client.peer().clone();
        async move { peer.call_with("/edge", "", within(10)).await }
    });
    // Yielding, not sleeping: the paused clock must not move on by itself.
    while !chain.edge.0.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_micros(9_500)).await;
    chain.edge.1.notify_one();
    let _ = guard(call).await;
    let edge = chain.later.lock().expect("not poisoned").take();
    assert!(
        matches!(edge, Some(Err(CallError::Timeout(_)))),
        "0.5 ms left is no time for a call: {edge:?}"
    );
    assert!(
        chain
            .seen
            .deadline_ms
            .lock()
            .expect("not poisoned")
            .is_empty(),
        "a call went out with nc-deadline-ms 0"
    );
}

#[tokio::test(start_paused = true)]
async fn a_requests_clock_starts_when_its_open_arrives() {
    // One handler slot and no queue: the third call waits in the pipe,
    // unread, while the second waits for the slot the first holds.
    let (open_tx, open) = watch::channel(false);
    let seen = Seen::default();
    async fn blocked(State((open, _)): State<(watch::Receiver<bool>, Seen)>) -> &'static str {
        let mut open = open.clone();
        let _ = open.wait_for(|open| *open).await;
        "done"
    }
    async fn remaining(
        State((_, seen)): State<(watch::Receiver<bool>, Seen)>,
        meta: RequestMeta,
    ) -> &'static str {
        record(&seen, &meta);
        "recorded"
    }
    let routes = Router::with_state((open, seen.clone()))
        .route("/blocked", blocked)
        .route("/remaining", remaining)
        .build()
        .expect("routes");
    let config = EndpointConfig::default()
        .with_max_concurrent_handlers(1)
        .with_max_queued_requests(0);
    let (server, client) = connect(routes, config);
    let first = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/blocked", "").await }
    });
    guard(async {
        while server.requests_held().0 != 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let later: Vec<_> = (0..2)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call_with("/remaining", "", within(1000)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    open_tx.send_replace(true);
    guard(first).await.expect("task").expect("answered");
    for call in later {
        let reply = guard(call).await.expect("task").expect("answered");
        assert_eq!(reply.body, "recorded");
    }
    // Both waited 600 ms of their 1000 (the second of them unread in the
    // pipe all along): 400 ms left, not a fresh second from when it was
    // taken up.
    let remaining = seen.remaining.lock().expect("not poisoned").clone();
    assert_eq!(remaining.len(), 2);
    for left in remaining {
        let left = left.expect("a deadline");
        assert!(left <= Duration::from_millis(400), "{left:?} left");
    }
}

#[tokio::test(start_paused = true)]
async fn a_tower_timeout_answers_with_the_deadline_code() {
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    }
    let routes = Router::new()
        .route("/slow", slow)
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
            100,
        )))
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, EndpointConfig::default());
    let result = guard(client.peer().call("/slow", "")).await;
    assert_timeout(result);
}

#[tokio::test]
async fn the_request_context_is_seen_by_hooks_handlers_and_their_callees() {
    /// What a function deep inside the handler sees.
    fn describe() -> String {
        let context = RequestContext::current().expect("serving a request");
        format!(
            "{} {} {:?} {}",
            context.route(),
            context.headers().get_str("tenant").unwrap_or("-"),
            context.call_id().is_some(),
            context.remaining().is_some(),
        )
    }
    async fn handler(context: RequestContext, meta: RequestMeta) -> String {
        assert_eq!(context.message_id(), meta.message_id);
        assert_eq!(context.peer().id(), meta.peer_id);
        tokio::task::yield_now().await;
        // A shared cache's init runs outside of the request's context.
        let cache: Cache<u8, bool> = Cache::new(8);
        let seen_in_init = cache
            .get_or_insert_with(1, async { RequestContext::current().is_some() })
            .await;
        format!("{} {seen_in_init}", describe())
    }
    let hooked = Arc::new(Mutex::new(None));
    let routes = Router::new()
        .route("/ctx", handler)
        .before({
            let hooked = hooked.clone();
            move |request| {
                let hooked = hooked.clone();
                async move {
                    *hooked.lock().expect("not poisoned") =
                        RequestContext::current().map(|c| c.route().to_owned());
                    Ok(request)
                }
            }
        })
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, EndpointConfig::default());
    let mut headers = netcore_endpoint::Headers::new();
    headers.insert("tenant", "acme").expect("header");
    let options = within(5000).with_headers(headers);
    let reply = guard(client.peer().call_with("/ctx", "", options))
        .await
        .expect("answered");
    assert_eq!(reply.body, "/ctx acme true true false");
    assert_eq!(
        hooked.lock().expect("not poisoned").as_deref(),
        Some("/ctx")
    );
    assert!(RequestContext::current().is_none());
}
