//! Serial end to end over pseudo-terminal pairs (no hardware): 100 small
//! messages each way at once, a 1 MiB message, a graceful close and a peer
//! that dies mid-transfer, all with the serial default
//! [`PipeConfig::lossy_link`]; opening a port by path; errors that name the
//! port and baud rate.
//!
//! These tests run one at a time ([`one_at_a_time`]): pseudo-terminal pairs
//! are not safe to create from several threads at once, and the tests stay
//! clear of each other's pseudo-terminals. (`serial::pair` also serialises
//! creation by itself; under nextest each test is its own process anyway.)
//!
//! Every step is bounded by `tokio::time::timeout` as a failure guard only;
//! assertions are about content and order.
#![cfg(all(feature = "serial", unix))]

mod scenarios;

use std::future::Future;
use std::io;
use std::sync::{Mutex, PoisonError};

use netcore_transports::Error;
use netcore_transports::pipe::protocol::DecodeMode;
use netcore_transports::pipe::{Message, Pipe, PipeConfig};
use netcore_transports::serial::{self, DataBits, FlowControl, Parity, SerialOptions, StopBits};
use scenarios::{KIB, MIB, guarded, streaming};

/// Runs one test at a time, each on a fresh two-thread runtime.
fn one_at_a_time<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _one = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test());
}

/// Two pipes over a fresh pseudo-terminal pair, with the serial defaults.
fn pty_pipes() -> (Pipe, Pipe) {
    let (a, b) = serial::pair().expect("a pseudo-terminal pair");
    let config = SerialOptions::new("unused").pipe;
    (
        serial::from_stream(a, &config),
        serial::from_stream(b, &config),
    )
}

#[test]
fn the_defaults_suit_a_lossy_line() {
    let options = SerialOptions::new("/dev/ttyUSB0");
    assert_eq!(options.path, "/dev/ttyUSB0");
    assert_eq!(options.baud_rate, 115_200);
    assert_eq!(options.data_bits, DataBits::Eight);
    assert_eq!(options.parity, Parity::None);
    assert_eq!(options.stop_bits, StopBits::One);
    assert_eq!(options.flow_control, FlowControl::None);
    assert_eq!(options.pipe.core.decode_mode, DecodeMode::Resync);
    assert_eq!(
        options.pipe.core.chunk_size,
        PipeConfig::lossy_link().core.chunk_size
    );
}

#[test]
fn a_hundred_small_messages_each_way_at_once() {
    one_at_a_time(|| async {
        let (a, b) = pty_pipes();
        scenarios::concurrent_both_ways(&a, &b, 100, 2 * KIB).await;
    });
}

#[test]
fn one_1_mib_message() {
    one_at_a_time(|| async {
        let (a, b) = pty_pipes();
        scenarios::large_message(&a, &b, MIB).await;
        // Both ends still talk afterwards.
        scenarios::concurrent_both_ways(&a, &b, 5, 600).await;
    });
}

#[test]
fn a_graceful_close_lets_messages_in_flight_finish() {
    one_at_a_time(|| async {
        let (a, b) = pty_pipes();
        scenarios::graceful_close(a, b, 4, 64 * KIB).await;
    });
}

#[test]
fn a_peer_that_dies_mid_transfer_fails_the_sender_without_a_hang() {
    one_at_a_time(|| async {
        let (ours, theirs) = serial::pair().expect("a pseudo-terminal pair");
        let path = theirs.name().expect("the pseudo-terminal's path");
        let config = SerialOptions::new(path.as_str()).pipe;
        let a = serial::from_stream(ours, &config);
        // The peer opens its end by path in its own runtime, where it dies;
        // `theirs` is closed once the peer has the line open.
        let (opened, opened_rx) = tokio::sync::oneshot::channel();
        let start_peer = move || {
            let options = SerialOptions::new(path).pipe(streaming(config));
            let pipe = serial::open(&options).expect("open the pseudo-terminal by path");
            let _ = opened.send(());
            pipe
        };
        let dies = scenarios::peer_dies_mid_transfer(a, start_peer, 4 * MIB, 64 * KIB);
        let close_theirs = async {
            let _ = opened_rx.await;
            drop(theirs);
        };
        tokio::join!(dies, close_theirs);
    });
}

#[test]
fn a_port_opened_by_path_with_other_line_settings() {
    one_at_a_time(|| async {
        let (ours, theirs) = serial::pair().expect("a pseudo-terminal pair");
        let path = theirs.name().expect("the pseudo-terminal's path");
        let options = SerialOptions::new(path)
            .baud_rate(9600)
            .parity(Parity::Even)
            .stop_bits(StopBits::Two);
        let b = serial::open(&options).expect("open by path");
        drop(theirs);
        let a = serial::from_stream(ours, &options.pipe);
        a.send(Message::new("to the port opened by path"))
            .expect("send");
        b.send(Message::new("and back")).expect("send");
        let (to_b, to_a) = guarded("both ways", async { tokio::join!(b.recv(), a.recv()) }).await;
        let (to_b, to_a) = (to_b.expect("b receives"), to_a.expect("a receives"));
        assert_eq!(
            to_b.body.to_bytes().await.expect("body"),
            "to the port opened by path"
        );
        assert_eq!(to_a.body.to_bytes().await.expect("body"), "and back");
    });
}

#[test]
fn opening_a_missing_port_names_it_and_the_baud_rate() {
    one_at_a_time(|| async {
        let options = SerialOptions::new("/dev/netcore-no-such-port").baud_rate(57_600);
        let error = serial::open(&options).expect_err("there is no such port");
        assert!(matches!(error, Error::SerialOpen { .. }), "{error:?}");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let message = error.to_string();
        assert!(message.contains("/dev/netcore-no-such-port"), "{message}");
        assert!(message.contains("57600 baud"), "{message}");
    });
}
