//! F1: a peer that floods PINGs and never reads must not grow the server
//! (before the fix each PING queued a PONG: ~88 bytes per PING).

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::wire::{self};
use netcore_hostile::{HeapGauge, TestServer, fresh_client_served};

netcore_hostile::heap_meter!();

/// Heap the flood may add to the process.
const BOUND: usize = 16 << 20;
const PINGS: usize = 1_000_000;
const BATCH: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_from_a_peer_that_never_reads_is_bounded() {
    let (server, mut attacker) = TestServer::with_attacker(ServerConfig::default()).await;
    let batch: Vec<u8> = (0..BATCH as u64).flat_map(wire::ping).collect();
    let mut gauge = HeapGauge::start(heap_bytes);
    let started = std::time::Instant::now();
    let mut sent = 0;
    while sent < PINGS {
        // The server may stop reading (back-pressure) or drop us: either
        // ends the flood, neither is a failure.
        match attacker.send_within(&batch, Duration::from_secs(2)).await {
            Ok(true) => sent += BATCH,
            Ok(false) | Err(_) => break,
        }
        if gauge.sample() > 4 * BOUND {
            break; // Failed already; spare the machine.
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    gauge.assert_under(BOUND, &format!("F1: {sent} PINGs"), started.elapsed());
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
