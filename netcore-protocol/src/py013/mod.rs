//! A sans-IO codec for the wire format of the Python framework **netcore
//! 0.1.3** (PyPI), so that a Rust endpoint can talk to existing Python peers.
//!
//! The format is described byte by byte, bugs included, in
//! `docs/python-013-wire-format.md` (cited below as "§n"); its golden
//! captures are decoded and re-encoded byte for byte by this crate's
//! `tests/py013_vectors.rs`, and its worked examples are checked by
//! `tests/py013_wire_doc.rs`.
//!
//! ## The format in brief
//!
//! There is no handshake, version or magic number: the connection is a bare
//! sequence of **packets** (§2), each
//! `ext_len: i32 LE | ext: JSON | meta_len: i32 LE | meta`. The `ext` JSON
//! says what the packet is (§4):
//!
//! | [`Packet`] | `ext` | `meta` |
//! |---|---|---|
//! | [`Head`] (§4.1) | `{"type": "mission"}` | `{"extension": "<id>", "length": <n>, "info": {…}}` |
//! | [`Data`] (§4.2) | `{"type": "data", "extension": "<id>"}` | raw bytes, 4096 per chunk |
//! | [`Cancel`] (§4.3) | `{"type": "cancel", "extension": "<id>"}` | `{"extension": "<id>"}` (ignored) |
//!
//! A message (a *mission*) is a head announcing its total length, then data
//! chunks carrying the payload; the 6-character extension id ties them
//! together. The [`Info`] object in the head carries the Endpoint's fields
//! (§6.1): `route` and an 8-character `message_id` for a request, plus
//! `is_response: true` (and the request's `message_id`) for a reply.
//!
//! ## What the codec mimics or tolerates
//!
//! Sending ([`Encoder`], [`Mission`]):
//! - JSON exactly as Python's `json.dumps` writes it (`", "` and `": "`,
//!   `\uXXXX` for anything outside printable ASCII, floats as `repr`), with
//!   key order kept ([`Object`]), so re-encoding reproduces Python's bytes.
//! - Data chunks of [`CHUNK_LEN`] (4096) bytes, the last one shorter
//!   ([`split_chunks`]); the head before any chunk ([`Mission`]).
//! - Never a meta over [`MAX_SEND_META_LEN`] (4096) or an `ext` over
//!   [`MAX_SEND_EXT_LEN`] (2048): a Python receiver misreads those and loses
//!   the stream silently (§9.2). A too-long head (a long route, many info
//!   keys) is the clear local error [`EncodeError::MetaTooLong`].
//! - Never an empty data chunk ([`EncodeError::EmptyChunk`]): it would stop
//!   the Python dispatcher for good (§9.3). An empty payload is a head alone,
//!   as Python sends it.
//!
//! Receiving ([`Decoder`]):
//! - Any valid JSON, as `json.loads` accepts it: other separators, any key
//!   order, extra keys (kept in [`Info`], ignored elsewhere), repeated keys
//!   (the last value wins). `NaN`, `Infinity` and lone surrogate escapes,
//!   which Python would accept, are refused ([`DecodeError::BadJson`]).
//! - Chunks of any size up to [`Limits::max_chunk_len`], including empty ones.
//! - Every length checked against [`Limits`] before room is reserved.
//!
//! ## What the pipe mode must do on top
//!
//! The codec is one packet at a time; the Python pipe mode (issue 7, item 2)
//! owns the state across packets:
//! - **Reassembly** (§8): a head opens an entry `id → (length, received)`
//!   (a second head with the same id replaces it); chunks append; the
//!   message completes when `received == length`, and more than `length` is
//!   a protocol error. A head with length 0 never completes on a Python
//!   peer; the Rust side may deliver it at once or drop it, but must decide.
//! - **Chunks before their head** (§7.3): a Python sender can put chunks on
//!   the wire before their head; buffer them per unknown id, with a bound
//!   on ids and bytes, and replay them when the head arrives.
//! - **Cancels** (§4.3, §6.5): drop the partial entry; accept cancels for
//!   unknown or completed ids, and cancels that arrive late. Send one with
//!   [`Mission::cancel`] only while a mission is being sent.
//! - **Scheduling** (§7.1): unique extension ids among missions in flight
//!   (6 characters of `[A-Za-z0-9]` to look like Python's); heads before
//!   chunks; one chunk per mission per round, as [`Mission::write_next`]
//!   makes easy.
//! - **Endpoint mapping** (§6): route and `message_id` in [`Info`]; replies
//!   with [`Info::response`]; replies matched by `message_id` only and
//!   dropped when unknown; a timeout on every call, because a Python peer
//!   never sends an error reply.
//!
//! ## Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use netcore_protocol::py013::{Decoder, Info, Mission, Packet};
//!
//! // A request as Python's `endpoint.send('echo', {'x': 1})` writes it.
//! let mut mission = Mission::new("fbZAVa", Info::request("echo", "i0VpEBOW"), Bytes::from_static(b"{\"x\": 1}"))?;
//! let mut wire = BytesMut::new();
//! while mission.write_next(&mut wire).is_some() {}
//! assert_eq!(wire.len(), 171); // as in the golden capture request_echo_json.c2s.bin
//!
//! let mut decoder = Decoder::default();
//! let Some(Packet::Head(head)) = decoder.decode(&mut wire)? else { panic!("a head first") };
//! assert_eq!(head.info.route(), Some("echo"));
//! let Some(Packet::Data(data)) = decoder.decode(&mut wire)? else { panic!("then a chunk") };
//! assert_eq!(&data.chunk[..], b"{\"x\": 1}");
//! assert_eq!(decoder.decode_eof(&mut wire)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod encode;
mod error;
mod info;
mod json;
mod limits;
mod packet;

pub use decode::{Decoder, DecoderStats};
pub use encode::{Encoder, Mission, data_prefix, split_chunks};
pub use error::{DecodeError, EncodeError, JsonPart, LengthField};
pub use info::Info;
pub use json::{Json, MAX_DEPTH, Object};
pub use limits::{
    CHUNK_LEN, Limits, MAX_SEND_CHUNK_LEN, MAX_SEND_EXT_LEN, MAX_SEND_META_LEN,
    python_reads_chunk_len,
};
pub use packet::{Cancel, Data, Head, Packet, PacketKind};
