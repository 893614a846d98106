//! The paper's second example, in Rust: a user-list blueprint with a cache,
//! an event and a periodic cache refresh.
//!
//! - `/users/list` answers from a TTL cache, loading from "the database" on a
//!   miss;
//! - `/users/add` adds a user and emits a `user-added` event, whose listener
//!   invalidates the cached list;
//! - a scheduler task refreshes the cached list every 200 ms, so readers
//!   rarely pay for a load.
//!
//! A server and a client run over loopback TCP; the client adds users and
//! lists them; the program prints what happened and exits.
//! Run it with `cargo run --example blueprint_cache_scheduler`.
#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netcore::endpoint::cache::Cache;
use netcore::endpoint::events::Events;
use netcore::endpoint::scheduler::Scheduler;
use netcore::endpoint::{Endpoint, EndpointConfig, Json, Router, Server, ServerConfig, State};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The application's shared state: the "database", the cache, the event hub.
#[derive(Clone)]
struct Users {
    database: Arc<Mutex<Vec<String>>>,
    cache: Cache<&'static str, Vec<String>>,
    loads: Arc<AtomicUsize>,
    events: Events,
}

impl Users {
    /// Reads the whole list from "the database" (slow in real life).
    fn load(&self) -> Vec<String> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.database
            .lock()
            .map(|users| users.clone())
            .unwrap_or_default()
    }
}

async fn list(State(users): State<Users>) -> Json<Vec<String>> {
    let loader = users.clone();
    let list = users
        .cache
        .get_or_insert_with("all", async move { loader.load() })
        .await;
    Json(list)
}

async fn add(State(users): State<Users>, Json(name): Json<String>) -> Json<usize> {
    let count = match users.database.lock() {
        Ok(mut database) => {
            database.push(name.clone());
            database.len()
        }
        Err(_) => 0,
    };
    let _ = users.events.emit("user-added", &name);
    Json(count)
}

/// The blueprint: its routes under one prefix, with its own state.
fn users_blueprint(users: Users) -> Router<Users> {
    Router::with_state(users)
        .route("/list", list)
        .route("/add", add)
}

#[tokio::main]
async fn main() -> Result<()> {
    let events = Events::new();
    let users = Users {
        database: Arc::new(Mutex::new(vec!["ada".into(), "grace".into()])),
        cache: Cache::builder(16)
            .default_ttl(Duration::from_secs(5))
            .build(),
        loads: Arc::new(AtomicUsize::new(0)),
        events: events.clone(),
    };

    // The event: a new user makes the cached list stale.
    events.on("user-added", {
        let cache = users.cache.clone();
        move |name: serde_json::Value| {
            let cache = cache.clone();
            async move {
                cache.invalidate(&"all").await;
                println!("  event user-added({name}): cached list invalidated");
            }
        }
    });

    // The periodic refresh.
    let scheduler = Scheduler::new();
    let refreshes = Arc::new(AtomicUsize::new(0));
    scheduler.every(Duration::from_millis(200), {
        let users = users.clone();
        let refreshes = refreshes.clone();
        move || {
            let users = users.clone();
            let refreshes = refreshes.clone();
            async move {
                let fresh = users.load();
                users.cache.insert("all", fresh).await;
                refreshes.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    let routes = Router::new()
        .nest("/users", users_blueprint(users.clone()))
        .build()?;
    let server = Server::new(routes, ServerConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve(listener).await }
    });

    let stream = tokio::net::TcpStream::connect(address).await?;
    let client = Endpoint::new(stream, Router::new().build()?, EndpointConfig::default());
    let peer = client.peer();

    let first: Vec<String> = peer.call_json("/users/list", &()).await?;
    println!("list: {first:?}");
    let count: usize = peer.call_json("/users/add", "alan").await?;
    println!("add alan -> {count} users");
    tokio::time::sleep(Duration::from_millis(50)).await; // let the event listener run
    let second: Vec<String> = peer.call_json("/users/list", &()).await?;
    println!("list: {second:?}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let third: Vec<String> = peer.call_json("/users/list", &()).await?;
    println!("list after the scheduler ran: {third:?}");
    assert!(third.contains(&"alan".to_owned()));
    println!(
        "{} loads from the database ({} by the scheduler), the rest served from the cache",
        users.loads.load(Ordering::SeqCst),
        refreshes.load(Ordering::SeqCst)
    );

    client.close().await?;
    scheduler.shutdown();
    server.shutdown(Duration::from_secs(5)).await;
    serving.await??;
    Ok(())
}
