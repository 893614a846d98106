//! Fuzzes the receive side of the pipe's sans-IO connection core with
//! arbitrary sequences of well-formed frames (valid CRCs, arbitrary fields),
//! interleaved with the application's actions: consuming, cancelling,
//! time passing, draining output.
//!
//! Input: a stream of operations, one opcode byte each followed by the bytes
//! its fields need (missing bytes read as zero).
//!
//! Checked: nothing panics; the core never tracks more incoming messages than
//! its limit; body bytes handed to the application and not consumed never
//! exceed the connection window (flow control bounds the memory a peer can
//! make us hold); every message the core reports finished or failed is one it
//! had opened.

#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use netcore_pipe::core::{Connection, CoreConfig, Event};
use netcore_protocol::{
    Cancel, Credit, Data, Encoder, End, ErrorCode, Frame, GoAway, Headers, Hello, Limits, Open,
    Ping, Pong, Priority,
};

const LIMITS: Limits = Limits {
    max_frame_payload: 4096,
    max_message_size: 64 << 10,
    max_header_bytes: 512,
    max_concurrent_messages: 8,
};

struct Input<'a> {
    bytes: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((first, rest)) => {
                self.bytes = rest;
                *first
            }
            None => 0,
        }
    }

    fn small(&mut self) -> u64 {
        u64::from(self.byte() % 12)
    }

    fn u64(&mut self) -> u64 {
        let mut out = [0u8; 8];
        for byte in &mut out {
            *byte = self.byte();
        }
        u64::from_be_bytes(out)
    }

    /// A length or offset: mostly small, sometimes anything.
    fn amount(&mut self) -> u64 {
        match self.byte() {
            0..=200 => u64::from(self.byte()) * 16,
            201..=250 => u64::from(self.byte()) << 10,
            _ => self.u64(),
        }
    }

    fn payload(&mut self) -> Bytes {
        let len = usize::from(self.byte()) * 8;
        Bytes::from(vec![0xAB; len])
    }
}

fn frame(input: &mut Input<'_>, op: u8) -> Frame {
    let id = input.small().max(1);
    match op % 10 {
        0 => Frame::Hello(Hello::new(LIMITS)),
        1 => {
            let total = match input.byte() % 3 {
                0 => None,
                _ => Some(input.amount()),
            };
            let body = input.payload();
            Frame::Open(Open {
                message_id: id,
                priority: Priority(input.byte()),
                total_len: total.map(|t| t.max(body.len() as u64)),
                headers: Headers::new(),
                body,
            })
        }
        2 | 3 => Frame::Data(Data {
            message_id: id,
            offset: input.amount(),
            payload: input.payload(),
        }),
        4 => Frame::End(End {
            message_id: id,
            total_len: input.amount(),
        }),
        5 => Frame::Cancel(Cancel {
            message_id: id,
            by_receiver: input.byte() & 1 == 1,
            code: ErrorCode(u32::from(input.byte())),
            reason: String::new(),
        }),
        6 => Frame::Credit(Credit {
            message_id: input.small(),
            limit: input.amount(),
        }),
        7 => Frame::Ping(Ping {
            opaque: input.u64(),
        }),
        8 => Frame::Pong(Pong {
            opaque: input.u64(),
        }),
        _ => Frame::GoAway(GoAway {
            last_message_id: input.small(),
            code: ErrorCode(u32::from(input.byte() % 3)),
            reason: String::new(),
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { bytes: data };
    let config = CoreConfig::default()
        .with_limits(LIMITS)
        .with_message_window(8 << 10)
        .with_connection_window(32 << 10)
        .with_max_window(64 << 10);
    let window = u64::from(config.connection_window);
    let max_open = LIMITS.max_concurrent_messages as usize;
    let mut now = Instant::now();
    let mut core = Connection::new(config, now);
    let encoder = Encoder::new(LIMITS);
    let mut opened: HashSet<u64> = HashSet::new();
    let mut unconsumed: Vec<(u64, u64)> = Vec::new();
    let mut held = 0u64;
    let mut wire = BytesMut::new();
    // Usually start with a HELLO, so the fuzzer gets past the handshake.
    if data.first().is_some_and(|b| b & 0x80 == 0) {
        let _ = encoder.encode_into(&Frame::Hello(Hello::new(LIMITS)), &mut wire);
    }
    for _ in 0..256 {
        if input.bytes.is_empty() {
            break;
        }
        let op = input.byte();
        match op >> 4 {
            0..=10 => {
                let frame = frame(&mut input, op);
                if encoder.encode_into(&frame, &mut wire).is_err() {
                    continue;
                }
                // Feed in two pieces, to exercise partial input.
                let split = usize::from(input.byte()) % (wire.len() + 1);
                core.handle_input(&wire[..split], now);
                core.handle_input(&wire[split..], now);
                wire.clear();
            }
            11 => {
                if let Some((id, n)) = unconsumed.pop() {
                    core.consumed(id, n, now);
                    held -= n;
                }
            }
            12 => {
                let id = input.small();
                core.cancel_incoming(id, now);
                held -= unconsumed
                    .iter()
                    .filter(|(i, _)| *i == id)
                    .map(|(_, n)| n)
                    .sum::<u64>();
                unconsumed.retain(|(i, _)| *i != id);
            }
            13 => {
                now += Duration::from_millis(u64::from(input.byte()) * 100);
                core.handle_timeout(now);
            }
            14 => core.handle_eof(now),
            _ => while core.poll_transmit(now).is_some() {},
        }
        while let Some(event) = core.poll_event() {
            match event {
                Event::IncomingOpened { id, .. } => {
                    opened.insert(id);
                }
                Event::IncomingData { id, bytes } => {
                    assert!(opened.contains(&id), "data for a message never opened");
                    held += bytes.len() as u64;
                    unconsumed.push((id, bytes.len() as u64));
                }
                Event::IncomingFinished { id } => {
                    assert!(opened.contains(&id), "message {id} ended without opening");
                }
                Event::IncomingFailed { id, .. } => {
                    assert!(opened.contains(&id), "message {id} failed without opening");
                    // A failed message's unread bytes are released: its
                    // window goes back to the peer.
                    held -= unconsumed
                        .iter()
                        .filter(|(i, _)| *i == id)
                        .map(|(_, n)| n)
                        .sum::<u64>();
                    unconsumed.retain(|(i, _)| *i != id);
                }
                _ => {}
            }
        }
        assert!(core.incoming_messages() <= max_open + unconsumed.len());
        assert!(
            held <= window,
            "{held} unconsumed bytes held, window {window}"
        );
        if core.is_closed() {
            break;
        }
    }
});
