//! F5: OPEN headers must count against a budget: many OPENs with 16 KiB
//! header blocks over several connections, their bodies never sent, must
//! not grow the server without a bound.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::server::HOLD_ROUTE;
use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL};
use netcore_hostile::{HeapGauge, RawPeer, TestServer, fresh_client_served};

netcore_hostile::heap_meter!();

const BOUND: usize = 32 << 20;
const CONNECTIONS: usize = 4;
const OPENS: u64 = 1024;

/// A call header block just under the default 16 KiB `max_header_bytes`.
fn big_headers(call: u64) -> Vec<u8> {
    let mut block = wire::call_headers(HOLD_ROUTE, call);
    let padding = vec![b'x'; (16 << 10) - block.len() - 3 - 3];
    block.extend(wire::header_block(&[("pad", padding)]));
    block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_bytes_are_bounded() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut attackers = Vec::new();
    for _ in 0..CONNECTIONS {
        attackers.push(
            RawPeer::handshake(server.addr, &HelloFields::default(), Duration::from_secs(5))
                .await
                .expect("handshake"),
        );
    }
    let mut gauge = HeapGauge::start(heap_bytes);
    let started = std::time::Instant::now();
    let mut opened = 0;
    'attack: for id in 1..=OPENS {
        // One body byte announced, never sent: the message stays open.
        let open = wire::open(id, PRIORITY_NORMAL, Some(1), &big_headers(id), b"");
        for attacker in &mut attackers {
            match attacker.send_within(&open, Duration::from_secs(1)).await {
                Ok(true) => opened += 1,
                Ok(false) | Err(_) => break 'attack,
            }
        }
        if id % 64 == 0 && gauge.sample() > 4 * BOUND {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    gauge.assert_under(
        BOUND,
        &format!("F5: {opened} OPENs with 16 KiB headers"),
        started.elapsed(),
    );
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
