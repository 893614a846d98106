//! # netcore-protocol
//!
//! The LSO v2 wire format of Netcore, sans-IO: no async runtime, no sockets,
//! just bytes in and frames out. Every other Netcore crate stands on it; it
//! depends on none of them.
//!
//! A connection is a stream of **frames**. Each has a fixed 22-byte header
//! (sync marker `F5 4E`, version, kind, flags, message id, payload length and a
//! CRC32C over the header), a payload, and a CRC32C over the payload. Because
//! the length sits under the header CRC, a damaged length can never send the
//! decoder astray. The byte-by-byte description is `docs/wire-format.md` at the
//! repository root; its worked examples are decoded by this crate's tests.
//!
//! ## Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | `header` | the fixed header, [`FrameKind`], [`SYNC`], [`HEADER_LEN`] |
//! | `frame` | one struct per kind ([`Hello`], [`Open`], [`Data`], [`End`], [`Cancel`], [`Credit`], [`Ping`], [`Pong`], [`GoAway`]) and the [`Frame`] enum |
//! | `headers` | [`Headers`], the extensible key/value block of OPEN and HELLO |
//! | `limits` | [`Limits`], advertised in HELLO and enforced on receive |
//! | `encode` | [`Encoder`] and the zero-copy [`EncodedFrame`] |
//! | `decode` | the incremental [`Decoder`], strict or resyncing ([`DecodeMode`]) |
//! | `inbound` | [`InboundTracker`]: message-level checks across frames |
//! | `error`, `code` | [`DecodeError`], [`EncodeError`], [`InboundError`], [`ErrorCode`] |
//! | [`py013`] | a second codec, for the wire format of the Python netcore 0.1.3 |
//!
//! ## How data flows
//!
//! ```text
//!   sending                                   receiving
//!   Frame ──Encoder::encode──▶ EncodedFrame   bytes ──Decoder::decode──▶ Decoded
//!         (checks the peer's     (head, body      (sync, header CRC,     ├─ Frame ──▶ InboundTracker::on_frame
//!          Limits)               shared, CRC)     length ≤ Limits,       │            (ids, offsets, lengths,
//!                                    │            payload CRC)           │             concurrency) ──▶ Inbound
//!                                    ▼                                   └─ Damage (resync mode only)
//!                              vectored write
//! ```
//!
//! Nothing here keeps time or does I/O: a connection core (`netcore-pipe`)
//! owns one [`Decoder`], one [`Encoder`] and one [`InboundTracker`] and
//! decides what the frames mean.
//!
//! ## Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use netcore_protocol::{Data, Decoded, Decoder, Encoder, Frame, Headers, Limits, Open};
//!
//! // One side: a message of 11 bytes, opened with a route header, sent in two frames.
//! let encoder = Encoder::new(Limits::default()); // the peer's limits
//! let mut headers = Headers::new();
//! headers.insert("route", "/greet")?;
//! let open = Frame::Open(Open { headers, ..Open::new(1, Some(11)) });
//! let data = Frame::Data(Data { message_id: 1, offset: 0, payload: Bytes::from_static(b"hello world") });
//! let mut wire = BytesMut::new();
//! encoder.encode_into(&open, &mut wire)?;
//! encoder.encode_into(&data, &mut wire)?;
//!
//! // The other side: feed whatever arrived, take frames out.
//! let mut decoder = Decoder::new(Limits::default()); // this side's limits
//! assert_eq!(decoder.decode(&mut wire)?, Some(Decoded::Frame(open)));
//! assert_eq!(decoder.decode(&mut wire)?, Some(Decoded::Frame(data)));
//! assert_eq!(decoder.decode(&mut wire)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Guarantees
//!
//! - No input panics the decoder or makes it allocate beyond the limits: every
//!   length is checked against [`Limits`] before room is reserved for it.
//! - [`DecodeMode::Strict`] turns any damage into a typed [`DecodeError`];
//!   [`DecodeMode::Resync`] reports damage as [`Damage`] items, scans to the next
//!   valid header, and never yields a damaged payload as good.
//! - DATA chunks and OPEN bodies are decoded as `Bytes` slices of the read
//!   buffer and encoded without copying.

#![forbid(unsafe_code)]

mod code;
mod decode;
mod encode;
mod error;
mod frame;
mod header;
mod headers;
mod inbound;
mod limits;
pub mod py013;

pub use code::ErrorCode;
pub use decode::{Damage, DecodeMode, Decoded, Decoder, DecoderStats};
pub use encode::{EncodedFrame, Encoder};
pub use error::{DecodeError, EncodeError, HeaderError, Malformation};
pub use frame::{Cancel, Credit, Data, End, Frame, GoAway, Hello, Open, Ping, Pong, Priority};
pub use header::{FRAME_OVERHEAD, FrameHeader, FrameKind, HEADER_LEN, SYNC, TRAILER_LEN, VERSION};
pub use headers::{Headers, MAX_HEADER_NAME, MAX_HEADER_VALUE};
pub use inbound::{Inbound, InboundError, InboundTracker};
pub use limits::Limits;
