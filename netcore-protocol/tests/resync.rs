//! The resync property: random byte flips, deletions and insertions in a
//! stream of frames. Every frame the damage did not touch is recovered intact,
//! nothing damaged is ever yielded as a frame, and the damage is reported.

mod common;

use common::{arb_frame, encode_all, feed};
use netcore_protocol::{Damage, DecodeMode, Decoded, Decoder, Frame, Limits, Ping};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Flip { bit: u8 },
    Delete { count: usize },
    Insert { bytes: Vec<u8> },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..8).prop_map(|bit| Op::Flip { bit }),
        (1usize..5).prop_map(|count| Op::Delete { count }),
        prop::collection::vec(any::<u8>(), 1..8).prop_map(|bytes| Op::Insert { bytes }),
        // Insertions that look like the start of a frame, to tempt the scanner.
        prop::collection::vec(any::<u8>(), 0..30).prop_map(|mut tail| {
            tail.splice(0..0, [0xF5, 0x4E, 0x02]);
            Op::Insert { bytes: tail }
        }),
    ]
}

/// Applies `ops` (at positions given as fractions of the stream) and returns
/// the damaged stream and, for each frame, whether the damage touched it.
fn damage(
    wire: &[u8],
    ranges: &[std::ops::Range<usize>],
    ops: &[(f64, Op)],
) -> (Vec<u8>, Vec<bool>) {
    let mut touched = vec![false; ranges.len()];
    let mut placed: Vec<(usize, &Op)> = ops
        .iter()
        .map(|(at, op)| (((wire.len() as f64) * at) as usize, op))
        .map(|(at, op)| (at.min(wire.len().saturating_sub(1)), op))
        .collect();
    // Apply back to front so earlier positions stay valid; one op per position.
    placed.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    placed.dedup_by_key(|(at, _)| *at);
    let mut out = wire.to_vec();
    for (at, op) in placed {
        // Which original byte ranges this operation changes. Deleting a run
        // of bytes equal to the run beside it deletes either, for all the
        // stream can tell (the last byte of one frame, 0xF5, before the
        // marker 0xF5 of the next): such a deletion touches both.
        let deleted = match op {
            Op::Delete { count } => {
                let (start, end) = (at, (at + count).min(out.len()));
                let count = end - start;
                let mut first = start;
                while first > 0 && out[first - 1] == out[first - 1 + count] {
                    first -= 1;
                }
                let mut last = end;
                while last < out.len() && out[last] == out[last - count] {
                    last += 1;
                }
                first..last
            }
            _ => 0..0,
        };
        let hits = |r: &std::ops::Range<usize>| match op {
            Op::Flip { .. } => r.contains(&at),
            Op::Delete { .. } => deleted.start < r.end && r.start < deleted.end,
            Op::Insert { .. } => r.start < at && at < r.end,
        };
        for (i, range) in ranges.iter().enumerate() {
            touched[i] |= hits(range);
        }
        match op {
            Op::Flip { bit } => out[at] ^= 1 << bit,
            Op::Delete { count } => {
                let end = (at + count).min(out.len());
                out.drain(at..end);
            }
            Op::Insert { bytes } => {
                out.splice(at..at, bytes.iter().copied());
            }
        }
    }
    (out, touched)
}

fn check_recovery(
    frames: &[Frame],
    touched: &[bool],
    items: &[Decoded],
) -> Result<(), TestCaseError> {
    // Every yielded frame is an original frame, in order.
    let mut cursor = 0;
    let mut recovered = vec![false; frames.len()];
    for item in items {
        if let Decoded::Frame(frame) = item {
            let found = frames[cursor..].iter().position(|f| f == frame);
            prop_assert!(
                found.is_some(),
                "yielded a frame that was never sent: {:?}",
                frame
            );
            cursor += found.unwrap_or(0);
            recovered[cursor] = true;
            cursor += 1;
        }
    }
    for (i, was_touched) in touched.iter().enumerate() {
        if !was_touched {
            prop_assert!(recovered[i], "untouched frame {} was lost", i);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn untouched_frames_survive_damage(
        frames in prop::collection::vec(arb_frame(), 1..16),
        ops in prop::collection::vec((0.0f64..1.0, arb_op()), 1..6),
        splits in prop::collection::vec(1usize..300, 1..8),
    ) {
        let (wire, ranges) = encode_all(&frames);
        let (damaged, touched) = damage(&wire, &ranges, &ops);
        let mut decoder = Decoder::with_mode(Limits::default(), DecodeMode::Resync);
        let items = feed(&mut decoder, &damaged, &splits).expect("resync never fails");
        check_recovery(&frames, &touched, &items)?;
        prop_assert!(
            items.iter().any(|item| matches!(item, Decoded::Damaged(_))),
            "damage went unreported"
        );
        // Skipped bytes plus yielded frame bytes account for the whole stream.
        let stats = decoder.stats();
        let frame_bytes: u64 = items.iter().map(|item| match item {
            Decoded::Frame(frame) => frame.encoded_len() as u64,
            Decoded::Damaged(_) => 0,
        }).sum();
        prop_assert_eq!(stats.frame_bytes, frame_bytes);
        prop_assert!(stats.frame_bytes + stats.skipped_bytes <= damaged.len() as u64);
    }

    #[test]
    fn a_damaged_frame_never_swallows_the_next(
        before in arb_frame(),
        at in 0usize..1000,
        bit in 0u8..8,
    ) {
        let after = Frame::Ping(Ping { opaque: 0x5EED });
        let (mut wire, ranges) = encode_all(&[before, after.clone()]);
        let at = at % ranges[0].len();
        wire[at] ^= 1 << bit;
        let mut decoder = Decoder::with_mode(Limits::default(), DecodeMode::Resync);
        let items = feed(&mut decoder, &wire, &[wire.len()]).expect("resync never fails");
        prop_assert_eq!(items.last(), Some(&Decoded::Frame(after)));
        prop_assert!(matches!(items[0], Decoded::Damaged(_)));
    }
}

#[test]
fn noise_before_the_first_frame_is_counted() {
    let (wire, _) = encode_all(&[Frame::Ping(Ping { opaque: 1 })]);
    let mut stream = b"\x00\xF5\xF5garbage".to_vec();
    stream.extend(&wire);
    let mut decoder = Decoder::with_mode(Limits::default(), DecodeMode::Resync);
    let items = feed(&mut decoder, &stream, &[3]).expect("resync never fails");
    assert_eq!(
        items,
        vec![
            Decoded::Damaged(Damage::Skipped { bytes: 10 }),
            Decoded::Frame(Frame::Ping(Ping { opaque: 1 })),
        ]
    );
    assert_eq!(decoder.stats().skipped_bytes, 10);
    assert_eq!(decoder.stats().resyncs, 1);
}
