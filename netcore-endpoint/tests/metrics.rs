//! The `metrics` feature: calls counted by outcome and timed, requests
//! counted, as an installed recorder sees them.

#![cfg(feature = "metrics")]

use std::time::Duration;

use bytes::Bytes;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use netcore_endpoint::Endpoint;
use netcore_pipe::transport::memory_pair;

#[test]
fn calls_and_requests_are_counted_by_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).expect("the only recorder in this process");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let (a, b) = memory_pair(64 << 10);
            let _server = Endpoint::builder()
                .route("/echo", |body: Bytes| async move { body })
                .start(b)
                .expect("a server");
            let client = Endpoint::builder().start(a).expect("a client");
            for _ in 0..2 {
                let reply = client.peer().call("/echo", "hi").await.expect("echoed");
                assert_eq!(reply.body, "hi");
            }
            let missing = client.peer().call("/nowhere", "").await;
            assert!(missing.is_err(), "no such route");
        })
        .await
        .expect("the calls end within 20 s");
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let find = |name: &str, outcome: &str| {
        snapshot.iter().find_map(|(key, _, _, value)| {
            let key = key.key();
            let labelled = key
                .labels()
                .any(|label| label.key() == "outcome" && label.value() == outcome);
            (key.name() == name && labelled).then_some(value)
        })
    };
    let counter = |name: &str, outcome: &str| match find(name, outcome) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name}{{outcome={outcome}}}: {other:?} in {snapshot:?}"),
    };
    assert_eq!(counter("netcore_calls_total", "ok"), 2);
    assert_eq!(counter("netcore_calls_total", "remote_error"), 1);
    assert_eq!(counter("netcore_requests_total", "ok"), 2);
    match find("netcore_call_duration_seconds", "ok") {
        Some(DebugValue::Histogram(samples)) => {
            assert_eq!(samples.len(), 2, "one duration per call");
            assert!(samples.iter().all(|took| took.into_inner() > 0.0));
        }
        other => panic!("no call durations: {other:?}"),
    }
    // The pipe's figures come with the endpoint's.
    assert!(
        snapshot
            .iter()
            .any(|(key, _, _, _)| key.key().name() == "netcore_pipe_messages_total"),
        "pipe figures missing: {snapshot:?}"
    );
}
