//! The connection core driven by hand: two `Connection`s wired back to back,
//! no I/O, no clock. Every assertion is about order and content.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use netcore_protocol::{
    Data, DecodeMode, Encoder, ErrorCode, Frame, Headers, Hello, Limits, Open, Priority,
};

use super::*;
use crate::error::ReceiveError;

/// Two connections back to back, with the events each produced.
struct Wire {
    a: Connection,
    b: Connection,
    now: Instant,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    /// Whether `b` consumes incoming data as it arrives (grants credit).
    b_consumes: bool,
    /// Body bytes that went from `a` to `b`, per message id, in order.
    a_sent_body: Vec<(u64, usize)>,
}

impl Wire {
    /// Two connections that have exchanged HELLOs.
    fn new(config: CoreConfig) -> Wire {
        let mut wire = Wire::fresh(config);
        wire.run();
        wire
    }

    fn fresh(config: CoreConfig) -> Wire {
        let now = Instant::now();
        Wire {
            a: Connection::new(config.clone(), now),
            b: Connection::new(config, now),
            now,
            a_events: Vec::new(),
            b_events: Vec::new(),
            b_consumes: true,
            a_sent_body: Vec::new(),
        }
    }

    fn send(&mut self, priority: Priority, body: Bytes) -> u64 {
        let id = self
            .a
            .open(priority, Headers::new(), Some(body.len() as u64))
            .expect("open");
        self.a.push_body(id, body, true).expect("body");
        id
    }

    /// Moves at most `budget` frames from `a` to `b`, and everything from `b`
    /// to `a`; returns how many frames moved.
    fn step(&mut self, budget: usize) -> usize {
        let mut moved = 0;
        while moved < budget {
            let Some(t) = self.a.poll_transmit(self.now) else {
                break;
            };
            if let Some(id) = t.message_id {
                self.a_sent_body.push((id, t.body_len));
            }
            self.b.handle_input(&t.to_bytes(), self.now);
            moved += 1;
        }
        while let Some(t) = self.b.poll_transmit(self.now) {
            self.a.handle_input(&t.to_bytes(), self.now);
            moved += 1;
        }
        self.drain_events();
        moved
    }

    /// `b` reads what arrived while it did not (grants its credit back),
    /// then consumes as data arrives, and the wire runs to the end.
    fn resume_reading_at_b(&mut self) {
        self.b_consumes = true;
        let backlog: Vec<(u64, u64)> = self
            .b_events
            .iter()
            .filter_map(|e| match e {
                Event::IncomingData { id, bytes } => Some((*id, bytes.len() as u64)),
                _ => None,
            })
            .collect();
        for (id, n) in backlog {
            self.b.consumed(id, n, self.now);
        }
        self.run();
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.a.poll_event() {
            self.a_events.push(event);
        }
        while let Some(event) = self.b.poll_event() {
            if self.b_consumes
                && let Event::IncomingData { id, bytes } = &event
            {
                self.b.consumed(*id, bytes.len() as u64, self.now);
            }
            self.b_events.push(event);
        }
    }

    /// Runs until nothing moves.
    fn run(&mut self) {
        for _ in 0..1_000_000 {
            if self.step(usize::MAX) == 0 {
                return;
            }
        }
        panic!("the connections never went quiet");
    }

    /// Order in which `b` saw messages finish.
    fn finished_at_b(&self) -> Vec<u64> {
        self.b_events
            .iter()
            .filter_map(|e| match e {
                Event::IncomingFinished { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// Body `b` received for message `id`.
    fn body_at_b(&self, id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for event in &self.b_events {
            if let Event::IncomingData { id: got, bytes } = event
                && *got == id
            {
                out.extend_from_slice(bytes);
            }
        }
        out
    }
}

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn hello_comes_first_and_a_small_message_is_one_frame() {
    let mut wire = Wire::fresh(CoreConfig::default());
    let mut headers = Headers::new();
    headers.insert("route", "/echo").expect("header");
    let id = wire.a.open(Priority::HIGH, headers, Some(5)).expect("open");
    wire.a
        .push_body(id, Bytes::from_static(b"hello"), true)
        .expect("body");
    let first = wire.a.poll_transmit(wire.now).expect("HELLO");
    assert_eq!(first.to_bytes()[3], 0x01, "first frame is HELLO");
    assert!(
        wire.a.poll_transmit(wire.now).is_none(),
        "data waits for the peer's HELLO"
    );
    wire.b.handle_input(&first.to_bytes(), wire.now);
    wire.run();
    let opened = wire.b_events.iter().find_map(|e| match e {
        Event::IncomingOpened {
            id,
            headers,
            total_len,
            priority,
        } => Some((
            *id,
            headers.get_str("route").map(str::to_owned),
            *total_len,
            *priority,
        )),
        _ => None,
    });
    assert_eq!(
        opened,
        Some((id, Some("/echo".to_owned()), Some(5), Priority::HIGH))
    );
    assert_eq!(wire.body_at_b(id), b"hello");
    assert_eq!(wire.finished_at_b(), vec![id]);
    assert_eq!(
        wire.a_sent_body,
        vec![(id, 5)],
        "one OPEN frame carried it all"
    );
    assert!(
        wire.a_events
            .iter()
            .any(|e| matches!(e, Event::OutgoingFramed { id: got } if *got == id))
    );
    assert_eq!(wire.a.outgoing_messages(), 0);
    assert_eq!(wire.b.incoming_messages(), 0);
}

#[test]
fn small_messages_overtake_a_big_one_of_equal_priority() {
    let mut wire = Wire::new(CoreConfig::default());
    let big = wire.send(Priority::NORMAL, pattern(64 << 20, 1));
    let small: Vec<u64> = (0..100)
        .map(|i| wire.send(Priority::NORMAL, pattern(100 + i, i as u8)))
        .collect();
    wire.run();
    let finished = wire.finished_at_b();
    assert_eq!(finished.len(), 101);
    assert_eq!(finished.last(), Some(&big), "the big message finishes last");
    for (i, id) in small.iter().enumerate() {
        assert_eq!(wire.body_at_b(*id), pattern(100 + i, i as u8));
    }
    assert_eq!(wire.body_at_b(big), pattern(64 << 20, 1));
}

#[test]
fn a_higher_priority_message_queued_after_bulk_finishes_first() {
    let mut wire = Wire::new(CoreConfig::default());
    let bulk = wire.send(Priority::LOW, pattern(8 << 20, 2));
    wire.step(10); // the bulk transfer is under way
    assert!(wire.a_sent_body.iter().any(|(id, _)| *id == bulk));
    // Small enough for its credit: what is tested is the scheduler.
    let urgent = wire.send(Priority::HIGH, pattern(256 << 10, 3));
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![urgent, bulk]);
    // Once queued, the urgent message went out without a bulk chunk in between.
    let first_urgent = wire.a_sent_body.iter().position(|(id, _)| *id == urgent);
    let last_urgent = wire.a_sent_body.iter().rposition(|(id, _)| *id == urgent);
    let between = &wire.a_sent_body[first_urgent.expect("sent")..=last_urgent.expect("sent")];
    assert!(between.iter().all(|(id, _)| *id == urgent));
}

#[test]
fn equal_messages_started_together_finish_within_one_round() {
    let config = CoreConfig::default();
    let quantum = config.chunk_size;
    let mut wire = Wire::new(config);
    let one = wire.send(Priority::NORMAL, pattern(32 << 20, 4));
    let two = wire.send(Priority::NORMAL, pattern(32 << 20, 5));
    wire.run();
    let mut sent = [0usize; 2];
    let mut gap_at_first_finish = None;
    for (id, len) in &wire.a_sent_body {
        sent[usize::from(*id == two)] += len;
        if gap_at_first_finish.is_none() && sent.contains(&(32 << 20)) {
            gap_at_first_finish = Some(sent[0].abs_diff(sent[1]));
        }
    }
    assert_eq!(sent, [32 << 20, 32 << 20]);
    let gap = gap_at_first_finish.expect("one finished");
    assert!(gap <= quantum, "{gap} bytes apart when the first finished");
    assert_eq!(wire.finished_at_b().len(), 2);
    let _ = one;
}

#[test]
fn sender_cancels_mid_transfer() {
    let mut wire = Wire::new(CoreConfig::default());
    let id = wire.send(Priority::NORMAL, pattern(8 << 20, 6));
    wire.step(20);
    assert!(wire.a.cancel_outgoing(id));
    assert!(!wire.a.cancel_outgoing(id), "already gone");
    let sent_before = wire.a_sent_body.len();
    wire.run();
    assert_eq!(
        wire.a_sent_body.len(),
        sent_before,
        "no DATA after the cancel"
    );
    let failed = wire.b_events.iter().find_map(|e| match e {
        Event::IncomingFailed { id: got, error } if *got == id => Some(error.code()),
        _ => None,
    });
    assert_eq!(failed, Some(ErrorCode::CANCELLED));
    assert!(wire.finished_at_b().is_empty());
    assert_eq!(
        wire.b.incoming_messages(),
        0,
        "receiver released the message"
    );
    assert_eq!(wire.a.stats().cancels, 1);
}

#[test]
fn receiver_cancels_mid_transfer() {
    let mut wire = Wire::new(CoreConfig::default());
    let id = wire.send(Priority::NORMAL, pattern(8 << 20, 7));
    wire.step(20);
    assert!(wire.b.cancel_incoming(id, wire.now));
    wire.run();
    let failed = wire.a_events.iter().find_map(|e| match e {
        Event::OutgoingFailed { id: got, error } if *got == id => Some(error.clone()),
        _ => None,
    });
    assert!(
        matches!(
            failed,
            Some(SendError::CancelledByPeer {
                code: ErrorCode::CANCELLED,
                ..
            })
        ),
        "{failed:?}"
    );
    assert_eq!(wire.a.outgoing_messages(), 0, "sender released the message");
    let sent: usize = wire.a_sent_body.iter().map(|(_, n)| n).sum();
    assert!(sent < 8 << 20, "the sender stopped early ({sent} bytes)");
}

#[test]
fn a_receiver_that_never_reads_stops_the_sender() {
    let config = CoreConfig::default();
    let (message_window, connection_window) = (config.message_window, config.connection_window);
    let mut wire = Wire::new(config);
    wire.b_consumes = false;
    let one = wire.send(Priority::NORMAL, pattern(64 << 20, 8));
    wire.run();
    let sent: usize = wire.a_sent_body.iter().map(|(_, n)| n).sum();
    assert_eq!(
        sent, message_window as usize,
        "one message stops at its window"
    );
    // Many messages stop at the connection window.
    let others: Vec<u64> = (0..40)
        .map(|i| wire.send(Priority::NORMAL, pattern(4 << 20, i)))
        .collect();
    wire.run();
    let sent: usize = wire.a_sent_body.iter().map(|(_, n)| n).sum();
    let reserve = (connection_window as usize / 8).min(2 * config_chunk());
    assert_eq!(
        sent,
        connection_window as usize - reserve,
        "all messages below HIGH stop at the connection window, less the \
         credit kept for HIGH ones"
    );
    // A HIGH message may use that reserve, and nothing more.
    let urgent = wire.send(Priority::HIGH, pattern(1 << 20, 41));
    wire.run();
    let sent: usize = wire.a_sent_body.iter().map(|(_, n)| n).sum();
    assert_eq!(
        sent, connection_window as usize,
        "all messages stop at the connection window"
    );
    assert_eq!(wire.a.outgoing_messages(), 42);
    // Reading resumes the flow, to the end.
    wire.resume_reading_at_b();
    assert_eq!(wire.finished_at_b().len(), 42);
    assert_eq!(wire.body_at_b(one), pattern(64 << 20, 8));
    assert_eq!(wire.body_at_b(others[39]), pattern(4 << 20, 39));
    assert_eq!(wire.body_at_b(urgent), pattern(1 << 20, 41));
}

#[test]
fn the_credit_kept_for_high_goes_to_bulk_when_no_credit_comes() {
    // A receiver that grants credit only once its whole window was read (a
    // policy §2.6 allows) would never grant again if bulk left the reserve
    // unused: after the hold, bulk takes it.
    let config = CoreConfig::default();
    let connection_window = config.connection_window as usize;
    let mut wire = Wire::new(config);
    wire.b_consumes = false;
    for i in 0..8 {
        wire.send(Priority::NORMAL, pattern(4 << 20, i));
    }
    wire.run();
    let sent = |wire: &Wire| -> usize { wire.a_sent_body.iter().map(|(_, n)| n).sum() };
    assert!(sent(&wire) < connection_window, "the reserve is held");
    // The hold ends within 100 ms (two RTTs, at least 10 ms; 100 ms
    // without an RTT).
    let end = wire.now + std::time::Duration::from_millis(100);
    while let Some(deadline) = wire.a.poll_timeout().filter(|at| *at <= end) {
        wire.now = deadline;
        wire.a.handle_timeout(wire.now);
        wire.run();
    }
    assert_eq!(
        sent(&wire),
        connection_window,
        "after the hold, bulk uses the whole window"
    );
}

/// The default chunk size.
fn config_chunk() -> usize {
    CoreConfig::default().chunk_size
}

#[test]
fn a_high_message_beside_bulk_that_used_the_connection_credit_goes_at_once() {
    // Bulk below HIGH fills the connection window of a peer that does not
    // read yet; a HIGH message still has the reserve and goes out whole.
    let mut wire = Wire::new(CoreConfig::default());
    wire.b_consumes = false;
    for i in 0..8 {
        wire.send(Priority::NORMAL, pattern(4 << 20, i));
    }
    wire.run();
    let urgent = wire.send(Priority::HIGH, pattern(64, 9));
    wire.run();
    assert!(
        wire.finished_at_b().contains(&urgent),
        "the HIGH message arrived without waiting for CREDIT"
    );
}

#[test]
fn data_before_hello_is_refused() {
    let mut b = Connection::new(CoreConfig::default(), Instant::now());
    let mut wire = BytesMut::new();
    let data = Frame::Data(Data {
        message_id: 1,
        offset: 0,
        payload: Bytes::from_static(b"x"),
    });
    Encoder::default()
        .encode_into(&data, &mut wire)
        .expect("encodes");
    b.handle_input(&wire, Instant::now());
    let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(
        matches!(
            events.as_slice(),
            [Event::Closed {
                error: Some(ConnectionError::NoHello {
                    kind: netcore_protocol::FrameKind::Data
                }),
                ..
            }]
        ),
        "{events:?}"
    );
    assert!(b.is_closed());
}

#[test]
fn sending_past_the_window_is_a_flow_control_error() {
    let now = Instant::now();
    let config = CoreConfig {
        message_window: 64 << 10,
        ..CoreConfig::default()
    };
    let window = config.message_window as usize;
    let mut b = Connection::new(config, now);
    let encoder = Encoder::default();
    let mut wire = BytesMut::new();
    for frame in [
        Frame::Hello(Hello::new(Limits::default())),
        Frame::Open(Open::new(1, Some(4 << 20))),
        Frame::Data(Data {
            message_id: 1,
            offset: 0,
            payload: pattern(window, 0),
        }),
        Frame::Data(Data {
            message_id: 1,
            offset: window as u64,
            payload: pattern(1, 0),
        }),
    ] {
        encoder.encode_into(&frame, &mut wire).expect("encodes");
    }
    b.handle_input(&wire, now);
    let closed = std::iter::from_fn(|| b.poll_event()).find_map(|e| match e {
        Event::Closed { error, .. } => error,
        _ => None,
    });
    assert!(
        matches!(&closed, Some(ConnectionError::FlowControl { limit, reached, .. }) if *limit == window as u64 && *reached == window as u64 + 1),
        "{closed:?}"
    );
    // The peer is told why.
    let goaway = std::iter::from_fn(|| b.poll_transmit(now))
        .last()
        .expect("GOAWAY");
    assert_eq!(goaway.to_bytes()[3], 0x09);
}

#[test]
fn graceful_close_lets_messages_in_flight_finish() {
    let mut wire = Wire::new(CoreConfig::default());
    let id = wire.send(Priority::NORMAL, pattern(4 << 20, 9));
    wire.step(5);
    wire.a.close(ErrorCode::NO_ERROR, "done");
    assert!(matches!(
        wire.a.open(Priority::NORMAL, Headers::new(), None),
        Err(SendError::Connection(ConnectionError::Closed))
    ));
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![id]);
    assert_eq!(wire.body_at_b(id), pattern(4 << 20, 9));
    for events in [&wire.a_events, &wire.b_events] {
        assert!(
            matches!(events.last(), Some(Event::Closed { error: None, .. })),
            "{:?}",
            events.last()
        );
    }
    assert!(wire.b_events.iter().any(|e| matches!(
        e,
        Event::PeerGoingAway {
            code: ErrorCode::NO_ERROR,
            ..
        }
    )));
}

#[test]
fn end_of_stream_fails_everything_pending() {
    let mut wire = Wire::new(CoreConfig::default());
    wire.b_consumes = false;
    let outgoing = wire.send(Priority::NORMAL, pattern(4 << 20, 10));
    wire.run(); // stuck on flow control, half-way
    wire.a.handle_eof(wire.now);
    wire.b.handle_eof(wire.now);
    wire.drain_events();
    let a_failed = wire.a_events.iter().any(|e| {
        matches!(e, Event::OutgoingFailed { id, error: SendError::Connection(ConnectionError::PeerClosed) } if *id == outgoing)
    });
    let b_failed = wire.b_events.iter().any(|e| {
        matches!(e, Event::IncomingFailed { id, error: ReceiveError::Connection(ConnectionError::PeerClosed) } if *id == outgoing)
    });
    assert!(a_failed && b_failed);
    assert!(matches!(
        wire.a_events.last(),
        Some(Event::Closed {
            error: Some(ConnectionError::PeerClosed),
            ..
        })
    ));
    assert!(wire.a.is_closed() && wire.b.is_closed());
}

#[test]
fn keepalive_measures_the_round_trip_and_idle_links_time_out() {
    let mut wire = Wire::new(CoreConfig::default());
    wire.run();
    wire.a.handle_timeout(wire.now);
    wire.run();
    assert!(wire.a_events.iter().any(|e| matches!(e, Event::Rtt(_))));
    assert!(wire.a.rtt().is_some());
    let timeout = wire.a.poll_timeout().expect("keepalive timer");
    assert!(timeout > wire.now);
    let idle = CoreConfig::default().idle_timeout.expect("an idle timeout");
    let later = wire.now + idle + Duration::from_secs(1);
    wire.a.handle_timeout(later);
    let closed = std::iter::from_fn(|| wire.a.poll_event()).find_map(|e| match e {
        Event::Closed { error, .. } => error,
        _ => None,
    });
    assert!(
        matches!(closed, Some(ConnectionError::IdleTimeout(_))),
        "{closed:?}"
    );
}

#[test]
fn damage_on_a_lossy_link_fails_only_messages_in_flight() {
    let mut wire = Wire::new(CoreConfig::lossy_link());
    let done = wire.send(Priority::NORMAL, pattern(100, 11));
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![done]);
    let hit = wire.send(Priority::NORMAL, pattern(64 << 10, 12));
    wire.step(3);
    // Line noise arrives at b.
    wire.b
        .handle_input(b"\x00\x13noise on the line\x00", wire.now);
    wire.run();
    let failed = wire.b_events.iter().find_map(|e| match e {
        Event::IncomingFailed { id, error } if *id == hit => Some(error.code()),
        _ => None,
    });
    assert_eq!(failed, Some(ErrorCode::DAMAGED));
    let sender_told = wire.a_events.iter().any(|e| {
        matches!(e, Event::OutgoingFailed { id, error: SendError::CancelledByPeer { code: ErrorCode::DAMAGED, .. } } if *id == hit)
    });
    assert!(sender_told, "{:?}", wire.a_events);
    assert!(
        !wire.a.is_closed() && !wire.b.is_closed(),
        "the connection lives on"
    );
    let after = wire.send(Priority::NORMAL, pattern(3000, 13));
    wire.run();
    assert_eq!(wire.body_at_b(after), pattern(3000, 13));
    assert_eq!(wire.b.config().decode_mode, DecodeMode::Resync);
}

#[test]
fn unknown_length_bodies_end_with_end() {
    let mut wire = Wire::new(CoreConfig::default());
    let id = wire
        .a
        .open(Priority::NORMAL, Headers::new(), None)
        .expect("open");
    wire.a
        .push_body(id, pattern(1000, 14), false)
        .expect("chunk");
    wire.run();
    assert!(wire.finished_at_b().is_empty());
    wire.a
        .push_body(id, pattern(500, 15), false)
        .expect("chunk");
    wire.a.push_body(id, Bytes::new(), true).expect("end");
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![id]);
    let mut expected = pattern(1000, 14).to_vec();
    expected.extend_from_slice(&pattern(500, 15));
    assert_eq!(wire.body_at_b(id), expected);
}

#[test]
fn a_body_that_does_not_match_its_length_fails() {
    let mut wire = Wire::new(CoreConfig::default());
    let id = wire
        .a
        .open(Priority::NORMAL, Headers::new(), Some(10))
        .expect("open");
    let error = wire.a.push_body(id, pattern(11, 0), false);
    assert!(matches!(
        error,
        Err(SendError::LengthMismatch {
            announced: 10,
            supplied: 11
        })
    ));
    wire.drain_events();
    assert!(
        wire.a_events
            .iter()
            .any(|e| matches!(e, Event::OutgoingFailed { id: got, .. } if *got == id))
    );
}

#[test]
fn an_open_past_the_connection_window_fails_only_what_was_announced() {
    // Found by the `pipe` fuzz target: the OPEN broke the connection window,
    // and the message it tried to open was reported failed though it was
    // never announced.
    let now = Instant::now();
    let config = CoreConfig {
        connection_window: 1024,
        ..CoreConfig::default()
    };
    let mut b = Connection::new(config, now);
    let encoder = Encoder::default();
    let mut wire = BytesMut::new();
    for frame in [
        Frame::Hello(Hello::new(Limits::default())),
        Frame::Open(Open {
            body: pattern(2000, 0),
            ..Open::new(3, Some(4000))
        }),
    ] {
        encoder.encode_into(&frame, &mut wire).expect("encodes");
    }
    b.handle_input(&wire, now);
    let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::IncomingFailed { .. } | Event::IncomingOpened { .. }
        )),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            error: Some(ConnectionError::FlowControl { .. }),
            ..
        })
    ));
}

#[test]
fn late_frames_of_refused_messages_give_their_credit_back() {
    // Found in review: bytes of messages the receiver had cancelled were
    // released without a connection CREDIT, and once they filled the
    // connection window every later message stalled.
    let mut wire = Wire::new(CoreConfig::default());
    for n in 0..8 {
        wire.send(Priority::NORMAL, pattern(1 << 20, n));
    }
    let mut refused = 0;
    for _ in 0..1000 {
        let moved = wire.step(usize::MAX);
        let opened: Vec<u64> = wire
            .b_events
            .drain(..)
            .filter_map(|e| match e {
                Event::IncomingOpened { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        for id in opened {
            assert!(wire.b.cancel_incoming(id, wire.now));
            refused += 1;
        }
        if moved == 0 {
            break;
        }
    }
    assert_eq!(refused, 8);
    let after = wire.send(Priority::NORMAL, pattern(100_000, 9));
    wire.run();
    assert_eq!(
        wire.body_at_b(after),
        pattern(100_000, 9),
        "the connection stalled"
    );
}

#[test]
fn the_state_walks_from_hello_to_closed_in_order() {
    let mut wire = Wire::fresh(CoreConfig::default());
    assert_eq!(wire.a.state(), ConnectionState::AwaitingHello);
    assert!(wire.a.state().accepts_messages());
    wire.run();
    assert_eq!(wire.a.state(), ConnectionState::Open);
    let id = wire.send(Priority::NORMAL, pattern(1 << 20, 3));
    wire.step(2);
    wire.a.close(ErrorCode::NO_ERROR, "done");
    // Our message is not all framed yet: GOAWAY waits.
    assert_eq!(wire.a.state(), ConnectionState::Closing);
    assert!(!wire.a.state().accepts_messages());
    // A second close changes nothing.
    wire.a.close(ErrorCode::INTERNAL, "again");
    assert_eq!(wire.a.state(), ConnectionState::Closing);
    while wire.a.buffered(id).is_some() {
        wire.step(1);
    }
    wire.drain_events();
    assert_eq!(wire.a.state(), ConnectionState::Draining);
    wire.run();
    assert_eq!(wire.a.state(), ConnectionState::Closed);
    assert_eq!(wire.b.state(), ConnectionState::Closed);
    // The GOAWAY `a` sent went out with the code of the first close.
    assert!(wire.b_events.iter().any(|e| matches!(
        e,
        Event::PeerGoingAway {
            code: ErrorCode::NO_ERROR,
            ..
        }
    )));
}

#[test]
fn a_graceful_end_started_by_the_peer_says_so() {
    let mut wire = Wire::new(CoreConfig::default());
    wire.a.close(ErrorCode::NO_ERROR, "");
    wire.run();
    assert!(matches!(
        wire.a_events.last(),
        Some(Event::Closed {
            error: None,
            by_peer: false
        })
    ));
    assert!(matches!(
        wire.b_events.last(),
        Some(Event::Closed {
            error: None,
            by_peer: true
        })
    ));
    // Opening on a closed connection says who ended it.
    assert!(matches!(
        wire.b.open(Priority::NORMAL, Headers::new(), None),
        Err(SendError::Connection(ConnectionError::PeerClosed))
    ));
    assert!(matches!(
        wire.a.open(Priority::NORMAL, Headers::new(), None),
        Err(SendError::Connection(ConnectionError::Closed))
    ));
}

#[test]
fn opening_after_the_peers_goaway_is_refused_with_the_message_id() {
    let mut wire = Wire::new(CoreConfig::default());
    // `b` is busy sending, so its GOAWAY reaches `a` while `a` still has
    // a message of its own in flight and stays `Closing`.
    wire.b_consumes = false;
    let _busy = wire.send(Priority::NORMAL, pattern(4 << 20, 1));
    wire.run();
    wire.b.close(ErrorCode::NO_ERROR, "");
    wire.run();
    assert_eq!(wire.a.state(), ConnectionState::Closing);
    let refused = wire.a.open(Priority::NORMAL, Headers::new(), None);
    assert!(
        matches!(refused, Err(SendError::Refused(id)) if id >= 2),
        "{refused:?}"
    );
}

#[test]
fn errors_say_whose_fault_they_are() {
    use crate::error::Fault;
    let cases = [
        (
            ConnectionError::PeerClosed.to_string(),
            ConnectionError::PeerClosed.fault(),
            Fault::Peer,
        ),
        (
            ConnectionError::LinkLost { buffered: 3 }.to_string(),
            ConnectionError::LinkLost { buffered: 3 }.fault(),
            Fault::Link,
        ),
        (
            ConnectionError::Closed.to_string(),
            ConnectionError::Closed.fault(),
            Fault::Local,
        ),
        (
            SendError::Refused(4).to_string(),
            SendError::Refused(4).fault(),
            Fault::Peer,
        ),
        (
            "idle".to_owned(),
            ConnectionError::IdleTimeout(Duration::from_secs(1)).fault(),
            Fault::Timeout,
        ),
        (
            "too large".to_owned(),
            SendError::Encode(netcore_protocol::EncodeError::MessageTooLarge { len: 9, max: 8 })
                .fault(),
            Fault::Limit,
        ),
        (
            "truncated".to_owned(),
            ConnectionError::Decode(netcore_protocol::DecodeError::Truncated { buffered: 1 })
                .fault(),
            Fault::Link,
        ),
        (
            "duplicate hello".to_owned(),
            ConnectionError::DuplicateHello.fault(),
            Fault::Peer,
        ),
        (
            "a message failed as its connection did".to_owned(),
            SendError::Connection(ConnectionError::PeerClosed).fault(),
            Fault::Peer,
        ),
        (
            "damaged".to_owned(),
            ReceiveError::Damaged("lost".to_owned()).fault(),
            Fault::Link,
        ),
    ];
    for (error, got, fault) in cases {
        assert_eq!(got, fault, "{error}");
    }
    let io: std::io::Error = ConnectionError::IdleTimeout(Duration::from_secs(1)).into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    let io: std::io::Error = ConnectionError::PeerClosed.into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
    assert!(
        io.get_ref()
            .is_some_and(|inner| inner.is::<ConnectionError>())
    );
}

/// The frames `conn` has to send now, decoded.
fn frames_out(conn: &mut Connection, now: Instant) -> Vec<Frame> {
    let mut decoder = netcore_protocol::Decoder::new(Limits::default());
    let mut bytes = BytesMut::new();
    while let Some(t) = conn.poll_transmit(now) {
        bytes.extend_from_slice(&t.to_bytes());
    }
    std::iter::from_fn(|| match decoder.decode(&mut bytes) {
        Ok(Some(netcore_protocol::Decoded::Frame(frame))) => Some(frame),
        _ => None,
    })
    .collect()
}

fn closed_with(conn: &mut Connection) -> Option<ConnectionError> {
    std::iter::from_fn(|| conn.poll_event()).find_map(|e| match e {
        Event::Closed { error, .. } => error,
        _ => None,
    })
}

#[test]
fn a_ping_flood_owes_one_pong_not_one_per_ping() {
    let mut wire = Wire::new(CoreConfig::default());
    let encoder = Encoder::default();
    let mut flood = BytesMut::new();
    for opaque in 1..=10_000u64 {
        let frame = Frame::Ping(netcore_protocol::Ping { opaque });
        flood.extend_from_slice(&encoder.encode(&frame).expect("ping").to_bytes());
    }
    // The peer floods PINGs and reads nothing: nothing is taken from `b`.
    wire.b.handle_input(&flood, wire.now);
    let pongs: Vec<u64> = frames_out(&mut wire.b, wire.now)
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Pong(pong) => Some(pong.opaque),
            _ => None,
        })
        .collect();
    assert_eq!(pongs, vec![10_000], "only the latest PING is answered");
}

#[test]
fn credits_not_yet_sent_are_replaced_by_newer_ones() {
    let mut wire = Wire::new(CoreConfig::default());
    wire.b_consumes = false;
    let id = wire.send(Priority::NORMAL, pattern(4 << 20, 3));
    wire.step(8);
    // `b` consumes piece by piece while its link is blocked (nothing is
    // taken out): the credits it owes coalesce.
    let arrived: Vec<(u64, usize)> = wire
        .b_events
        .iter()
        .filter_map(|e| match e {
            Event::IncomingData { id, bytes } => Some((*id, bytes.len())),
            _ => None,
        })
        .collect();
    assert!(arrived.len() >= 4, "{arrived:?}");
    for (got, len) in arrived {
        wire.b.consumed(got, len as u64, wire.now);
    }
    let credits: Vec<u64> = frames_out(&mut wire.b, wire.now)
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Credit(credit) => Some(credit.message_id),
            _ => None,
        })
        .collect();
    assert!(
        credits.iter().filter(|m| **m == id).count() <= 1
            && credits.iter().filter(|m| **m == 0).count() <= 1,
        "one CREDIT per window at most: {credits:?}"
    );
}

#[test]
fn a_peer_that_never_says_hello_times_out() {
    let config = CoreConfig::default().with_handshake_timeout(Some(Duration::from_secs(3)));
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let _ = frames_out(&mut conn, now);
    assert_eq!(conn.poll_timeout(), Some(now), "the first PING tick");
    conn.handle_timeout(now);
    assert!(conn.poll_timeout() <= Some(now + Duration::from_secs(3)));
    // Half a HELLO arrives, never the rest.
    let mut peer = Connection::new(CoreConfig::default(), now);
    let hello = peer.poll_transmit(now).expect("hello").to_bytes();
    conn.handle_input(&hello[..hello.len() / 2], now + Duration::from_secs(1));
    conn.handle_timeout(now + Duration::from_secs(3));
    assert!(matches!(
        closed_with(&mut conn),
        Some(ConnectionError::HandshakeTimeout(after)) if after == Duration::from_secs(3)
    ));
}

#[test]
fn pings_alone_do_not_keep_a_connection_from_idling_out() {
    let second = Duration::from_secs(1);
    let config = CoreConfig::default()
        .with_keepalive(Some(second))
        .with_idle_timeout(Some(second * 30));
    let mut wire = Wire::new(config);
    let start = wire.now;
    let id = wire.send(Priority::NORMAL, pattern(100, 1));
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![id]);
    // Both sides answer each other's PINGs every second, no messages.
    for s in 1..=40u32 {
        wire.now = start + second * s;
        wire.a.handle_timeout(wire.now);
        wire.b.handle_timeout(wire.now);
        wire.run();
        if wire.a.is_closed() {
            break;
        }
    }
    assert!(
        wire.a.is_closed(),
        "idle for 30 s although PINGs were answered"
    );
    let error = wire.a_events.iter().find_map(|e| match e {
        Event::Closed { error, .. } => error.clone(),
        _ => None,
    });
    assert!(
        matches!(error, Some(ConnectionError::IdleTimeout(_))),
        "{error:?}"
    );
}

#[test]
fn a_blackholed_link_fails_at_the_keepalive_timeout() {
    let second = Duration::from_secs(1);
    let config = CoreConfig::default()
        .with_keepalive(Some(second * 2))
        .with_keepalive_timeout(Some(second * 5));
    let mut wire = Wire::new(config);
    wire.a.handle_timeout(wire.now);
    wire.run();
    assert!(wire.a.rtt().is_some(), "the link worked");
    // From now on nothing `a` sends arrives, and nothing comes back.
    let start = wire.now;
    for s in 1..=10u32 {
        let now = start + second * s;
        wire.a.handle_timeout(now);
        let _ = frames_out(&mut wire.a, now);
        if wire.a.is_closed() {
            assert!(s <= 2 + 5 + 1, "noticed after {s} s");
            break;
        }
    }
    assert!(matches!(
        closed_with(&mut wire.a),
        Some(ConnectionError::KeepaliveTimeout(after)) if after == second * 5
    ));
}

#[test]
fn opens_past_the_header_budget_are_refused_and_the_connection_goes_on() {
    let mut wire = Wire::new(
        CoreConfig::default()
            .with_header_budget(4096)
            .with_shared_header_budget(HeaderBudget::new(0)),
    );
    wire.b_consumes = false;
    let mut ids = Vec::new();
    for n in 0..8u8 {
        let mut headers = Headers::new();
        headers
            .insert("pad", Bytes::from(vec![n; 1000]))
            .expect("header");
        // Announced bodies that never come: the messages stay open.
        let id = wire
            .a
            .open(Priority::NORMAL, headers, Some(10))
            .expect("open");
        ids.push(id);
    }
    wire.run();
    let opened: Vec<u64> = wire
        .b_events
        .iter()
        .filter_map(|e| match e {
            Event::IncomingOpened { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(opened, ids[..4].to_vec(), "four blocks of ~1 KiB fit 4 KiB");
    let refused: Vec<u64> = wire
        .a_events
        .iter()
        .filter_map(|e| match e {
            Event::OutgoingFailed {
                id,
                error: SendError::CancelledByPeer { code, .. },
            } if *code == ErrorCode::REFUSED => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(refused, ids[4..].to_vec());
    assert!(!wire.a.is_closed() && !wire.b.is_closed());
    // A message that finishes frees its share.
    wire.a
        .push_body(ids[0], pattern(10, 1), true)
        .expect("body");
    wire.run();
    wire.b.consumed(ids[0], 10, wire.now);
    let mut headers = Headers::new();
    headers
        .insert("pad", Bytes::from(vec![9; 1000]))
        .expect("header");
    let late = wire
        .a
        .open(Priority::NORMAL, headers, Some(10))
        .expect("open");
    wire.run();
    assert!(
        wire.b_events
            .iter()
            .any(|e| matches!(e, Event::IncomingOpened { id, .. } if *id == late))
    );
}

#[test]
fn an_unannounced_body_over_the_peers_limit_fails_that_message_at_the_sender() {
    let small = CoreConfig::default().with_limits(Limits::default().with_max_message_size(1000));
    let now = Instant::now();
    let mut wire = Wire {
        a: Connection::new(CoreConfig::default(), now),
        b: Connection::new(small, now),
        now,
        a_events: Vec::new(),
        b_events: Vec::new(),
        b_consumes: true,
        a_sent_body: Vec::new(),
    };
    wire.run();
    let id = wire
        .a
        .open(Priority::NORMAL, Headers::new(), None)
        .expect("open");
    wire.a
        .push_body(id, pattern(600, 1), false)
        .expect("within the limit");
    let error = wire
        .a
        .push_body(id, pattern(600, 2), false)
        .expect_err("over the peer's limit");
    assert!(
        matches!(
            error,
            SendError::Encode(netcore_protocol::EncodeError::MessageTooLarge {
                len: 1200,
                max: 1000
            })
        ),
        "{error}"
    );
    wire.run();
    let next = wire.send(Priority::NORMAL, pattern(100, 3));
    wire.run();
    assert_eq!(wire.finished_at_b(), vec![next], "the connection goes on");
}

#[test]
fn a_peer_that_streams_past_the_message_limit_fails_that_message_only() {
    let small = CoreConfig::default().with_limits(Limits::default().with_max_message_size(1000));
    let mut wire = Wire::new(small);
    // `a` believes the limit is larger: it sends the frames by hand.
    let encoder = Encoder::default();
    let mut frames = BytesMut::new();
    let open = Frame::Open(Open {
        message_id: 7,
        priority: Priority::NORMAL,
        total_len: None,
        headers: Headers::new(),
        body: pattern(800, 1),
    });
    let data = Frame::Data(Data {
        message_id: 7,
        offset: 800,
        payload: pattern(800, 2),
    });
    for frame in [open, data] {
        frames.extend_from_slice(&encoder.encode(&frame).expect("frame").to_bytes());
    }
    wire.b.handle_input(&frames, wire.now);
    wire.drain_events();
    let failed = wire.b_events.iter().find_map(|e| match e {
        Event::IncomingFailed { id: 7, error } => Some(error.clone()),
        _ => None,
    });
    assert!(
        matches!(
            failed,
            Some(ReceiveError::TooLarge {
                limit: "max_message_size",
                max: 1000,
                ..
            })
        ),
        "{failed:?}"
    );
    assert!(
        !wire.b.is_closed(),
        "one message over the limit, not the connection"
    );
    let cancels: Vec<ErrorCode> = frames_out(&mut wire.b, wire.now)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Cancel(c) if c.message_id == 7 => Some(c.code),
            _ => None,
        })
        .collect();
    assert_eq!(cancels, vec![ErrorCode::LIMIT_EXCEEDED]);
}

/// The connection window the HELLO `conn` sends grants.
fn hello_window(conn: &mut Connection, now: Instant) -> u32 {
    frames_out(conn, now)
        .into_iter()
        .find_map(|frame| match frame {
            Frame::Hello(hello) => Some(hello.connection_window),
            _ => None,
        })
        .expect("a HELLO first")
}

#[test]
fn connections_past_the_window_budget_start_at_the_floor() {
    let floor = 64u64 << 10;
    let initial = 1u64 << 20;
    let budget = WindowBudget::new((initial - floor) * 3 / 2);
    let config = CoreConfig::default()
        .with_connection_window(initial as u32)
        .with_min_connection_window(floor as u32)
        .with_window_budget(budget.clone());
    let now = Instant::now();
    // The HELLO grants the floor; nothing is taken from the budget yet.
    let mut fresh = Connection::new(config.clone(), now);
    assert_eq!(u64::from(hello_window(&mut fresh, now)), floor);
    // Peers that never say HELLO take nothing.
    let silent: Vec<Connection> = (0..4)
        .map(|_| Connection::new(config.clone(), now))
        .collect();
    assert_eq!(
        budget.in_use(),
        0,
        "half-open peers hold none of the budget"
    );
    // Once the peer has said HELLO the window opens to its initial size,
    // from the budget while it lasts: `b` of the first wire takes its
    // whole part, `a` the half left; the second wire gets the floor.
    let mut first = Wire::new(config.clone());
    let windows = |wire: &Wire| {
        let mut both = [wire.a.flow().recv_window, wire.b.flow().recv_window]
            .map(|window| window.expect("a window"));
        both.sort_unstable();
        both
    };
    assert_eq!(windows(&first), [floor + (initial - floor) / 2, initial]);
    assert_eq!(budget.in_use(), budget.total());
    let mut second = Wire::new(config.clone());
    assert_eq!(
        windows(&second),
        [floor, floor],
        "the floor: slower, never stuck"
    );
    // Either moves bulk all the same.
    for wire in [&mut first, &mut second] {
        let id = wire.send(Priority::NORMAL, pattern(3 << 20, 1));
        wire.run();
        assert_eq!(wire.body_at_b(id), pattern(3 << 20, 1), "all arrives");
    }
    // Connections that end give their part back to the next ones.
    drop((first, second, silent));
    assert_eq!(budget.in_use(), 0);
    assert_eq!(
        windows(&Wire::new(config)),
        [floor + (initial - floor) / 2, initial]
    );
}

#[test]
fn a_peer_that_never_reads_gets_only_the_floor_once_the_budget_is_spent() {
    let config = CoreConfig {
        min_connection_window: 128 << 10,
        window_budget: WindowBudget::new(0),
        ..CoreConfig::default()
    };
    let mut wire = Wire::new(config);
    wire.b_consumes = false;
    for i in 0..8 {
        wire.send(Priority::NORMAL, pattern(1 << 20, i));
    }
    wire.run();
    let sent: usize = wire.a_sent_body.iter().map(|(_, n)| n).sum();
    assert!(
        sent <= 128 << 10,
        "{sent} bytes arrived unread: more than the 128 KiB floor"
    );
    assert!(sent > 64 << 10, "the floor is granted: {sent}");
    // Once read, everything arrives.
    wire.resume_reading_at_b();
    assert_eq!(wire.finished_at_b().len(), 8);
}

/// Opens `count` messages of ~1 KiB of headers from `wire.a` whose bodies
/// never come; returns how many `wire.b` took.
fn open_padded(wire: &mut Wire, count: u8) -> usize {
    wire.b_consumes = false;
    for n in 0..count {
        let mut headers = Headers::new();
        headers
            .insert("pad", Bytes::from(vec![n; 1000]))
            .expect("header");
        wire.a
            .open(Priority::NORMAL, headers, Some(10))
            .expect("open");
    }
    wire.run();
    wire.b_events
        .iter()
        .filter(|e| matches!(e, Event::IncomingOpened { .. }))
        .count()
}

#[test]
fn open_headers_past_a_connection_s_own_budget_come_from_the_shared_one() {
    let shared = HeaderBudget::new(2100);
    let config = CoreConfig::default()
        .with_header_budget(2100)
        .with_shared_header_budget(shared.clone());
    let mut first = Wire::new(config.clone());
    assert_eq!(open_padded(&mut first, 8), 4, "two of its own, two shared");
    assert!(shared.in_use() > 2000, "{shared:?}");
    let mut second = Wire::new(config.clone());
    assert_eq!(
        open_padded(&mut second, 8),
        2,
        "its own two: the shared ones are taken"
    );
    drop(first);
    assert_eq!(shared.in_use(), 0, "given back with the connection");
    let mut third = Wire::new(config);
    assert_eq!(open_padded(&mut third, 8), 4);
}
