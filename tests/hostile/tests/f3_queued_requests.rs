//! F3: 256 slow calls fill the handler slots; many more empty-body calls
//! (which cost no flow-control credit) must not queue without a bound
//! (`EndpointConfig::max_queued_requests`). Once the slow handlers finish,
//! the server still serves.

#![allow(clippy::print_stderr, reason = "the test prints its figure")]

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::server::{PING_ROUTE, SLOW_FOR, SLOW_ROUTE};
use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL};
use netcore_hostile::{HeapGauge, RawPeer, TestServer, fresh_client_served, mib};

netcore_hostile::heap_meter!();

const BOUND: usize = 32 << 20;
const SLOW_CALLS: u64 = 256;
const EMPTY_CALLS: u64 = 50_000;
const BATCH: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_are_bounded() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut attacker =
        RawPeer::handshake(server.addr, &HelloFields::default(), Duration::from_secs(5))
            .await
            .expect("handshake");
    let mut gauge = HeapGauge::start(heap_bytes);
    let call = |id: u64, route: &str| {
        wire::open(
            id,
            PRIORITY_NORMAL,
            Some(0),
            &wire::call_headers(route, id),
            b"",
        )
    };
    let slow: Vec<u8> = (1..=SLOW_CALLS)
        .flat_map(|id| call(id, SLOW_ROUTE))
        .collect();
    attacker.send(&slow).await.expect("slow calls");
    let started = std::time::Instant::now();
    let mut next = SLOW_CALLS + 1;
    while next <= SLOW_CALLS + EMPTY_CALLS {
        let batch: Vec<u8> = (next..next + BATCH)
            .flat_map(|id| call(id, PING_ROUTE))
            .collect();
        // Back-pressure (the server stops reading) or a GOAWAY end the flood.
        match attacker.send_within(&batch, Duration::from_secs(1)).await {
            Ok(true) => next += BATCH,
            Ok(false) | Err(_) => break,
        }
        if gauge.sample() > 4 * BOUND {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    gauge.sample();
    assert!(
        gauge.peak_growth() < BOUND,
        "F3: {} calls grew the heap by {:.1} MiB in {:?} (bound {:.0} MiB)",
        next - 1,
        mib(gauge.peak_growth()),
        started.elapsed(),
        mib(BOUND)
    );
    // The figure, for the record (`--nocapture` shows it).
    eprintln!(
        "F3: {} calls grew the heap by {:.1} MiB in {:?} (bound {:.0} MiB)",
        next - 1,
        mib(gauge.peak_growth()),
        started.elapsed(),
        mib(BOUND)
    );
    tokio::time::sleep(SLOW_FOR).await;
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("served after the slow handlers finish");
}
