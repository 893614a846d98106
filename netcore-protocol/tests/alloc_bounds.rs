//! No input makes the decoder allocate beyond its limits: a counting global
//! allocator measures every byte allocated while malformed and oversized
//! inputs are decoded. One test in this binary, so nothing else allocates
//! beside it.

mod common;

use bytes::BytesMut;
use cap::Cap;
use common::{raw_frame, raw_header};
use netcore_protocol::{DecodeMode, Decoder, Limits};

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

const LIMIT: u32 = 4096;

/// Bytes allocated while `decoder` drains `wire`.
fn allocated_while_decoding(mode: DecodeMode, wire: &[u8]) -> usize {
    let limits = Limits::default()
        .with_max_frame_payload(LIMIT)
        .with_max_header_bytes(512);
    let mut decoder = Decoder::with_mode(limits, mode);
    let mut buf = BytesMut::with_capacity(wire.len());
    buf.extend_from_slice(wire);
    let before = ALLOCATOR.total_allocated();
    for _ in 0..=wire.len() {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => break,
        }
    }
    ALLOCATOR.total_allocated() - before
}

#[test]
fn lengths_from_the_wire_never_drive_allocation_past_the_limit() {
    let mut open_huge_headers = vec![128];
    open_huge_headers.extend(10u64.to_be_bytes());
    open_huge_headers.extend(u16::MAX.to_be_bytes());
    let mut open_many_headers = vec![128];
    open_many_headers.extend(10u64.to_be_bytes());
    open_many_headers.extend(510u16.to_be_bytes());
    open_many_headers.extend([1, b'a', 0, 0].repeat(127));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "u32::MAX payload length",
            raw_header(2, 0x03, 0, 1, u32::MAX),
        ),
        (
            "limit + 1 payload length",
            raw_header(2, 0x03, 0, 1, LIMIT + 1),
        ),
        ("bad header CRC with a huge length", {
            let mut h = raw_header(2, 0x03, 0, 1, u32::MAX);
            h[21] ^= 1;
            h
        }),
        (
            "unknown kind with a huge length",
            raw_header(2, 0x42, 0, 1, u32::MAX),
        ),
        (
            "unknown version with a huge length",
            raw_header(9, 0x03, 0, 1, u32::MAX),
        ),
        (
            "header block length of 65535",
            raw_frame(0x02, 0, 1, &open_huge_headers),
        ),
        (
            "127 small headers",
            raw_frame(0x02, 0, 1, &open_many_headers),
        ),
        ("noise", (0..=255u8).cycle().take(20_000).collect()),
        ("sync markers only", [0xF5, 0x4E].repeat(5_000)),
    ];
    for (name, wire) in &cases {
        for mode in [DecodeMode::Strict, DecodeMode::Resync] {
            let allocated = allocated_while_decoding(mode, wire);
            assert!(
                allocated <= LIMIT as usize,
                "{name} ({mode:?}): {allocated} bytes allocated, limit {LIMIT}"
            );
        }
    }
    // Sanity: the measurement sees allocations (a max-size frame reserves room).
    let mut wire = raw_header(2, 0x03, 0, 1, LIMIT);
    wire.extend(vec![0u8; 10]);
    let allocated = allocated_while_decoding(DecodeMode::Strict, &wire);
    assert!(
        allocated >= LIMIT as usize,
        "measured only {allocated} bytes"
    );
}
