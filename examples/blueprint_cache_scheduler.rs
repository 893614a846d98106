//! The Python paper's second example, in Rust: a `/user` blueprint whose
//! `/list` answers from a cache with a 300 s TTL, an event listener on the
//! endpoint's start, and a scheduled cache refresh with an initial delay.
//!
//! The Python original (the netcore paper, "Implementation"):
//!
//! ```python
//! from netcore import Endpoint, Pipe, Blueprint, Response
//!
//! pipe = Pipe(recv_func, send_func)
//! endpoint = Endpoint(pipe)
//!
//! user_bp = Blueprint("users", "/user")
//!
//! @user_bp.request("/list")
//! def user_list():
//!     data = endpoint.cache.get("user_list")
//!     if data is None:
//!         data = fetch_users()
//!         endpoint.cache.set("user_list", data, ttl=300)
//!     return Response("/user/list", data)
//!
//! endpoint.register_blueprint(user_bp)
//!
//! @endpoint.event.on('start')
//! def on_start():
//!     print("Service started")
//!
//! def update_cache():
//!     endpoint.cache.delete("user_list")
//!
//! endpoint.scheduler.schedule(update_cache, interval=300)
//!
//! endpoint.start()
//! ```
//!
//! The Rust version is the code between `paper:begin` and `paper:end`
//! (`tests/paper_examples.rs` counts its lines against the Python ones); the
//! refresh first runs 10 s after the start, then every 300 s (Python's
//! `schedule(…, delay=10, interval=300)`).
//!
//! As in the paper, the pipe is made from two functions, "receive bytes"
//! and "send bytes" (here over in-process channels, with
//! `netcore::pipe::transport::from_fns`). A client on the other end lists
//! the users three times: from the database, from the cache, and after the
//! scheduled refresh dropped the cached list. The clock is tokio's paused
//! one, so the 10 s pass at once. Run it with
//! `cargo run --example blueprint_cache_scheduler`.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use netcore::pipe::transport::{Transport, from_fns};
use tokio::sync::{Mutex, mpsc};

// paper:begin
use netcore::prelude::*;
use std::time::Duration;

type UserCache = Cache<&'static str, Vec<String>>;

async fn user_list(State(cache): State<UserCache>) -> Json<Vec<String>> {
    let users = cache.get_or_insert_with("user_list", async { fetch_users() });
    Json(users.await)
}

async fn on_start(_: LifecycleEvent) {
    println!("Service started");
}

fn start(pipe: impl IntoPipe) -> Result<Endpoint, StartError> {
    let ttl = Duration::from_secs(300);
    let cache: UserCache = Cache::builder(64).default_ttl(ttl).build();
    let user_bp = Router::with_state(cache.clone()).route("/list", user_list);
    let update_cache = move || {
        let cache = cache.clone();
        async move { cache.invalidate(&"user_list").await }
    };
    Endpoint::builder()
        .nest("/user", user_bp)
        .on(LifecycleKind::Started, on_start)
        .every_after(Duration::from_secs(10), ttl, update_cache)
        .start(pipe)
}
// paper:end

/// How many times "the database" was read.
static DATABASE_READS: AtomicUsize = AtomicUsize::new(0);

/// The paper's `fetch_users`: a read from a database, slow in real life.
fn fetch_users() -> Vec<String> {
    DATABASE_READS.fetch_add(1, Ordering::SeqCst);
    vec!["ada".into(), "grace".into(), "alan".into()]
}

/// A transport from two functions, "receive bytes" and "send bytes", as
/// the paper's `Pipe(recv_func, send_func)`: here over channels.
fn pipe_from_functions(
    incoming: mpsc::Receiver<Bytes>,
    outgoing: mpsc::Sender<Bytes>,
) -> impl Transport {
    let incoming = Arc::new(Mutex::new(incoming));
    let recv_func = move || {
        let incoming = Arc::clone(&incoming);
        // An empty chunk is the end of the stream.
        async move { Ok(incoming.lock().await.recv().await.unwrap_or_default()) }
    };
    let send_func = move |bytes: Bytes| {
        let outgoing = outgoing.clone();
        async move { outgoing.send(bytes).await.map_err(std::io::Error::other) }
    };
    from_fns(recv_func, send_func)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), netcore::BoxError> {
    tokio::time::pause();
    let (to_server, server_in) = mpsc::channel(64);
    let (to_client, client_in) = mpsc::channel(64);
    let server = start(pipe_from_functions(server_in, to_client))?;
    let client = Endpoint::builder().start(pipe_from_functions(client_in, to_server))?;

    let first: Vec<String> = client.peer().call_json("/user/list", &()).await?;
    let second: Vec<String> = client.peer().call_json("/user/list", &()).await?;
    println!("/user/list: {first:?}, then {second:?} from the cache");
    assert_eq!(DATABASE_READS.load(Ordering::SeqCst), 1);

    tokio::time::sleep(Duration::from_secs(11)).await; // the refresh ran at 10 s
    let third: Vec<String> = client.peer().call_json("/user/list", &()).await?;
    println!("after the scheduled refresh: {third:?}, read again from the database");
    assert_eq!(DATABASE_READS.load(Ordering::SeqCst), 2);

    client.close().await?;
    server.closed().await?;
    println!("closed gracefully");
    Ok(())
}
