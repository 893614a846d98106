//! `#[service]` end to end over an in-memory link: the generated client
//! calls an implementation served by the generated `serve`, errors come back
//! typed, and the routes are plain typed routes underneath. Timeouts are
//! failure guards only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use netcore_endpoint::{
    CallError, Endpoint, EndpointConfig, ReplyCode, ReplyError, Route, Router, service,
};
use netcore_pipe::transport::memory_pair;
use serde::{Deserialize, Serialize};

const GUARD: Duration = Duration::from_secs(30);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct User {
    id: u32,
    name: String,
}

/// A directory of users.
#[service(prefix = "/users")]
trait UserStore {
    /// One user by id.
    async fn get(&self, id: u32) -> Result<User, ReplyError>;
    /// Adds or renames a user, answering the previous name.
    async fn put_name(&self, id: u32, name: String) -> Result<Option<String>, ReplyError>;
    /// How many users there are.
    async fn count(&self) -> Result<usize, ReplyError>;
    /// A default method is served like the others.
    async fn ping(&self) -> Result<String, ReplyError> {
        Ok("pong".to_owned())
    }
}

#[derive(Default)]
struct Memory {
    names: Mutex<HashMap<u32, String>>,
}

impl UserStore for Memory {
    async fn get(&self, id: u32) -> Result<User, ReplyError> {
        let names = self.names.lock().expect("lock");
        let name = names
            .get(&id)
            .cloned()
            .ok_or_else(|| ReplyError::new(ReplyCode::NOT_FOUND, format!("no user {id}")))?;
        Ok(User { id, name })
    }

    async fn put_name(&self, id: u32, name: String) -> Result<Option<String>, ReplyError> {
        Ok(self.names.lock().expect("lock").insert(id, name))
    }

    async fn count(&self) -> Result<usize, ReplyError> {
        Ok(self.names.lock().expect("lock").len())
    }
}

#[tokio::test]
async fn the_generated_client_calls_the_served_implementation() {
    let routes = user_store::serve(Router::new(), Memory::default())
        .build()
        .expect("routes");
    for path in [
        "/users/get",
        "/users/put_name",
        "/users/count",
        "/users/ping",
    ] {
        assert!(routes.contains(path), "{path}");
    }
    let (a, b) = memory_pair(256 << 10);
    let _server = Endpoint::new(b, routes, EndpointConfig::default());
    let client_endpoint = Endpoint::builder()
        .start(a)
        .expect("a client has no routes");
    let users = user_store::Client::new(client_endpoint.peer().clone());

    assert_eq!(guard(users.count()).await.expect("count"), 0);
    assert_eq!(
        guard(users.put_name(7, "ada".into())).await.expect("put"),
        None
    );
    assert_eq!(
        guard(users.put_name(7, "ada l.".into()))
            .await
            .expect("put"),
        Some("ada".into())
    );
    assert_eq!(
        guard(users.get(7)).await.expect("get"),
        User {
            id: 7,
            name: "ada l.".into()
        }
    );
    assert_eq!(guard(users.ping()).await.expect("ping"), "pong");
    let error = guard(users.get(8)).await.expect_err("no user 8");
    let CallError::Remote(error) = error else {
        panic!("expected a remote error, got {error:?}")
    };
    assert_eq!(error.code, ReplyCode::NOT_FOUND);
    assert_eq!(error.message, "no user 8");

    // Underneath, plain typed routes: callable with the request types too.
    let peer = client_endpoint.peer();
    let count = guard(peer.call_typed(&user_store::Count {}))
        .await
        .expect("typed call");
    assert_eq!(count, 1);
    assert_eq!(user_store::PREFIX, "/users");
    assert_eq!(<user_store::PutName as Route>::PATH, "/users/put_name");
}
