//! The `metrics` feature: a recorder installed by the application sees the
//! pipes' figures, summed over pipes, and the gauges return to zero when the
//! pipes end.

#![cfg(feature = "metrics")]

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{Message, Pipe, PipeConfig};

/// A recorded figure: its name, its labels and its value.
type Recorded = (String, Vec<(String, String)>, DebugValue);

/// The value of `name` with `labels`, if recorded.
fn value<'a>(
    snapshot: &'a [Recorded],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a DebugValue> {
    snapshot
        .iter()
        .find(|(key, have, _)| {
            key == name
                && have.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && hv == v))
        })
        .map(|(_, _, value)| value)
}

#[test]
fn a_recorder_sees_bytes_messages_and_gauges_back_to_zero() {
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
            let (a, b) = memory_pair(256 << 10);
            let (a, b) = (
                Pipe::new(a, PipeConfig::default()),
                Pipe::new(b, PipeConfig::default()),
            );
            for n in 0..3u8 {
                a.send(Message::new(vec![n; 10_000]))
                    .expect("send")
                    .await
                    .expect("sent");
                let got = b.recv().await.expect("received");
                assert_eq!(got.body.to_bytes().await.expect("body").len(), 10_000);
            }
            a.close().await.expect("a closes");
            let _ = b.closed().await;
        })
        .await
        .expect("the exchange ends within 20 s");
    });
    let snapshot: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let counter = |name, labels: &[(&str, &str)]| match value(&snapshot, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?} in {snapshot:?}"),
    };
    let gauge = |name, labels: &[(&str, &str)]| match value(&snapshot, name, labels) {
        Some(DebugValue::Gauge(n)) => n.into_inner(),
        other => panic!("{name} {labels:?}: {other:?} in {snapshot:?}"),
    };
    let sent = [("direction", "sent")];
    let received = [("direction", "received")];
    assert_eq!(counter("netcore_pipe_messages_total", &sent), 3);
    assert_eq!(counter("netcore_pipe_messages_total", &received), 3);
    assert!(counter("netcore_pipe_bytes_total", &sent) >= 30_000);
    assert_eq!(
        counter("netcore_pipe_bytes_total", &sent),
        counter("netcore_pipe_bytes_total", &received),
        "both pipes of one link: what one wrote the other read"
    );
    assert!(counter("netcore_pipe_frames_total", &received) >= 3);
    assert_eq!(counter("netcore_pipe_resyncs_total", &[]), 0);
    assert_eq!(gauge("netcore_pipes_open", &[]), 0.0, "both pipes ended");
    for direction in ["outgoing", "incoming"] {
        if let Some(DebugValue::Gauge(n)) = value(
            &snapshot,
            "netcore_pipe_messages_in_flight",
            &[("direction", direction)],
        ) {
            assert_eq!(n.into_inner(), 0.0, "{direction} in flight after the end");
        }
    }
}
