//! The Python-compatible core against the checklist of what to mimic and
//! what to tolerate (`docs/python-013-wire-format.md` §10) and the golden
//! captures (§13).

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{Cancel, Data, Decoder, EncodeError, Head, Info, Packet};
use netcore_protocol::{Headers, Priority};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in pairs {
        headers.insert(*name, value.to_string()).expect("header");
    }
    headers
}

/// Every packet `core` writes, decoded.
fn drain_packets(core: &mut Connection) -> Vec<Packet> {
    let mut wire = BytesMut::new();
    while let Some(transmit) = core.poll_transmit() {
        wire.extend_from_slice(&transmit.to_bytes());
    }
    let mut decoder = Decoder::default();
    let mut packets = Vec::new();
    while let Some(packet) = decoder.decode(&mut wire).expect("valid packets") {
        packets.push(packet);
    }
    assert!(wire.is_empty(), "no partial packet left");
    packets
}

fn events(core: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| core.poll_event())
        .filter(|event| !matches!(event, Event::Connected { .. }))
        .collect()
}

fn describe(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .map(|packet| match packet {
            Packet::Head(head) => format!("head {}", head.length),
            Packet::Data(data) => format!("data {}", data.chunk.len()),
            Packet::Cancel(_) => "cancel".to_owned(),
        })
        .collect()
}

fn head(extension: &str, length: u64) -> Packet {
    Packet::Head(Head {
        extension: extension.into(),
        length,
        info: Info::request("echo", "i0VpEBOW"),
    })
}

fn data(extension: &str, bytes: &[u8]) -> Packet {
    Packet::Data(Data {
        extension: extension.into(),
        chunk: Bytes::copy_from_slice(bytes),
    })
}

/// Bodies cut into 4096-byte chunks, exactly as a Python sender cuts them.
fn as_python() -> Py013Config {
    Py013Config::default().with_chunk_len(4096)
}

#[test]
fn by_default_chunks_are_64_kib_and_every_one_is_a_length_python_reads() {
    let mut core = Connection::new(Py013Config::default());
    core.open_with_id(1, Priority::NORMAL, Headers::new(), Some(300_000))
        .expect("open");
    core.push_body(1, Bytes::from(vec![1u8; 300_000]), true)
        .expect("body");
    // 300 000 = 4 x 65 536 + 37 856: the rest goes as 18 x 2048, then 992.
    assert_eq!(
        describe(&drain_packets(&mut core)),
        [
            "head 300000",
            "data 65536",
            "data 65536",
            "data 65536",
            "data 65536",
            "data 36864",
            "data 992"
        ]
    );
    let mut core = Connection::new(Py013Config::default());
    core.open_with_id(2, Priority::NORMAL, Headers::new(), Some(10_000))
        .expect("open");
    for _ in 0..10 {
        core.push_body(2, Bytes::from(vec![1u8; 1000]), false)
            .expect("piece");
    }
    core.push_body(2, Bytes::new(), true).expect("finish");
    assert_eq!(
        describe(&drain_packets(&mut core)),
        ["head 10000", "data 8192", "data 1808"]
    );
}

#[test]
fn head_first_then_4096_byte_chunks_however_the_body_is_supplied() {
    let mut core = Connection::new(as_python());
    let route = headers(&[("route", "\"echo\""), ("message_id", "\"i0VpEBOW\"")]);
    core.open_with_id(1, Priority::NORMAL, route, Some(10_000))
        .expect("open");
    for _ in 0..9 {
        core.push_body(1, Bytes::from(vec![1u8; 1000]), false)
            .expect("piece");
    }
    core.push_body(1, Bytes::from(vec![1u8; 1000]), true)
        .expect("last piece");
    let packets = drain_packets(&mut core);
    assert_eq!(
        describe(&packets),
        ["head 10000", "data 4096", "data 4096", "data 1808"]
    );
    let Packet::Head(head) = &packets[0] else {
        panic!("head first")
    };
    assert_eq!(
        head.info.to_python_string().expect("info"),
        r#"{"route": "echo", "message_id": "i0VpEBOW"}"#
    );
    assert!(matches!(
        events(&mut core)[..],
        [Event::OutgoingFramed { id: 1 }]
    ));
}

#[test]
fn a_partial_chunk_waits_for_more_body_until_the_body_is_complete() {
    let mut core = Connection::new(Py013Config::default());
    core.open_with_id(1, Priority::NORMAL, Headers::new(), Some(5000))
        .expect("open");
    core.push_body(1, Bytes::from(vec![1u8; 3000]), false)
        .expect("piece");
    assert_eq!(describe(&drain_packets(&mut core)), ["head 5000"]);
    core.push_body(1, Bytes::from(vec![1u8; 2000]), true)
        .expect("rest");
    assert_eq!(
        describe(&drain_packets(&mut core)),
        ["data 4096", "data 904"]
    );
}

#[test]
fn missions_are_interleaved_one_chunk_at_a_time_as_python_does() {
    let mut core = Connection::new(as_python());
    for id in [1, 2] {
        core.open_with_id(id, Priority::NORMAL, Headers::new(), Some(10_000))
            .expect("open");
        core.push_body(id, Bytes::from(vec![0u8; 10_000]), true)
            .expect("body");
    }
    let packets = drain_packets(&mut core);
    let order: Vec<String> = packets
        .iter()
        .map(|packet| match packet {
            Packet::Head(head) => format!("H{}", head.extension.len()),
            Packet::Data(data) => format!("D{}", data.chunk.len()),
            Packet::Cancel(_) => "C".to_owned(),
        })
        .collect();
    assert_eq!(
        order,
        [
            "H6", "H6", "D4096", "D4096", "D4096", "D4096", "D1808", "D1808"
        ]
    );
    let extensions: Vec<&str> = packets.iter().map(Packet::extension).collect();
    assert_ne!(extensions[0], extensions[1], "unique ids in flight");
    assert_eq!(extensions[2], extensions[0]);
    assert_eq!(extensions[3], extensions[1]);
}

#[test]
fn an_empty_body_is_a_head_alone_never_an_empty_chunk() {
    let mut core = Connection::new(Py013Config::default());
    core.open_with_id(1, Priority::NORMAL, Headers::new(), Some(0))
        .expect("open");
    core.push_body(1, Bytes::new(), true).expect("empty body");
    assert_eq!(describe(&drain_packets(&mut core)), ["head 0"]);
    assert!(matches!(
        events(&mut core)[..],
        [Event::OutgoingFramed { id: 1 }]
    ));
}

#[test]
fn what_python_cannot_read_is_refused_locally_with_a_clear_error() {
    let mut core = Connection::new(Py013Config::default());
    let long_route = format!("\"{}\"", "r".repeat(5000));
    let error = core
        .open_with_id(
            1,
            Priority::NORMAL,
            headers(&[("route", &long_route)]),
            Some(1),
        )
        .expect_err("a head over 4096 bytes");
    assert!(matches!(
        error,
        SendError::Py013(Py013Error::Encode(EncodeError::MetaTooLong { len, max: 4096, .. })) if len > 5000
    ));
    let error = core
        .open_with_id(2, Priority::NORMAL, Headers::new(), None)
        .expect_err("a stream of unknown length");
    assert!(matches!(error, SendError::Py013(Py013Error::UnknownLength)));
    let error = core
        .open_with_id(3, Priority::NORMAL, headers(&[("route", "echo")]), Some(1))
        .expect_err("a header that is not JSON");
    assert!(error.to_string().contains("\"route\""), "{error}");
    assert!(describe(&drain_packets(&mut core)).is_empty());
}

#[test]
fn cancelling_before_the_head_goes_sends_nothing_after_it_a_cancel() {
    let mut core = Connection::new(as_python());
    core.open_with_id(1, Priority::NORMAL, Headers::new(), Some(10_000))
        .expect("open");
    assert!(core.cancel_outgoing(1));
    assert!(drain_packets(&mut core).is_empty());

    core.open_with_id(2, Priority::NORMAL, Headers::new(), Some(10_000))
        .expect("open");
    core.push_body(2, Bytes::from(vec![0u8; 10_000]), true)
        .expect("body");
    let first = core.poll_transmit().expect("head");
    let second = core.poll_transmit().expect("first chunk");
    assert_eq!(second.body_len, 4096);
    drop(first);
    assert!(core.cancel_outgoing(2));
    assert_eq!(describe(&drain_packets(&mut core)), ["cancel"]);
    assert!(!core.cancel_outgoing(2), "already gone");
}

#[test]
fn chunks_before_their_head_are_held_and_replayed() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(data("AAAAAA", b"hello "));
    core.handle_packet(data("AAAAAA", b"world"));
    assert!(events(&mut core).is_empty());
    assert_eq!(core.recv_stats().early_chunks, 2);
    core.handle_packet(head("AAAAAA", 11));
    let mut body = Vec::new();
    let mut finished = false;
    for event in events(&mut core) {
        match event {
            Event::IncomingData { bytes, .. } => body.extend_from_slice(&bytes),
            Event::IncomingFinished { .. } => finished = true,
            _ => {}
        }
    }
    assert_eq!(body, b"hello world");
    assert!(finished);
}

#[test]
fn early_chunks_over_the_bound_drop_that_mission_only() {
    let config = Py013Config {
        early_buffer: 10,
        ..Py013Config::default()
    };
    let mut core = Connection::new(config);
    core.handle_packet(data("AAAAAA", b"12345678"));
    core.handle_packet(data("AAAAAA", b"12345678"));
    core.handle_packet(head("AAAAAA", 24));
    core.handle_packet(data("AAAAAA", b"12345678"));
    assert!(
        events(&mut core).is_empty(),
        "the refused mission never shows"
    );
    assert_eq!(core.recv_stats().missions_dropped, 1);
    // Another mission still gets through.
    core.handle_packet(head("BBBBBB", 2));
    core.handle_packet(data("BBBBBB", b"ok"));
    let events = events(&mut core);
    assert!(matches!(
        events.last(),
        Some(Event::IncomingFinished { .. })
    ));
}

#[test]
fn empty_or_tiny_early_chunks_cannot_grow_memory_without_bound() {
    let config = Py013Config {
        early_buffer: 1000,
        ..Py013Config::default()
    };
    let mut core = Connection::new(config);
    for _ in 0..10_000 {
        core.handle_packet(data("AAAAAA", b""));
    }
    assert_eq!(
        core.recv_stats().early_chunks,
        0,
        "empty chunks are not held"
    );
    for _ in 0..100 {
        core.handle_packet(data("BBBBBB", b"x"));
    }
    // Each held chunk costs its overhead too: at most 1000 / 65 of them.
    assert!(core.recv_stats().early_chunks <= 15);
    assert_eq!(core.recv_stats().missions_dropped, 1);
}

#[test]
fn a_cancel_before_the_head_refuses_the_mission_when_its_head_comes() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(data("AAAAAA", b"12345"));
    core.handle_packet(Packet::Cancel(Cancel {
        extension: "AAAAAA".into(),
    }));
    core.handle_packet(head("AAAAAA", 10));
    core.handle_packet(data("AAAAAA", b"67890"));
    assert!(
        events(&mut core).is_empty(),
        "never opened, so never left hanging"
    );
    assert_eq!(core.incoming_messages(), 0);
}

#[test]
fn close_waits_for_an_incoming_mission_that_had_started() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(head("AAAAAA", 4));
    core.handle_packet(data("AAAAAA", b"ab"));
    core.close();
    assert!(!core.is_closed(), "a reply may be arriving");
    core.handle_packet(data("AAAAAA", b"cd"));
    assert!(core.is_closed());
    let events = events(&mut core);
    assert!(matches!(
        events[events.len() - 2..],
        [
            Event::IncomingFinished { .. },
            Event::Closed { error: None, .. }
        ]
    ));
}

#[test]
fn cancels_for_unknown_or_finished_missions_are_ignored() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(Packet::Cancel(Cancel {
        extension: "nobody".into(),
    }));
    core.handle_packet(head("AAAAAA", 2));
    core.handle_packet(data("AAAAAA", b"ok"));
    core.handle_packet(Packet::Cancel(Cancel {
        extension: "AAAAAA".into(),
    }));
    let events = events(&mut core);
    assert!(matches!(
        events.last(),
        Some(Event::IncomingFinished { .. })
    ));
    assert_eq!(core.recv_stats().stray_cancels, 2);
    assert!(!core.is_closed());
}

#[test]
fn a_cancel_fails_the_mission_arriving_and_its_late_chunks_are_dropped() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(head("AAAAAA", 10));
    core.handle_packet(data("AAAAAA", b"12345"));
    core.handle_packet(Packet::Cancel(Cancel {
        extension: "AAAAAA".into(),
    }));
    core.handle_packet(data("AAAAAA", b"67890"));
    let events = events(&mut core);
    assert!(matches!(
        events.last(),
        Some(Event::IncomingFailed {
            error: ReceiveError::CancelledByPeer { .. },
            ..
        })
    ));
    assert_eq!(core.recv_stats().stray_chunks, 1);
}

#[test]
fn more_data_than_announced_fails_that_message_and_the_connection_goes_on() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(head("AAAAAA", 3));
    core.handle_packet(data("AAAAAA", b"1234"));
    core.handle_packet(head("BBBBBB", 1));
    core.handle_packet(data("BBBBBB", b"x"));
    let events = events(&mut core);
    assert!(events.iter().any(|event| matches!(
        event,
        Event::IncomingFailed {
            error: ReceiveError::Py013(Py013Error::Overlong {
                length: 3,
                received: 4,
                ..
            }),
            ..
        }
    )));
    assert!(matches!(
        events.last(),
        Some(Event::IncomingFinished { id: 2 })
    ));
}

#[test]
fn a_zero_length_mission_is_delivered_empty_and_a_reused_id_replaces_the_first() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(head("AAAAAA", 0));
    let first = events(&mut core);
    assert!(matches!(
        first[..],
        [
            Event::IncomingOpened {
                total_len: Some(0),
                ..
            },
            Event::IncomingFinished { .. }
        ]
    ));
    core.handle_packet(head("BBBBBB", 4));
    core.handle_packet(data("BBBBBB", b"ab"));
    core.handle_packet(head("BBBBBB", 2));
    core.handle_packet(data("BBBBBB", b"cd"));
    let events = events(&mut core);
    assert!(events.iter().any(|event| matches!(
        event,
        Event::IncomingFailed {
            error: ReceiveError::Py013(Py013Error::Replaced { .. }),
            ..
        }
    )));
    assert!(matches!(
        events.last(),
        Some(Event::IncomingFinished { .. })
    ));
}

#[test]
fn reading_pauses_while_the_application_has_a_window_unread() {
    let config = Py013Config {
        receive_window: 8,
        ..Py013Config::default()
    };
    let mut core = Connection::new(config);
    core.handle_packet(head("AAAAAA", 20));
    core.handle_packet(data("AAAAAA", b"12345678"));
    assert!(!core.wants_input());
    core.consumed(1, 8);
    assert!(core.wants_input());
    core.handle_packet(data("AAAAAA", b"12345678"));
    assert!(!core.wants_input());
    assert!(
        core.cancel_incoming(1),
        "dropping releases the unread bytes"
    );
    assert!(core.wants_input());
    core.handle_packet(data("AAAAAA", b"1234"));
    assert_eq!(core.recv_stats().stray_chunks, 1);
}

#[test]
fn info_keys_become_headers_with_json_text_values() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(Packet::Head(Head {
        extension: "AAAAAA".into(),
        length: 0,
        info: Info::response(Some("echo"), "i0VpEBOW"),
    }));
    let Some(Event::IncomingOpened { headers, .. }) = events(&mut core).into_iter().next() else {
        panic!("opened")
    };
    assert_eq!(headers.get_str("route"), Some("\"echo\""));
    assert_eq!(headers.get_str("is_response"), Some("true"));
    assert_eq!(headers.get_str("message_id"), Some("\"i0VpEBOW\""));
}

#[test]
fn close_ends_once_outgoing_missions_are_written_and_eof_fails_only_what_is_pending() {
    let mut core = Connection::new(Py013Config::default());
    core.open_with_id(1, Priority::NORMAL, Headers::new(), Some(3))
        .expect("open");
    core.push_body(1, Bytes::from_static(b"abc"), true)
        .expect("body");
    core.close();
    assert!(!core.is_closed(), "a mission is still to be written");
    assert!(
        core.open_with_id(2, Priority::NORMAL, Headers::new(), Some(1))
            .is_err()
    );
    drain_packets(&mut core);
    assert!(core.is_closed());
    assert!(matches!(
        events(&mut core).last(),
        Some(Event::Closed { error: None, .. })
    ));

    let mut core = Connection::new(Py013Config::default());
    core.handle_eof();
    assert!(matches!(
        events(&mut core).last(),
        Some(Event::Closed { error: None, .. })
    ));

    let mut core = Connection::new(Py013Config::default());
    core.handle_packet(head("AAAAAA", 10));
    core.handle_eof();
    let events = events(&mut core);
    assert!(events.iter().any(|event| matches!(
        event,
        Event::IncomingFailed {
            error: ReceiveError::Connection(ConnectionError::PeerClosed),
            ..
        }
    )));
}

#[test]
fn garbage_from_the_wire_ends_the_connection_with_a_typed_error() {
    let mut core = Connection::new(Py013Config::default());
    core.handle_input(b"\xff\xff\xff\xffnot a packet");
    assert!(core.is_closed());
    assert!(matches!(
        events(&mut core).last(),
        Some(Event::Closed {
            error: Some(ConnectionError::Py013(Py013Error::Decode(_))),
            ..
        })
    ));
}

/// Every golden capture decodes into the messages its index lists.
#[test]
fn golden_captures_reassemble_into_the_messages_python_sent() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../netcore-protocol/tests/py013_vectors");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index"))
            .expect("index JSON");
    let mut checked = 0;
    for vector in index["vectors"].as_array().expect("vectors") {
        for direction in ["c2s", "s2c"] {
            let capture = &vector[direction];
            let bytes =
                std::fs::read(dir.join(capture["file"].as_str().expect("file"))).expect("capture");
            // Expected: each mission's total, unless a cancel for it came.
            let packets = capture["packets"].as_array().expect("packets");
            let cancelled = |ext: &str| {
                packets
                    .iter()
                    .any(|p| p["type"] == "cancel" && p["extension"] == ext)
            };
            let mut expected: Vec<u64> = packets
                .iter()
                .filter(|p| p["type"] == "mission")
                .filter(|p| !cancelled(p["extension"].as_str().unwrap_or_default()))
                .map(|p| p["length"].as_u64().expect("length"))
                .collect();
            let mut core = Connection::new(Py013Config::default());
            // Fed in odd pieces, as reads would cut them.
            for piece in bytes.chunks(1000) {
                core.handle_input(piece);
            }
            core.handle_eof();
            let mut lengths = std::collections::HashMap::new();
            let mut finished = Vec::new();
            for event in events(&mut core) {
                match event {
                    Event::IncomingData { id, bytes } => {
                        *lengths.entry(id).or_insert(0u64) += bytes.len() as u64;
                    }
                    Event::IncomingFinished { id } => {
                        finished.push(lengths.get(&id).copied().unwrap_or(0));
                    }
                    Event::Closed { error, .. } => assert!(error.is_none(), "{error:?}"),
                    _ => {}
                }
            }
            expected.sort_unstable();
            finished.sort_unstable();
            assert_eq!(finished, expected, "{} {direction}", vector["name"]);
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn end_of_stream_is_the_peer_leaving_unless_something_was_pending() {
    let mut idle = Connection::new(Py013Config::default());
    idle.handle_eof();
    let last = std::iter::from_fn(|| idle.poll_event()).last();
    assert!(
        matches!(
            last,
            Some(Event::Closed {
                error: None,
                by_peer: true
            })
        ),
        "{last:?}"
    );
    assert_eq!(idle.state(), crate::core::ConnectionState::Closed);

    let mut busy = Connection::new(Py013Config::default());
    busy.open_with_id(1, Priority::NORMAL, Headers::new(), Some(10))
        .expect("open");
    busy.handle_eof();
    let last = std::iter::from_fn(|| busy.poll_event()).last();
    assert!(
        matches!(
            last,
            Some(Event::Closed {
                error: Some(ConnectionError::PeerClosed),
                by_peer: false
            })
        ),
        "{last:?}"
    );
}
