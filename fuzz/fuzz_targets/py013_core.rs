//! Fuzzes the Python-compatible connection core
//! (`netcore_pipe::core::py013::Connection`): what a Python peer may send, in
//! any order, mixed with what the local application does.
//!
//! The input is a list of operations, one control byte each (the low 3 bits
//! pick it, the rest are its argument) plus some bytes:
//! - a well-formed head, data chunk or cancel for one of 4 extension ids
//!   (chunk lengths, announced lengths and order are the fuzzer's), or raw
//!   bytes fed as they are;
//! - locally: open and fill an outgoing message, cancel one, read or drop an
//!   incoming one, and drain what the core writes.
//!
//! Checked, besides "no panic":
//! - an incoming message never gets more bytes than its head announced, and
//!   one reported complete got exactly that many;
//! - no event for a message after its end, and nothing after `Closed`;
//! - what the core writes always decodes, every chunk is 1 to
//!   `sendable_chunk_len()` bytes, of a length a Python receiver reads
//!   correctly, and comes after its mission's head, and a cancel only for a
//!   mission whose head went out.

#![no_main]

use std::collections::{HashMap, HashSet};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use netcore_pipe::core::Event;
use netcore_pipe::core::py013::{Connection, Py013Config};
use netcore_protocol::py013::{
    Cancel, Data, Decoder, Encoder, Head, Info, Limits, Packet, python_reads_chunk_len,
};
use netcore_protocol::{Headers, Priority};

const IDS: [&str; 4] = ["AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD"];

fn config() -> Py013Config {
    Py013Config::default()
        .with_limits(Limits::default().with_max_message_len(1 << 16))
        .with_max_incoming(3)
        .with_early_buffer(256)
        .with_max_early_missions(2)
        .with_receive_window(512)
}

#[derive(Default)]
struct Checker {
    /// Incoming id → (announced, received).
    open: HashMap<u64, (u64, u64)>,
    ended: HashSet<u64>,
    closed: bool,
    outgoing_heads: HashSet<String>,
}

impl Checker {
    fn events(&mut self, core: &mut Connection) {
        while let Some(event) = core.poll_event() {
            assert!(!self.closed, "event after Closed: {event:?}");
            match event {
                Event::IncomingOpened { id, total_len, .. } => {
                    assert!(self.open.insert(id, (total_len.unwrap_or(0), 0)).is_none());
                }
                Event::IncomingData { id, bytes } => {
                    assert!(!self.ended.contains(&id));
                    let entry = self.open.get_mut(&id).expect("data for an opened message");
                    entry.1 += bytes.len() as u64;
                    assert!(entry.1 <= entry.0, "more than announced");
                }
                Event::IncomingFinished { id } => {
                    let (announced, received) = self.open.remove(&id).expect("opened");
                    assert_eq!(announced, received);
                    self.ended.insert(id);
                }
                Event::IncomingFailed { id, .. } => {
                    self.open.remove(&id).expect("opened");
                    self.ended.insert(id);
                }
                Event::Closed { .. } => self.closed = true,
                _ => {}
            }
        }
    }

    fn transmits(&mut self, core: &mut Connection) {
        let mut wire = BytesMut::new();
        while let Some(transmit) = core.poll_transmit() {
            wire.extend_from_slice(&transmit.to_bytes());
        }
        let mut decoder = Decoder::default();
        while let Some(packet) = decoder
            .decode(&mut wire)
            .expect("the core writes valid packets")
        {
            match packet {
                Packet::Head(head) => {
                    self.outgoing_heads.insert(head.extension);
                }
                Packet::Data(data) => {
                    let len = data.chunk.len();
                    assert!(
                        len >= 1 && len <= config().sendable_chunk_len(),
                        "chunk of {len} bytes"
                    );
                    assert!(python_reads_chunk_len(len), "Python misreads {len} bytes");
                    assert!(
                        self.outgoing_heads.contains(&data.extension),
                        "chunk before head"
                    );
                }
                Packet::Cancel(cancel) => {
                    assert!(
                        self.outgoing_heads.contains(&cancel.extension),
                        "cancel before head"
                    );
                }
            }
        }
        assert!(wire.is_empty());
    }
}

fuzz_target!(|input: &[u8]| {
    let mut core = Connection::new(config());
    let mut checker = Checker::default();
    let encoder = Encoder::new();
    let mut next_out = 1u64;
    let mut rest = input;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let arg = usize::from(op >> 3);
        let id = IDS[arg % IDS.len()];
        // The operation's bytes: up to `arg` of them.
        let take = arg.min(rest.len());
        let (bytes, tail) = rest.split_at(take);
        rest = tail;
        let packet = match op & 7 {
            0 => Some(Packet::Head(Head {
                extension: id.into(),
                length: bytes.iter().map(|&b| u64::from(b)).sum(),
                info: Info::request("echo", "i0VpEBOW"),
            })),
            1 => Some(Packet::Data(Data {
                extension: id.into(),
                chunk: Bytes::copy_from_slice(bytes),
            })),
            2 => Some(Packet::Cancel(Cancel {
                extension: id.into(),
            })),
            3 => {
                core.handle_input(bytes);
                None
            }
            4 => {
                let len = (arg * 700) as u64;
                let mut headers = Headers::new();
                let _ = headers.insert("route", "\"echo\"");
                if core
                    .open_with_id(next_out, Priority(op), headers, Some(len))
                    .is_ok()
                {
                    let _ =
                        core.push_body(next_out, Bytes::from(vec![0u8; len as usize / 2]), false);
                    let _ = core.push_body(
                        next_out,
                        Bytes::from(vec![0u8; len as usize - len as usize / 2]),
                        true,
                    );
                }
                next_out += 1;
                None
            }
            5 => {
                core.cancel_outgoing(1 + (arg as u64 % next_out));
                None
            }
            6 => {
                core.consumed(1 + (arg as u64 % 8), 64 * arg as u64);
                None
            }
            _ => {
                if arg % 2 == 0 {
                    core.cancel_incoming(1 + (arg as u64 % 8));
                } else {
                    checker.transmits(&mut core);
                }
                None
            }
        };
        if let Some(packet) = packet {
            // An empty data chunk cannot be encoded; feed it by hand.
            let mut wire = BytesMut::new();
            match encoder.encode_into(&packet, &mut wire) {
                Ok(()) => core.handle_input(&wire),
                Err(_) => {
                    if let Packet::Data(data) = packet {
                        core.handle_packet(Packet::Data(data));
                    }
                }
            }
        }
        checker.events(&mut core);
    }
    checker.transmits(&mut core);
    core.handle_eof();
    checker.events(&mut core);
    assert!(checker.closed, "EOF ends the connection");
});
