//! Events: lifecycle and user topics, `on` / `once` / `off`, concurrency,
//! failure isolation and logging.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netcore_endpoint::PeerId;
use netcore_endpoint::events::{
    Events, Lifecycle, LifecycleEvent, LifecycleKind, ListenerResult, Typed,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

mod common;
use common::Capture;

/// Every test is bounded: a hang fails instead of stalling the suite.
const GUARD: Duration = Duration::from_secs(10);

async fn bounded<F: IntoFuture>(future: F) -> F::Output {
    timeout(GUARD, future).await.expect("test step timed out")
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[tokio::test]
async fn lifecycle_listeners_get_their_kinds() {
    let events = Events::new();
    let all = Arc::new(Mutex::new(Vec::new()));
    let connects = Arc::new(Mutex::new(Vec::new()));

    let seen = Arc::clone(&all);
    events.on(Lifecycle, move |event: LifecycleEvent| {
        let seen = Arc::clone(&seen);
        async move { seen.lock().expect("not poisoned").push(event) }
    });
    let seen = Arc::clone(&connects);
    events.on(
        LifecycleKind::PeerConnected,
        move |event: LifecycleEvent| {
            let seen = Arc::clone(&seen);
            async move { seen.lock().expect("not poisoned").push(event) }
        },
    );

    let sequence = vec![
        LifecycleEvent::Started,
        LifecycleEvent::PeerConnected { peer: PeerId(1) },
        LifecycleEvent::Request {
            peer: PeerId(1),
            route: "/users/list".into(),
            message_id: 9,
        },
        LifecycleEvent::Reply {
            peer: PeerId(1),
            route: "/users/list".into(),
            message_id: 9,
            ok: true,
        },
        LifecycleEvent::MessageCancelled {
            peer: PeerId(1),
            message_id: 11,
        },
        LifecycleEvent::TransportError {
            peer: PeerId(1),
            error: "broken pipe".into(),
        },
        LifecycleEvent::PeerDisconnected {
            peer: PeerId(1),
            reason: Some("broken pipe".into()),
        },
        LifecycleEvent::PeerConnected { peer: PeerId(2) },
        LifecycleEvent::Stopped,
    ];
    for event in &sequence {
        // Awaiting each delivery keeps the order observable.
        let report = bounded(events.emit_lifecycle(event.clone())).await;
        let expected = if event.kind() == LifecycleKind::PeerConnected {
            2
        } else {
            1
        };
        assert_eq!(report.succeeded, expected, "{event}");
    }

    assert_eq!(*all.lock().expect("not poisoned"), sequence);
    assert_eq!(
        *connects.lock().expect("not poisoned"),
        vec![
            LifecycleEvent::PeerConnected { peer: PeerId(1) },
            LifecycleEvent::PeerConnected { peer: PeerId(2) },
        ]
    );
}

#[test]
fn lifecycle_kinds_and_display() {
    assert_eq!(LifecycleKind::ALL.len(), 8);
    let names: Vec<_> = LifecycleKind::ALL.iter().map(|kind| kind.name()).collect();
    assert_eq!(
        names,
        [
            "started",
            "stopped",
            "peer_connected",
            "peer_disconnected",
            "request",
            "reply",
            "message_cancelled",
            "transport_error"
        ]
    );
    let event = LifecycleEvent::PeerDisconnected {
        peer: PeerId(4),
        reason: None,
    };
    assert_eq!(event.kind(), LifecycleKind::PeerDisconnected);
    assert_eq!(event.peer(), Some(PeerId(4)));
    assert_eq!(event.to_string(), format!("{} disconnected", PeerId(4)));
    assert_eq!(LifecycleEvent::Started.peer(), None);
}

#[tokio::test]
async fn user_events_carry_json_and_typed_payloads() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Joined {
        name: String,
        id: u32,
    }

    let events = Events::new();
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel();
    let (typed_tx, mut typed_rx) = mpsc::unbounded_channel();
    events.on("user-joined", move |payload: Value| {
        let raw_tx = raw_tx.clone();
        async move { raw_tx.send(payload).expect("test alive") }
    });
    events.on(Typed::new("user-joined"), move |joined: Joined| {
        let typed_tx = typed_tx.clone();
        async move { typed_tx.send(joined).expect("test alive") }
    });
    // A listener of another name hears nothing.
    let other = counter();
    let hits = Arc::clone(&other);
    events.on(String::from("user-left"), move |_payload: Value| {
        hits.fetch_add(1, Ordering::SeqCst);
        async {}
    });

    let report = bounded(
        events
            .emit("user-joined", json!({ "name": "ada", "id": 1 }))
            .expect("serializable"),
    )
    .await;
    assert_eq!(report.succeeded, 2);
    assert_eq!(report.total(), 2);
    assert_eq!(raw_rx.recv().await, Some(json!({ "name": "ada", "id": 1 })));
    assert_eq!(
        typed_rx.recv().await,
        Some(Joined {
            name: "ada".into(),
            id: 1
        })
    );

    // Any `Serialize` payload: a struct goes through JSON.
    #[derive(serde::Serialize)]
    struct Outgoing<'a> {
        name: &'a str,
        id: u32,
    }
    let report = bounded(
        events
            .emit("user-joined", Outgoing { name: "bob", id: 2 })
            .expect("serializable"),
    )
    .await;
    assert_eq!(report.succeeded, 2);
    assert_eq!(
        typed_rx.recv().await,
        Some(Joined {
            name: "bob".into(),
            id: 2
        })
    );
    assert_eq!(other.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_payload_that_does_not_fit_is_rejected_for_that_listener_only() {
    #[derive(Debug, Deserialize)]
    struct Joined {
        #[allow(dead_code, reason = "only the shape matters")]
        name: String,
    }

    let logs = Capture::install();
    let events = Events::new();
    let typed_calls = counter();
    let hits = Arc::clone(&typed_calls);
    let once = events.once(
        Typed::new("user-joined"),
        move |_joined: Joined| async move {
            hits.fetch_add(1, Ordering::SeqCst);
        },
    );
    let raw_calls = counter();
    let hits = Arc::clone(&raw_calls);
    events.on("user-joined", move |_payload: Value| {
        hits.fetch_add(1, Ordering::SeqCst);
        async {}
    });

    let report = bounded(
        events
            .emit("user-joined", json!({ "nom": 3 }))
            .expect("serializable"),
    )
    .await;
    assert_eq!((report.succeeded, report.rejected), (1, 1));
    assert_eq!(typed_calls.load(Ordering::SeqCst), 0);
    assert!(logs.contains(tracing::Level::WARN, "event listener skipped"));

    // The `once` listener was not consumed by the payload it rejected.
    assert_eq!(events.listener_count(), 2);
    let report = bounded(
        events
            .emit("user-joined", json!({ "name": "ada" }))
            .expect("serializable"),
    )
    .await;
    assert_eq!((report.succeeded, report.rejected), (2, 0));
    assert_eq!(typed_calls.load(Ordering::SeqCst), 1);
    assert_eq!(raw_calls.load(Ordering::SeqCst), 2);
    assert!(!events.off(once), "a fired `once` listener is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_fires_exactly_once_under_concurrent_emits() {
    for round in 0..20 {
        let events = Events::new();
        let fired = counter();
        let hits = Arc::clone(&fired);
        events.once(Lifecycle, move |_event: LifecycleEvent| async move {
            hits.fetch_add(1, Ordering::SeqCst);
        });
        let also_user = counter();
        let hits = Arc::clone(&also_user);
        events.once("tick", move |_payload: Value| async move {
            hits.fetch_add(1, Ordering::SeqCst);
        });

        let emitters: Vec<_> = (0..16)
            .map(|i| {
                let events = events.clone();
                tokio::spawn(async move {
                    let lifecycle =
                        events.emit_lifecycle(LifecycleEvent::PeerConnected { peer: PeerId(i) });
                    let user = events.emit("tick", i).expect("serializable");
                    (lifecycle.await, user.await)
                })
            })
            .collect();
        let mut started = 0;
        for emitter in emitters {
            let (lifecycle, user) = bounded(emitter).await.expect("emitter task");
            started += lifecycle.succeeded + user.succeeded;
        }
        assert_eq!(fired.load(Ordering::SeqCst), 1, "round {round}");
        assert_eq!(also_user.load(Ordering::SeqCst), 1, "round {round}");
        assert_eq!(started, 2, "round {round}");
        assert_eq!(events.listener_count(), 0);
    }
}

#[tokio::test]
async fn off_removes_a_listener() {
    let events = Events::new();
    let calls = counter();
    let hits = Arc::clone(&calls);
    let id = events.on(LifecycleKind::Started, move |_event: LifecycleEvent| {
        hits.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    let keep = counter();
    let hits = Arc::clone(&keep);
    events.on(LifecycleKind::Started, move |_event: LifecycleEvent| {
        hits.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    let user = events.on("x", |_payload: Value| async {});
    assert_eq!(events.listener_count(), 3);

    bounded(events.emit_lifecycle(LifecycleEvent::Started)).await;
    assert!(events.off(id));
    assert!(!events.off(id), "already removed");
    assert!(events.off(user));
    bounded(events.emit_lifecycle(LifecycleEvent::Started)).await;

    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(keep.load(Ordering::SeqCst), 2);
    assert_eq!(events.listener_count(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn failing_and_panicking_listeners_are_logged_and_isolated() {
    let logs = Capture::install();
    let events = Events::new();
    let ok_calls = counter();

    events.on("job", |_payload: Value| async { Err::<(), _>(Oops) });
    events.on("job", |payload: Value| async move {
        if payload == json!("boom") {
            panic!("listener exploded");
        }
    });
    let hits = Arc::clone(&ok_calls);
    events.on("job", move |_payload: Value| {
        let hits = Arc::clone(&hits);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            Ok::<(), Oops>(())
        }
    });

    let report = bounded(events.emit("job", "boom").expect("serializable")).await;
    assert_eq!(report.succeeded, 1);
    assert_eq!(report.failed, 1);
    assert_eq!(report.panicked, 1);
    assert_eq!(ok_calls.load(Ordering::SeqCst), 1);
    assert!(logs.contains(tracing::Level::WARN, "event listener failed"));
    assert!(logs.contains(tracing::Level::ERROR, "event listener panicked"));
    assert!(logs.any_field_contains("listener exploded"));
    assert!(logs.any_field_contains("oops"));

    // The hub still works, and the panicking listener is still registered.
    let report = bounded(events.emit("job", "calm").expect("serializable")).await;
    assert_eq!(
        (report.succeeded, report.failed, report.panicked),
        (2, 1, 0)
    );
    assert_eq!(ok_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_listener_that_panics_before_its_future_is_isolated_too() {
    let events = Events::new();
    let ok_calls = counter();
    events.on(
        Lifecycle,
        |_event: LifecycleEvent| -> std::future::Ready<()> {
            panic!("panicked while making its future")
        },
    );
    let hits = Arc::clone(&ok_calls);
    events.on(Lifecycle, move |_event: LifecycleEvent| {
        hits.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    let report = bounded(events.emit_lifecycle(LifecycleEvent::Started)).await;
    assert_eq!((report.succeeded, report.panicked), (1, 1));
    assert_eq!(ok_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn emitting_does_not_wait_for_listeners_which_run_concurrently() {
    let events = Events::new();
    // The first listener waits for the second: run one after the other,
    // they would deadlock.
    let (tell_first, first_waits) = oneshot::channel::<()>();
    let tell_first = Arc::new(Mutex::new(Some(tell_first)));
    let first_waits = Arc::new(tokio::sync::Mutex::new(Some(first_waits)));
    events.on("go", move |_payload: Value| {
        let first_waits = Arc::clone(&first_waits);
        async move {
            let waits = first_waits.lock().await.take().expect("fires once");
            waits.await.expect("the second listener ran");
        }
    });
    events.on("go", move |_payload: Value| {
        let tell_first = Arc::clone(&tell_first);
        async move {
            let tell = tell_first.lock().expect("not poisoned").take();
            tell.expect("fires once")
                .send(())
                .expect("first listener waits");
        }
    });
    // A slow listener: the emitter returns long before it ends.
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
    events.on("go", move |_payload: Value| {
        let released = Arc::clone(&released);
        async move {
            let released = released.lock().await.take().expect("fires once");
            released.await.expect("released by the test");
        }
    });

    let delivery = events.emit("go", ()).expect("serializable");
    assert_eq!(delivery.started(), 3);
    // The emitter is free: it can release the slow listener itself.
    release.send(()).expect("slow listener waits");
    let report = bounded(delivery).await;
    assert_eq!(report.succeeded, 3);
}

#[tokio::test(flavor = "current_thread")]
async fn listeners_may_use_the_hub() {
    let events = Events::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let hub = events.clone();
    events.on("ping", move |payload: Value| {
        let hub = hub.clone();
        async move {
            // Emit, register and remove from inside a listener.
            let id = hub.on("unused", |_payload: Value| async {});
            assert!(hub.off(id));
            hub.emit("pong", payload).expect("serializable").await;
        }
    });
    events.on("pong", move |payload: Value| {
        let done_tx = done_tx.clone();
        async move { done_tx.send(payload).expect("test alive") }
    });
    events.emit("ping", 7).expect("serializable");
    assert_eq!(bounded(done_rx.recv()).await, Some(json!(7)));
}

#[tokio::test]
async fn emitting_without_listeners_is_a_no_op() {
    let events = Events::new();
    let delivery = events.emit_lifecycle(LifecycleEvent::Started);
    assert_eq!(delivery.started(), 0);
    assert_eq!(bounded(delivery).await.total(), 0);

    // With nobody listening, the payload is not even serialized.
    let delivery = events
        .emit("nobody", Unserializable)
        .expect("not serialized");
    assert_eq!(delivery.started(), 0);

    // With a listener, a serialization error is reported and nothing runs.
    events.on("somebody", |_payload: Value| async {});
    assert!(events.emit("somebody", Unserializable).is_err());
}

#[test]
fn emitting_outside_a_runtime_delivers_nothing_and_does_not_panic() {
    let events = Events::new();
    events.on(Lifecycle, |_event: LifecycleEvent| async {});
    let delivery = events.emit_lifecycle(LifecycleEvent::Stopped);
    assert_eq!(delivery.started(), 0);
    assert_eq!(events.listener_count(), 1);
}

#[tokio::test]
async fn the_topic_types_the_listener_argument() {
    #[derive(Deserialize)]
    struct Point {
        x: i32,
    }
    let events = Events::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    // No annotations: each closure's argument type comes from its topic.
    let sent = tx.clone();
    events.on(LifecycleKind::Started, move |event| {
        let sent = sent.clone();
        async move { sent.send(format!("{}", event.kind())).expect("test alive") }
    });
    let sent = tx.clone();
    events.on("raw", move |payload| {
        let sent = sent.clone();
        async move { sent.send(payload.to_string()).expect("test alive") }
    });
    let sent = tx;
    events.once(Typed::new("point"), move |point: Point| async move {
        sent.send(point.x.to_string()).expect("test alive")
    });
    assert!(events.has_lifecycle_listener(LifecycleKind::Started));
    assert!(!events.has_lifecycle_listener(LifecycleKind::Stopped));
    assert!(events.has_listener("point"));
    assert!(!events.has_listener("nothing"));

    bounded(events.emit_lifecycle(LifecycleEvent::Started)).await;
    bounded(events.emit("raw", [1, 2]).expect("serializable")).await;
    bounded(
        events
            .emit("point", json!({ "x": -3 }))
            .expect("serializable"),
    )
    .await;
    assert!(!events.has_listener("point"), "the once listener is gone");
    let mut got = Vec::new();
    while let Ok(line) = rx.try_recv() {
        got.push(line);
    }
    assert_eq!(got, ["started", "[1,2]", "-3"]);
}

#[test]
fn listener_results() {
    assert_eq!(().into_listener_result(), Ok(()));
    assert_eq!(Ok::<(), Oops>(()).into_listener_result(), Ok(()));
    assert_eq!(
        Err::<(), _>(Oops).into_listener_result(),
        Err("oops".to_string())
    );
}

#[test]
fn hub_is_send_sync_and_clones_share() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Events>();
    let events = Events::new();
    let clone = events.clone();
    clone.on("x", |_payload: Value| async {});
    assert_eq!(events.listener_count(), 1);
    assert!(format!("{events:?}").contains("listeners: 1"));
}

// --- helpers ---------------------------------------------------------------

#[derive(Debug)]
struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

/// A payload whose serialization fails.
struct Unserializable;

impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("not serializable"))
    }
}
