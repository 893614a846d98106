//! Typed routes end to end over an in-memory link: a typed round trip with
//! extractors, a schema mismatch between two builds of a route type, untyped
//! callers of a typed route, and typed errors. Timeouts are failure guards
//! only.

use std::time::Duration;

use netcore_endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, Peer, ReplyCode, ReplyError, RequestMeta,
    Route, Router, Routes, SCHEMA, State,
};
use netcore_pipe::transport::memory_pair;
use serde::{Deserialize, Serialize};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// The server and client endpoints (keep both alive) and the client's peer.
fn connect(server: Routes) -> (Endpoint, Endpoint, Peer) {
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, server, EndpointConfig::default());
    let client = Endpoint::new(a, Routes::default(), EndpointConfig::default());
    let peer = client.peer().clone();
    (server, client, peer)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct User {
    id: u32,
    name: String,
}

/// The server's build of the route.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/users/get", response = User)]
struct GetUser {
    id: u32,
}

/// An older client build: same path, another request shape.
mod old_client {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, netcore_endpoint::Route)]
    #[route(path = "/users/get", response = super::User)]
    pub(crate) struct GetUser {
        pub(crate) id: u32,
        pub(crate) include_email: bool,
    }
}

/// Same path and request shape, but another response type.
mod other_response {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, netcore_endpoint::Route)]
    #[route(path = "/users/get", response = String)]
    pub(crate) struct GetUser {
        pub(crate) id: u32,
    }
}

#[derive(Clone)]
struct Directory {
    name: &'static str,
}

async fn get_user(
    request: GetUser,
    State(directory): State<Directory>,
    meta: RequestMeta,
) -> Result<User, ReplyError> {
    assert_eq!(meta.route, "/users/get");
    match request.id {
        7 => Ok(User {
            id: 7,
            name: directory.name.to_owned(),
        }),
        id => Err(ReplyError::new(
            ReplyCode::NOT_FOUND,
            format!("no user {id}"),
        )),
    }
}

fn routes() -> Routes {
    Router::with_state(Directory { name: "ada" })
        .typed(get_user)
        .build()
        .expect("routes")
}

#[tokio::test]
async fn a_typed_call_round_trips_and_typed_errors_come_back() {
    let (_server, _client, peer) = connect(routes());
    let user: User = guard(peer.call_typed(&GetUser { id: 7 }))
        .await
        .expect("user 7");
    assert_eq!(
        user,
        User {
            id: 7,
            name: "ada".into()
        }
    );
    let error = guard(peer.call_typed(&GetUser { id: 8 }))
        .await
        .expect_err("no user 8");
    assert_eq!(error.code(), Some(ReplyCode::NOT_FOUND));
    let options = CallOptions::default().with_timeout(Some(Duration::from_secs(10)));
    let user = guard(peer.call_typed_with(&GetUser { id: 7 }, options))
        .await
        .expect("with options");
    assert_eq!(user.id, 7);
}

#[tokio::test]
async fn a_different_request_shape_gets_a_clear_schema_mismatch() {
    assert_eq!(GetUser::PATH, old_client::GetUser::PATH);
    assert_ne!(GetUser::FINGERPRINT, old_client::GetUser::FINGERPRINT);
    let (_server, _client, peer) = connect(routes());
    let error = guard(peer.call_typed(&old_client::GetUser {
        id: 7,
        include_email: true,
    }))
    .await
    .expect_err("another shape");
    let CallError::Remote(error) = error else {
        panic!("expected a remote error, got {error:?}")
    };
    assert_eq!(error.code, ReplyCode::SCHEMA_MISMATCH);
    let ours = format!("{:016x}", GetUser::FINGERPRINT);
    let theirs = format!("{:016x}", old_client::GetUser::FINGERPRINT);
    assert_eq!(
        error.message,
        format!(
            "schema mismatch on route /users/get: the caller's route type has fingerprint \
             {theirs}, this peer's has {ours}; the two sides were built with different \
             versions of the request or response type"
        )
    );
}

#[tokio::test]
async fn a_different_response_type_is_a_schema_mismatch_too() {
    assert_ne!(GetUser::FINGERPRINT, other_response::GetUser::FINGERPRINT);
    let (_server, _client, peer) = connect(routes());
    let error = guard(peer.call_typed(&other_response::GetUser { id: 7 }))
        .await
        .expect_err("another response type");
    assert_eq!(error.code(), Some(ReplyCode::SCHEMA_MISMATCH));
}

#[tokio::test]
async fn untyped_callers_of_a_typed_route_are_served_without_a_check() {
    let (_server, _client, peer) = connect(routes());
    // JSON without a fingerprint: decoded and served.
    let user: User = guard(peer.call_json("/users/get", &serde_json::json!({ "id": 7 })))
        .await
        .expect("untyped call");
    assert_eq!(user.name, "ada");
    // A body that is not the route type: a clean bad request naming the route.
    let error = guard(peer.call_json::<_, User>("/users/get", &"seven"))
        .await
        .expect_err("not a GetUser");
    let CallError::Remote(error) = error else {
        panic!("expected a remote error, got {error:?}")
    };
    assert_eq!(error.code, ReplyCode::BAD_REQUEST);
    assert!(
        error
            .message
            .starts_with("invalid JSON body for route /users/get:"),
        "{}",
        error.message
    );
    // A raw call whose header carries the right fingerprint is accepted,
    // whatever the case of its hex digits.
    let mut options = CallOptions::default();
    options
        .headers
        .insert(SCHEMA, format!("{:016X}", GetUser::FINGERPRINT))
        .expect("header");
    let reply = guard(peer.call_with("/users/get", r#"{"id":7}"#, options))
        .await
        .expect("raw call with the fingerprint");
    let user: User = reply.json().expect("a user");
    assert_eq!(user.id, 7);
}

#[tokio::test]
async fn typed_routes_mix_with_untyped_ones() {
    async fn ping() -> &'static str {
        "pong"
    }
    let routes = Router::with_state(Directory { name: "bob" })
        .route("/ping", ping)
        .typed(get_user)
        .build()
        .expect("routes");
    let (_server, _client, peer) = connect(routes);
    assert_eq!(
        guard(peer.call("/ping", "")).await.expect("ping").body,
        "pong"
    );
    let user = guard(peer.call_typed(&GetUser { id: 7 }))
        .await
        .expect("typed");
    assert_eq!(user.name, "bob");
}

#[test]
fn registering_a_typed_route_twice_is_a_build_error() {
    let Err(error) = Router::with_state(Directory { name: "ada" })
        .typed(get_user)
        .typed(get_user)
        .build()
    else {
        panic!("a duplicate typed route must not build")
    };
    assert_eq!(
        error.to_string(),
        "route \"/users/get\" is registered twice"
    );
}

#[tokio::test]
async fn a_typed_route_keeps_its_path_inside_a_blueprint_and_its_middleware_applies() {
    use netcore_endpoint::{Reply, ReplyCode, Request};
    #[derive(Debug, serde::Serialize, serde::Deserialize, netcore_endpoint::Route)]
    #[route(path = "/inventory/count", response = u32)]
    struct Count {
        item: String,
    }
    async fn count(request: Count) -> Result<u32, netcore_endpoint::ReplyError> {
        Ok(request.item.len() as u32)
    }
    let blueprint = Router::new()
        .typed(count)
        .before(|request: Request| async move {
            match request.headers.get_str("token") {
                Some(_) => Ok(request),
                None => Err(Reply::error(ReplyCode(401), "no token")),
            }
        });
    let routes = Router::new()
        .nest("/inventory", blueprint)
        .build()
        .expect("routes");
    assert!(
        routes.contains("/inventory/count"),
        "nesting must not re-prefix a typed route"
    );
    let (a, b) = netcore_pipe::transport::memory_pair(64 << 10);
    let _server = netcore_endpoint::Endpoint::new(b, routes, Default::default());
    let client = netcore_endpoint::Endpoint::new(a, Routes::default(), Default::default());
    let refused = client
        .peer()
        .call_typed(&Count {
            item: "bolts".into(),
        })
        .await;
    assert_eq!(refused.err().and_then(|e| e.code()), Some(ReplyCode(401)));
    let mut options = netcore_endpoint::CallOptions::default();
    options.headers.insert("token", "t").expect("header");
    let count = client
        .peer()
        .call_typed_with(
            &Count {
                item: "bolts".into(),
            },
            options,
        )
        .await
        .expect("typed call through the blueprint");
    assert_eq!(count, 5);
}
