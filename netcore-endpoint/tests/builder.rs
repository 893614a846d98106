//! The endpoint builder: every way to give routes, merged; duplicates and
//! bad paths refused at start.

use std::time::Duration;

use netcore_endpoint::{Endpoint, Router, RouterError, StartError, State};
use netcore_pipe::transport::memory_pair;

async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test took over 20 s")
}

#[derive(Clone)]
struct Greeting(&'static str);

async fn greet(State(greeting): State<Greeting>, name: String) -> String {
    format!("{}, {name}", greeting.0)
}

#[tokio::test]
async fn routes_routers_and_nests_are_served_together() {
    let (a, b) = memory_pair(64 * 1024);
    let shared = Router::new()
        .route("/shared", || async { "shared" })
        .build()
        .expect("valid routes");
    let _server = Endpoint::builder()
        .route("/plain", || async { "plain" })
        .router(Router::with_state(Greeting("hello")).route("/greet", greet))
        .nest(
            "/blue",
            Router::with_state(Greeting("hi")).route("/greet", greet),
        )
        .routes(shared)
        .start(b)
        .expect("no path twice");
    let client = Endpoint::builder().start(a).expect("no routes");
    let peer = client.peer();
    for (route, body, expected) in [
        ("/plain", "", "plain"),
        ("/greet", "ada", "hello, ada"),
        ("/blue/greet", "ada", "hi, ada"),
        ("/shared", "", "shared"),
    ] {
        let reply = bounded(peer.call(route, body))
            .await
            .unwrap_or_else(|error| panic!("{route}: {error}"));
        assert_eq!(reply.body, expected, "{route}");
    }
}

#[tokio::test]
async fn a_path_given_twice_fails_the_start() {
    let (a, _b) = memory_pair(64 * 1024);
    let refused = Endpoint::builder()
        .route("/x", || async { "one" })
        .router(Router::new().route("/x", || async { "two" }))
        .start(a)
        .expect_err("/x twice");
    assert_eq!(
        refused,
        StartError::Router(RouterError::DuplicateRoute { route: "/x".into() })
    );
}

#[tokio::test]
async fn a_bad_path_fails_the_start() {
    let (a, _b) = memory_pair(64 * 1024);
    let refused = Endpoint::builder()
        .route("a/b", || async { "" })
        .start(a)
        .expect_err("neither a path nor a bare name");
    assert!(
        matches!(refused, StartError::Router(RouterError::BadPath { .. })),
        "{refused:?}"
    );
}
