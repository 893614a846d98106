//! A crate that depends on `netcore` alone (see its `Cargo.toml`): it
//! derives a typed route, declares a `#[service]`, and serves and calls both
//! through names from `netcore` and its prelude. Its tests run the code;
//! `tests/ui/` holds the misuses that must not compile, with the hints the
//! compiler then gives.

use netcore::prelude::*;
use netcore::serde::{Deserialize, Serialize};

/// A user, as the typed route answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "netcore::serde")]
pub struct User {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
}

/// Asks for one user: a typed route derived through the facade.
#[derive(Debug, Serialize, Deserialize, Route)]
#[serde(crate = "netcore::serde")]
#[route(path = "/users/get", response = User)]
pub struct GetUser {
    /// Which user.
    pub id: u32,
}

/// A service declared through the facade.
#[service(prefix = "/math")]
pub trait Math {
    /// Adds two numbers.
    async fn add(&self, a: i64, b: i64) -> Result<i64, ReplyError>;
}

/// The service's implementation.
#[derive(Clone)]
pub struct Calculator;

impl Math for Calculator {
    async fn add(&self, a: i64, b: i64) -> Result<i64, ReplyError> {
        Ok(a + b)
    }
}

/// The typed route's handler.
pub async fn get_user(request: GetUser) -> Result<User, ReplyError> {
    Ok(User {
        id: request.id,
        name: "ada".into(),
    })
}

/// The routes of this crate's server.
pub fn routes() -> Result<Routes, RouterError> {
    math::serve(Router::new().typed(get_user), Calculator).build()
}

/// Serves [`routes`] on one end of an in-memory link and calls both routes
/// from the other: what the tests run.
pub async fn round_trip() -> Result<(User, i64), netcore::BoxError> {
    let (a, b) = netcore::pipe::transport::memory_pair(64 * 1024);
    let _server = Endpoint::builder().routes(routes()?).start(b)?;
    let client = Endpoint::builder().start(a)?;
    let user = client.peer().call_typed(&GetUser { id: 7 }).await?;
    let sum = math::Client::new(client.peer().clone()).add(2, 3).await?;
    Ok((user, sum))
}
