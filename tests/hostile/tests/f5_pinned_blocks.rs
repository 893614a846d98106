//! F5: a body chunk handed up as a slice of the read buffer keeps the whole
//! buffer alive. A peer that sends each 16 KiB chunk with half a MiB of
//! PINGs around it, to streams nobody reads, made 3.75 MiB of body hold
//! 124 MiB (found by `benches/resources.rs`). Chunks that are not most of
//! what a read brought are copied out now: what is held stays near the body
//! bytes sent.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::server::HOLD_ROUTE;
use netcore_hostile::wire::{self, PRIORITY_NORMAL};
use netcore_hostile::{HeapGauge, TestServer, fresh_client_served, mib};

netcore_hostile::heap_meter!();

const BOUND: usize = 32 << 20;
const STREAMS: u64 = 160;
const CHUNK: usize = 16 << 10;
const PINGS_BETWEEN: u64 = (512 << 10) / 26;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_among_pings_do_not_pin_read_buffers() {
    let (server, mut attacker) = TestServer::with_attacker(ServerConfig::default()).await;
    let mut gauge = HeapGauge::start(heap_bytes);
    let started = std::time::Instant::now();
    let pings: Vec<u8> = (0..PINGS_BETWEEN).flat_map(wire::ping).collect();
    let mut sent = 0usize;
    for id in 1..=STREAMS {
        let mut burst = wire::open(
            id,
            PRIORITY_NORMAL,
            None,
            &wire::call_headers(HOLD_ROUTE, id),
            b"",
        );
        burst.extend(wire::data(id, 0, &[0x5A; CHUNK]));
        burst.extend_from_slice(&pings);
        match attacker.send_within(&burst, Duration::from_secs(1)).await {
            Ok(true) => sent += CHUNK,
            Ok(false) | Err(_) => break,
        }
        if gauge.sample() > 4 * BOUND {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    gauge.assert_under(
        BOUND,
        &format!("F5: {:.1} MiB of chunks among PINGs", mib(sent)),
        started.elapsed(),
    );
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
