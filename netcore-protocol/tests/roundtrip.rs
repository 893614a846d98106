//! Any sequence of valid frames, encoded and fed to the decoder in any split
//! (down to one byte at a time), comes back identical.

mod common;

use common::{arb_frame, encode_all, feed, frames_of};
use netcore_protocol::{DecodeMode, Decoded, Decoder, Encoder, Limits};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frames_survive_arbitrary_splits(
        frames in prop::collection::vec(arb_frame(), 1..12),
        splits in prop::collection::vec(1usize..200, 1..16),
    ) {
        let (wire, _) = encode_all(&frames);
        for mode in [DecodeMode::Strict, DecodeMode::Resync] {
            let mut decoder = Decoder::with_mode(Limits::default(), mode);
            let items = feed(&mut decoder, &wire, &splits).expect("clean stream decodes");
            prop_assert!(items.iter().all(|item| matches!(item, Decoded::Frame(_))));
            prop_assert_eq!(frames_of(items), frames.clone());
            prop_assert_eq!(decoder.stats().frames, frames.len() as u64);
            prop_assert_eq!(decoder.stats().frame_bytes, wire.len() as u64);
        }
    }

    #[test]
    fn frames_survive_one_byte_at_a_time(frames in prop::collection::vec(arb_frame(), 1..6)) {
        let (wire, _) = encode_all(&frames);
        let mut decoder = Decoder::new(Limits::default());
        let items = feed(&mut decoder, &wire, &[1]).expect("clean stream decodes");
        prop_assert_eq!(frames_of(items), frames);
    }

    #[test]
    fn zero_copy_and_copying_encoders_agree(frame in arb_frame()) {
        let encoder = Encoder::default();
        let mut copied = bytes::BytesMut::new();
        encoder.encode_into(&frame, &mut copied).expect("frame encodes");
        let parts = encoder.encode(&frame).expect("frame encodes");
        prop_assert_eq!(parts.len(), frame.encoded_len());
        prop_assert_eq!(parts.to_bytes(), copied.freeze());
    }

    #[test]
    fn decoded_frames_reencode_to_their_bytes(frame in arb_frame()) {
        let (wire, _) = encode_all(std::slice::from_ref(&frame));
        let mut decoder = Decoder::new(Limits::default());
        let items = feed(&mut decoder, &wire, &[wire.len()]).expect("decodes");
        let again = encode_all(&frames_of(items)).0;
        prop_assert_eq!(again, wire);
    }
}
