//! The Netcore demo: a server and a client over loopback TCP, in one process.
//!
//! It shows, with measured figures:
//! - a blueprint (`/users`) with its own middleware (a tower layer counting
//!   requests) and a before hook (an API key check);
//! - a typed call (`#[derive(Route)]`: path, request and response declared
//!   once, with a schema fingerprint), answered from a TTL cache on the
//!   second ask;
//! - a scheduler refreshing the cache periodically;
//! - lifecycle and user events;
//! - eight concurrent 32 MiB uploads on the same connection, during which
//!   small calls still answer in about a millisecond;
//! - a graceful shutdown.
//!
//! Run it with `cargo run --release --example demo`. `cargo run --release
//! --example wire_format` shows the layer below: frames, damage and resync.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::endpoint::cache::Cache;
use netcore::endpoint::events::{Events, Lifecycle, LifecycleEvent};
use netcore::endpoint::scheduler::Scheduler;
use netcore::endpoint::{
    CallOptions, Endpoint, EndpointConfig, Reply, ReplyCode, ReplyError, Request, Route, Router,
    Server, ServerConfig, State, Streamed,
};
use netcore::pipe::protocol::Priority;
use netcore::transports::tcp::{self, TcpOptions};
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u32,
    name: String,
}

#[derive(Clone)]
struct App {
    cache: Cache<u32, User>,
    loads: Arc<AtomicUsize>,
    events: Events,
}

/// The typed route `/users/get`: its path, request and response types are
/// declared once, for the server handler and the client call alike.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/users/get", response = User, crate = netcore::endpoint)]
struct GetUser {
    id: u32,
}

/// A user by id, from the cache or "the database".
async fn get_user(
    GetUser { id }: GetUser,
    State(app): State<App>,
) -> std::result::Result<User, ReplyError> {
    if id == 0 {
        return Err(ReplyError::new(ReplyCode::NOT_FOUND, "no user 0"));
    }
    let loads = app.loads.clone();
    let user = app
        .cache
        .get_or_insert_with(id, async move {
            loads.fetch_add(1, Ordering::SeqCst);
            User {
                id,
                name: format!("user-{id}"),
            }
        })
        .await;
    let _ = app.events.emit("user-viewed", &user);
    Ok(user)
}

/// `/files/upload`: reads the body as it arrives (never holding it whole),
/// answers its length.
async fn upload(Streamed(mut body): Streamed) -> std::result::Result<String, ReplyError> {
    let mut total = 0usize;
    while let Some(chunk) = body.next().await {
        total += chunk
            .map_err(|e| ReplyError::bad_request(e.to_string()))?
            .len();
    }
    Ok(total.to_string())
}

async fn ping() -> &'static str {
    "pong"
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let started = Instant::now();
    println!("Netcore demo: a server and a client over loopback TCP\n");

    // ----- the server: a blueprint with middleware, a cache, a scheduler, events
    let events = Events::new();
    let app = App {
        cache: Cache::builder(1000)
            .default_ttl(Duration::from_secs(60))
            .build(),
        loads: Arc::new(AtomicUsize::new(0)),
        events: events.clone(),
    };
    let middleware_count = Arc::new(AtomicU64::new(0));
    let users = Router::with_state(app.clone())
        .typed(get_user)
        // Middleware: a tower layer counting the blueprint's requests.
        .layer(tower::util::MapRequestLayer::new({
            let count = middleware_count.clone();
            move |request: Request| {
                count.fetch_add(1, Ordering::SeqCst);
                request
            }
        }))
        .before(|request: Request| async move {
            match request.headers.get_str("api-key") {
                Some("demo") => Ok(request),
                _ => Err(Reply::error(ReplyCode(401), "missing or wrong api-key")),
            }
        });
    let routes = Router::new()
        .nest("/users", users)
        .route("/files/upload", upload)
        .route("/ping", ping)
        .build()?;

    let lifecycle = Arc::new(std::sync::Mutex::new(Vec::new()));
    events.on(Lifecycle, {
        let lifecycle = lifecycle.clone();
        move |event: LifecycleEvent| {
            let lifecycle = lifecycle.clone();
            async move {
                if let Ok(mut seen) = lifecycle.lock() {
                    seen.push(event.kind());
                }
            }
        }
    });
    let viewed = Arc::new(AtomicUsize::new(0));
    events.on("user-viewed", {
        let viewed = viewed.clone();
        move |_user: serde_json::Value| {
            let viewed = viewed.clone();
            async move {
                viewed.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let config = ServerConfig::default()
        .with_endpoint(EndpointConfig::default().with_events(events.clone()));
    let server = Server::new(routes, config);
    // Connections come out tuned for a pipe: no Nagle, a bounded kernel
    // send queue (small calls stay fast beside bulk), keepalive.
    let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
    let address = listener.local_addr();
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve(listener).await }
    });

    // The scheduler refreshes the cache every 50 ms.
    let scheduler = Scheduler::new();
    let ticks = Arc::new(AtomicUsize::new(0));
    scheduler.every(Duration::from_millis(50), {
        let cache = app.cache.clone();
        let ticks = ticks.clone();
        move || {
            let cache = cache.clone();
            let ticks = ticks.clone();
            async move {
                cache
                    .insert(
                        1,
                        User {
                            id: 1,
                            name: "ada (refreshed)".into(),
                        },
                    )
                    .await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    // ----- the client
    let client = Endpoint::builder().start(tcp::connect(address, &TcpOptions::default()).await?)?;
    let peer = client.peer().clone();
    let mut keyed = CallOptions::default();
    keyed.headers.insert("api-key", "demo")?;

    // Typed call, twice: the second is a cache hit.
    let call = |id: u32| {
        let peer = peer.clone();
        let options = keyed.clone();
        async move { peer.call_typed_with(&GetUser { id }, options).await }
    };
    let first_call = Instant::now();
    let user = call(42).await?;
    let first = first_call.elapsed();
    let second_call = Instant::now();
    let again = call(42).await?;
    let second = second_call.elapsed();
    assert_eq!(user.name, again.name);
    let refused = peer.call_typed(&GetUser { id: 42 }).await;
    println!("1. blueprint /users with middleware and an api-key hook");
    println!(
        "   typed call GetUser {{ id: 42 }} (#[derive(Route)], JSON, schema-checked) -> {:?} in {:.0} µs; again in {:.0} µs; {} load(s) from the \"database\" (the second was a cache hit)",
        user.name,
        first.as_secs_f64() * 1e6,
        second.as_secs_f64() * 1e6,
        app.loads.load(Ordering::SeqCst)
    );
    println!(
        "   without the api key: {}",
        refused
            .err()
            .map_or_else(|| "accepted?!".to_owned(), |e| e.to_string())
    );

    // Wait for a couple of scheduler ticks and read the refreshed entry.
    while ticks.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refreshed = call(1).await?;
    println!(
        "2. scheduler: {} cache refreshes so far; /users/get(1) -> {:?}",
        ticks.load(Ordering::SeqCst),
        refreshed.name
    );

    // ----- bulk uploads with small calls alongside
    const BULK: usize = 32 << 20;
    let body = Bytes::from(vec![0x42u8; BULK]);
    let bulk_started = Instant::now();
    let uploads: Vec<_> = (0..8)
        .map(|_| {
            let peer = peer.clone();
            let body = body.clone();
            // Bulk goes in the low tier: small calls overtake it at once.
            let options = CallOptions::default().with_priority(Some(Priority::LOW));
            tokio::spawn(async move { peer.call_with("/files/upload", body, options).await })
        })
        .collect();
    let mut round_trips = Vec::new();
    while uploads.iter().any(|u| !u.is_finished()) && round_trips.len() < 5000 {
        let sent = Instant::now();
        peer.call("/ping", "").await?;
        round_trips.push(sent.elapsed());
    }
    let mut uploaded = 0u64;
    for upload in uploads {
        let reply = upload.await??;
        uploaded += String::from_utf8_lossy(&reply.body).parse::<u64>()?;
    }
    let bulk_time = bulk_started.elapsed();
    assert_eq!(uploaded, 8 * BULK as u64, "every byte arrived");
    round_trips.sort();
    let percentile = |q: f64| {
        let at = ((round_trips.len() as f64 * q) as usize).min(round_trips.len().saturating_sub(1));
        round_trips.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "3. eight concurrent 32 MiB uploads on the same connection: {} MiB in {:.0} ms ({:.2} GB/s)",
        uploaded >> 20,
        bulk_time.as_secs_f64() * 1e3,
        uploaded as f64 / bulk_time.as_secs_f64() / 1e9
    );
    println!(
        "   meanwhile {} small calls answered: median {:.2} ms, p99 {:.2} ms",
        round_trips.len(),
        percentile(0.5),
        percentile(0.99)
    );

    // ----- shutdown
    client.close().await?;
    scheduler.shutdown();
    server.shutdown(Duration::from_secs(5)).await;
    serving.await??;
    tokio::time::sleep(Duration::from_millis(20)).await; // let event listeners finish
    let seen = lifecycle
        .lock()
        .map(|seen| seen.clone())
        .unwrap_or_default();
    let count = |kind: &str| seen.iter().filter(|k| format!("{k:?}") == kind).count();
    println!(
        "4. events: {} requests, {} replies, {} peer connected, {} disconnected, started/stopped {}/{}; {} user-viewed events; the blueprint's middleware saw {} requests",
        count("Request"),
        count("Reply"),
        count("PeerConnected"),
        count("PeerDisconnected"),
        count("Started"),
        count("Stopped"),
        viewed.load(Ordering::SeqCst),
        middleware_count.load(Ordering::SeqCst)
    );
    println!(
        "\ndone in {:.2} s: closed gracefully, every upload intact.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
