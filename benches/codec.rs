//! Throughput of the LSO v2 codec on DATA frames of 64 B, 4 KiB and 64 KiB.
//!
//! - `encode/into/N`: [`Encoder::encode_into`] into a reused buffer (cleared
//!   each iteration): header, offset, a copy of the payload and both CRCs.
//! - `encode/zero_copy/N`: [`Encoder::encode`], which shares the payload and
//!   returns an [`EncodedFrame`](netcore::protocol::EncodedFrame) ready for a
//!   vectored write (the payload CRC is still computed).
//! - `decode/frame/N`: a strict [`Decoder`] decoding a buffer holding one frame.
//! - `decode/batch/N`: the same decoder draining a buffer of many frames.
//! - `encode+decode/N`: encode one frame into a reused buffer and decode it.
//!
//! Throughput is counted in payload bytes. Run with
//! `cargo xtask bench` (or `cargo xtask bench -- --quick`).

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use netcore::protocol::{Data, Decoded, Decoder, Encoder, Frame, Limits};

/// DATA payload sizes benchmarked.
const SIZES: [usize; 3] = [64, 4 << 10, 64 << 10];

/// A DATA frame carrying `len` bytes.
fn data_frame(len: usize) -> Frame {
    Frame::Data(Data {
        message_id: 1,
        offset: 0,
        payload: Bytes::from(vec![0xA5; len]),
    })
}

/// Human-readable size for benchmark ids.
fn label(len: usize) -> String {
    if len >= 1 << 10 {
        format!("{}KiB", len >> 10)
    } else {
        format!("{len}B")
    }
}

/// Frames per batch for `len`-byte payloads: about 1 MiB of payload, at least 16 frames.
fn batch_len(len: usize) -> usize {
    ((1 << 20) / len).clamp(16, 1024)
}

/// Decodes one frame, which must be there.
fn decode_one(decoder: &mut Decoder, wire: &mut BytesMut) -> Frame {
    match decoder.decode(wire) {
        Ok(Some(Decoded::Frame(frame))) => frame,
        other => panic!("expected a frame, got {other:?}"),
    }
}

fn encode(c: &mut Criterion) {
    let encoder = Encoder::new(Limits::default());
    let mut group = c.benchmark_group("encode");
    for len in SIZES {
        let frame = data_frame(len);
        group.throughput(Throughput::Bytes(len as u64));
        let mut buf = BytesMut::with_capacity(frame.encoded_len());
        group.bench_function(format!("into/{}", label(len)), |b| {
            b.iter(|| {
                buf.clear();
                let result = encoder.encode_into(black_box(&frame), &mut buf);
                black_box(result.is_ok());
                black_box(buf.len())
            });
        });
        group.bench_function(format!("zero_copy/{}", label(len)), |b| {
            b.iter(|| match encoder.encode(black_box(&frame)) {
                Ok(encoded) => black_box(encoded.len()),
                Err(error) => panic!("encode failed: {error}"),
            });
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let encoder = Encoder::new(Limits::default());
    let mut group = c.benchmark_group("decode");
    for len in SIZES {
        let frame = data_frame(len);
        let mut one = BytesMut::new();
        if let Err(error) = encoder.encode_into(&frame, &mut one) {
            panic!("encode failed: {error}");
        }
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("frame/{}", label(len)), |b| {
            let mut decoder = Decoder::new(Limits::default());
            b.iter_batched(
                || one.clone(),
                |mut wire| decode_one(&mut decoder, &mut wire),
                BatchSize::LargeInput,
            );
        });

        let count = batch_len(len);
        let mut batch = BytesMut::with_capacity(one.len() * count);
        for _ in 0..count {
            batch.extend_from_slice(&one);
        }
        group.throughput(Throughput::Bytes((len * count) as u64));
        group.bench_function(format!("batch/{}x{}", count, label(len)), |b| {
            let mut decoder = Decoder::new(Limits::default());
            b.iter_batched(
                || batch.clone(),
                |mut wire| {
                    let mut frames = 0usize;
                    while let Ok(Some(item)) = decoder.decode(&mut wire) {
                        black_box(item);
                        frames += 1;
                    }
                    assert_eq!(frames, count);
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let encoder = Encoder::new(Limits::default());
    let mut group = c.benchmark_group("encode+decode");
    for len in SIZES {
        let frame = data_frame(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(label(len), |b| {
            let mut decoder = Decoder::new(Limits::default());
            let mut wire = BytesMut::with_capacity(frame.encoded_len());
            b.iter(|| {
                wire.clear();
                if let Err(error) = encoder.encode_into(black_box(&frame), &mut wire) {
                    panic!("encode failed: {error}");
                }
                decode_one(&mut decoder, &mut wire)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = encode, decode, round_trip
}
criterion_main!(benches);
