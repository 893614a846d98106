//! F5: 1-byte DATA frames spread over 2000 streams whose bodies nobody
//! reads must not cost more than the credit they use (before the fix each
//! chunk pinned its whole read buffer and waited in an unbounded channel).

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::server::HOLD_ROUTE;
use netcore_hostile::wire::{self, PRIORITY_NORMAL};
use netcore_hostile::{HeapGauge, TestServer, fresh_client_served};

netcore_hostile::heap_meter!();

const BOUND: usize = 32 << 20;
const STREAMS: u64 = 2000;
const ROUNDS: u64 = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_chunks_are_bounded() {
    let (server, mut attacker) = TestServer::with_attacker(ServerConfig::default()).await;
    let opens: Vec<u8> = (1..=STREAMS)
        .flat_map(|id| {
            wire::open(
                id,
                PRIORITY_NORMAL,
                None,
                &wire::call_headers(HOLD_ROUTE, id),
                b"",
            )
        })
        .collect();
    attacker.send(&opens).await.expect("opens");
    let mut gauge = HeapGauge::start(heap_bytes);
    let started = std::time::Instant::now();
    let mut chunks = 0;
    for offset in 0..ROUNDS {
        let round: Vec<u8> = (1..=STREAMS)
            .flat_map(|id| wire::data(id, offset, &[0xA5]))
            .collect();
        match attacker.send_within(&round, Duration::from_secs(1)).await {
            Ok(true) => chunks += STREAMS,
            Ok(false) | Err(_) => break,
        }
        if gauge.sample() > 4 * BOUND {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    gauge.assert_under(
        BOUND,
        &format!("F5: {chunks} 1-byte chunks over {STREAMS} streams"),
        started.elapsed(),
    );
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
