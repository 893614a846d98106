//! Property: random mixes of message sizes, priorities, cancels, chunk
//! sizes and read/write splits — every message that was not cancelled
//! arrives exactly once, byte-identical; a cancelled one arrives intact or
//! not at all.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::Priority;
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{Message, Pipe, PipeConfig, SendHandle};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    len: usize,
    priority: u8,
    cancel: bool,
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![0usize..100, 100usize..5_000, 5_000usize..400_000],
        prop_oneof![Just(64u8), Just(128), Just(192)],
        prop::bool::weighted(0.2),
    )
        .prop_map(|(len, priority, cancel)| Spec {
            len,
            priority,
            cancel,
        })
}

fn body(n: usize, len: usize) -> Bytes {
    (0..len).map(|i| (i ^ (n * 7919)) as u8).collect()
}

async fn exchange(specs: Vec<Spec>, link_buffer: usize, chunk: usize, read_size: usize) {
    let mut config = PipeConfig::default()
        .with_read_size(read_size)
        .with_write_batch(chunk * 2);
    config.core.chunk_size = chunk;
    let (left, right) = memory_pair(link_buffer);
    let a = Pipe::new(left, config.clone());
    let b = Pipe::new(right, config);
    let mut handles: Vec<(usize, SendHandle)> = Vec::new();
    for (n, spec) in specs.iter().enumerate() {
        let message = Message::new(body(n, spec.len))
            .header("n", n.to_string())
            .expect("header")
            .priority(Priority(spec.priority));
        let handle = a.send(message).expect("send");
        if spec.cancel {
            handle.cancel();
        }
        handles.push((n, handle));
    }
    let expected: usize = specs.iter().filter(|spec| !spec.cancel).count();
    let mut arrived: HashMap<usize, usize> = HashMap::new();
    let mut delivered_needed = 0;
    while delivered_needed < expected {
        let received = b.recv().await.expect("a message");
        let n: usize = received
            .headers
            .get_str("n")
            .and_then(|n| n.parse().ok())
            .expect("numbered");
        let got = received.body.to_bytes().await.expect("body");
        assert!(got == body(n, specs[n].len), "message {n} arrived damaged");
        *arrived.entry(n).or_default() += 1;
        if !specs[n].cancel {
            delivered_needed += 1;
        }
    }
    for (n, mut handle) in handles {
        let result = handle.finished().await;
        if !specs[n].cancel {
            assert!(result.is_ok(), "message {n} failed: {result:?}");
        }
    }
    a.close().await.expect("graceful close");
    // Anything still arriving (a cancelled message that was already sent).
    while let Ok(received) = b.recv().await {
        let n: usize = received
            .headers
            .get_str("n")
            .and_then(|n| n.parse().ok())
            .expect("numbered");
        assert!(specs[n].cancel, "message {n} arrived twice");
        *arrived.entry(n).or_default() += 1;
    }
    for (n, count) in arrived {
        assert_eq!(count, 1, "message {n} arrived {count} times");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_message_not_cancelled_arrives_once_and_intact(
        specs in prop::collection::vec(arb_spec(), 1..24),
        link_buffer in 1usize..100_000,
        chunk in 256usize..70_000,
        read_size in 64usize..70_000,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                exchange(specs, link_buffer, chunk, read_size),
            )
            .await
            .expect("the exchange hung");
        });
    }
}
