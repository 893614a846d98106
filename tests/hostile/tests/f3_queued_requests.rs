//! F3: 256 slow calls fill the handler slots; many more empty-body calls
//! (which cost no flow-control credit) must not queue without a bound
//! (`EndpointConfig::max_queued_requests`). Once the slow handlers finish,
//! the server still serves.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::server::{PING_ROUTE, SLOW_FOR, SLOW_ROUTE};
use netcore_hostile::wire::{self, PRIORITY_NORMAL};
use netcore_hostile::{HeapGauge, TestServer, fresh_client_served};

netcore_hostile::heap_meter!();

const BOUND: usize = 32 << 20;
const SLOW_CALLS: u64 = 256;
const EMPTY_CALLS: u64 = 50_000;
const BATCH: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_are_bounded() {
    let (server, mut attacker) = TestServer::with_attacker(ServerConfig::default()).await;
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
    gauge.assert_under(BOUND, &format!("F3: {} calls", next - 1), started.elapsed());
    tokio::time::sleep(SLOW_FOR).await;
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("served after the slow handlers finish");
}
