//! The Python netcore 0.1.3 codec (`netcore_protocol::py013`): each packet
//! kind, the quirks it mimics and tolerates, every limit and malformation as
//! an exact typed error, and a property round trip in arbitrary read splits.

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{
    CHUNK_LEN, Cancel, Data, DecodeError, Decoder, EncodeError, Encoder, Head, Info, Json,
    JsonPart, LengthField, Limits, MAX_SEND_CHUNK_LEN, MAX_SEND_EXT_LEN, MAX_SEND_META_LEN,
    Mission, Object, Packet, PacketKind, split_chunks,
};
use proptest::prelude::*;

/// `ext_len | ext | meta_len | meta`, lengths as given.
fn raw(ext: &[u8], meta: &[u8]) -> BytesMut {
    raw_lens(ext.len() as i32, ext, meta.len() as i32, meta)
}

fn raw_lens(ext_len: i32, ext: &[u8], meta_len: i32, meta: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    out.extend_from_slice(&ext_len.to_le_bytes());
    out.extend_from_slice(ext);
    out.extend_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(meta);
    out
}

fn decode_one(mut wire: BytesMut) -> Result<Option<Packet>, DecodeError> {
    let mut decoder = Decoder::default();
    let packet = decoder.decode_eof(&mut wire)?;
    assert!(wire.is_empty(), "{} bytes left", wire.len());
    Ok(packet)
}

fn encode(packet: &Packet) -> Result<Bytes, EncodeError> {
    Encoder::new().encode(packet)
}

fn head(extension: &str, length: u64, info: Info) -> Packet {
    Packet::Head(Head {
        extension: extension.into(),
        length,
        info,
    })
}

fn data(extension: &str, chunk: &'static [u8]) -> Packet {
    Packet::Data(Data {
        extension: extension.into(),
        chunk: Bytes::from_static(chunk),
    })
}

const HEAD_EXT: &[u8] = br#"{"type": "mission"}"#;

// ---- each packet kind ------------------------------------------------------

#[test]
fn head_request_and_replies_encode_like_python() -> Result<(), Box<dyn std::error::Error>> {
    let cases = [
        (
            Info::request("echo", "i0VpEBOW"),
            r#"{"extension": "fbZAVa", "length": 8, "info": {"route": "echo", "message_id": "i0VpEBOW"}}"#,
        ),
        (
            Info::response(Some("echo"), "i0VpEBOW"),
            r#"{"extension": "fbZAVa", "length": 8, "info": {"route": "echo", "is_response": true, "message_id": "i0VpEBOW"}}"#,
        ),
        (
            Info::response(None, "i0VpEBOW"),
            r#"{"extension": "fbZAVa", "length": 8, "info": {"is_response": true, "message_id": "i0VpEBOW"}}"#,
        ),
        (
            Info::new(),
            r#"{"extension": "fbZAVa", "length": 8, "info": {}}"#,
        ),
    ];
    for (info, meta) in cases {
        let packet = head("fbZAVa", 8, info);
        let bytes = encode(&packet)?;
        assert_eq!(&bytes[..], &raw(HEAD_EXT, meta.as_bytes())[..]);
        assert_eq!(&bytes[..4], b"\x13\0\0\0");
        assert_eq!(decode_one(BytesMut::from(&bytes[..]))?, Some(packet));
    }
    Ok(())
}

#[test]
fn non_ascii_is_escaped_like_ensure_ascii() -> Result<(), Box<dyn std::error::Error>> {
    // docs/python-013-wire-format.md §3.1: route `é` is sent as "\u00e9".
    let packet = head("fbZAVa", 1, Info::request("é", "i0VpEBOW"));
    let bytes = encode(&packet)?;
    let text = std::str::from_utf8(&bytes[27..])?;
    assert!(text.contains(r#""route": "\u00e9""#), "{text}");
    assert_eq!(decode_one(BytesMut::from(&bytes[..]))?, Some(packet));
    Ok(())
}

#[test]
fn data_chunk_encodes_and_decodes() -> Result<(), Box<dyn std::error::Error>> {
    let packet = data("fbZAVa", b"{\"x\": 1}");
    let bytes = encode(&packet)?;
    assert_eq!(
        &bytes[..],
        &raw(br#"{"type": "data", "extension": "fbZAVa"}"#, b"{\"x\": 1}")[..]
    );
    assert_eq!(bytes.len(), 55);
    assert_eq!(decode_one(BytesMut::from(&bytes[..]))?, Some(packet));
    Ok(())
}

#[test]
fn cancel_encodes_and_decodes() -> Result<(), Box<dyn std::error::Error>> {
    let packet = Packet::Cancel(Cancel {
        extension: "fbZAVa".into(),
    });
    let bytes = encode(&packet)?;
    assert_eq!(
        &bytes[..],
        &raw(
            br#"{"type": "cancel", "extension": "fbZAVa"}"#,
            br#"{"extension": "fbZAVa"}"#
        )[..]
    );
    assert_eq!(bytes.len(), 72);
    assert_eq!(decode_one(BytesMut::from(&bytes[..]))?, Some(packet));
    Ok(())
}

#[test]
fn a_partial_packet_waits_for_more_bytes() -> Result<(), Box<dyn std::error::Error>> {
    let packet = head("fbZAVa", 8, Info::request("echo", "i0VpEBOW"));
    let whole = encode(&packet)?;
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    for (i, byte) in whole.iter().enumerate() {
        buf.extend_from_slice(&[*byte]);
        let item = decoder.decode(&mut buf)?;
        if i + 1 < whole.len() {
            assert_eq!(item, None, "yielded early at byte {i}");
            assert_eq!(buf.len(), i + 1, "consumed a partial packet");
        } else {
            assert_eq!(item, Some(packet.clone()));
        }
    }
    assert_eq!(decoder.stats().packets, 1);
    assert_eq!(decoder.stats().bytes, whole.len() as u64);
    Ok(())
}

#[test]
fn data_chunks_are_slices_of_the_read_buffer() -> Result<(), Box<dyn std::error::Error>> {
    let mut wire = raw(br#"{"type": "data", "extension": "a"}"#, &[9u8; 100]);
    let start = wire.as_ptr() as usize;
    let Some(Packet::Data(data)) = Decoder::default().decode(&mut wire)? else {
        panic!("a data chunk");
    };
    let at = data.chunk.as_ptr() as usize;
    assert!(at > start && at < start + 200, "the chunk was copied");
    Ok(())
}

// ---- tolerance: any JSON json.loads accepts --------------------------------

#[test]
fn compact_reordered_json_with_extra_keys_is_accepted() -> Result<(), Box<dyn std::error::Error>> {
    let wire = raw(
        br#"{"extra":[1,2],"type":"mission"}"#,
        br#"{"info":{"message_id":"m","route":"r","trace":{"a":null}},"x":1,"length":3,"extension":"e"}"#,
    );
    let Some(Packet::Head(head)) = decode_one(wire)? else {
        panic!("a head");
    };
    assert_eq!((head.extension.as_str(), head.length), ("e", 3));
    assert_eq!(head.info.route(), Some("r"));
    assert_eq!(head.info.message_id(), Some("m"));
    assert!(!head.info.is_response());
    // Extra info keys are kept, in order (they are request headers in Python).
    let keys: Vec<&str> = head.info.as_object().iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["message_id", "route", "trace"]);
    assert_eq!(
        head.info.to_python_string()?,
        r#"{"message_id": "m", "route": "r", "trace": {"a": null}}"#
    );

    let wire = raw(
        b" {\"extension\" : \"e\", \"type\":\"data\", \"type\": \"cancel\"}\n",
        b"not even JSON: the cancel meta is ignored",
    );
    assert_eq!(
        decode_one(wire)?,
        Some(Packet::Cancel(Cancel {
            extension: "e".into()
        }))
    );
    Ok(())
}

#[test]
fn empty_data_chunks_decode_but_never_encode() -> Result<(), Box<dyn std::error::Error>> {
    let packet = data("e", b"");
    let wire = raw(br#"{"type": "data", "extension": "e"}"#, b"");
    assert_eq!(decode_one(wire)?, Some(packet.clone()));
    assert_eq!(encode(&packet), Err(EncodeError::EmptyChunk));
    Ok(())
}

#[test]
fn is_response_must_be_true_itself() {
    let mut info = Info::request("r", "m");
    info.insert("is_response", 1u64);
    assert!(!info.is_response());
    info.insert("is_response", true);
    assert!(info.is_response());
    assert_eq!(info.remove("is_response"), Some(Json::Bool(true)));
    assert_eq!(info.get("is_response"), None);
}

// ---- encoder limits: what a Python receiver reads correctly ----------------

#[test]
fn chunks_a_python_receiver_misreads_are_refused() {
    let chunk = |len: usize| {
        Packet::Data(Data {
            extension: "e".into(),
            chunk: Bytes::from(vec![0u8; len]),
        })
    };
    // Over 4096 and not a multiple of 2048: misread (§9.2).
    assert_eq!(
        encode(&chunk(CHUNK_LEN + 1)),
        Err(EncodeError::UnreadableChunk { len: CHUNK_LEN + 1 })
    );
    assert_eq!(
        encode(&chunk(6000)),
        Err(EncodeError::UnreadableChunk { len: 6000 })
    );
    assert!(encode(&chunk(CHUNK_LEN)).is_ok());
    // Multiples of 2048 are read correctly, up to the send limit.
    assert!(encode(&chunk(8192)).is_ok());
    assert!(encode(&chunk(64 << 10)).is_ok());
    assert_eq!(
        encode(&chunk(MAX_SEND_CHUNK_LEN + 2048)),
        Err(EncodeError::UnreadableChunk {
            len: MAX_SEND_CHUNK_LEN + 2048
        })
    );
}

#[test]
fn heads_above_4096_are_a_clear_local_error() {
    // `{"extension": "fbZAVa", "length": 1, "info": {"route": "<r>", "message_id": "i0VpEBOW"}}`
    // is 85 bytes plus the route.
    let fits = "r".repeat(MAX_SEND_META_LEN - 85);
    let packet = head("fbZAVa", 1, Info::request(&fits, "i0VpEBOW"));
    assert_eq!(encode(&packet).map(|bytes| bytes.len()), Ok(27 + 4096));
    let long = "r".repeat(MAX_SEND_META_LEN - 84);
    let error = EncodeError::MetaTooLong {
        kind: PacketKind::Mission,
        len: MAX_SEND_META_LEN + 1,
        max: MAX_SEND_META_LEN,
    };
    let packet = head("fbZAVa", 1, Info::request(&long, "i0VpEBOW"));
    assert_eq!(encode(&packet), Err(error.clone()));
    let mission = Mission::new(
        "fbZAVa",
        Info::request(&long, "i0VpEBOW"),
        Bytes::from_static(b"x"),
    );
    assert_eq!(mission.err(), Some(error.clone()));
    assert_eq!(
        error.to_string(),
        "mission meta of 4097 bytes exceeds the 4096 a Python peer reads correctly"
    );
    // Nothing is written on error.
    let mut out = BytesMut::new();
    assert!(Encoder::new().encode_into(&packet, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn ids_too_long_for_the_ext_are_refused() {
    // A data ext is 33 bytes plus the id.
    let id = "i".repeat(MAX_SEND_EXT_LEN - 32);
    let packet = Packet::Data(Data {
        extension: id.clone(),
        chunk: Bytes::from_static(b"x"),
    });
    assert_eq!(
        encode(&packet),
        Err(EncodeError::ExtTooLong {
            kind: PacketKind::Data,
            len: MAX_SEND_EXT_LEN + 1,
            max: MAX_SEND_EXT_LEN
        })
    );
    let short = "i".repeat(MAX_SEND_EXT_LEN - 33);
    let packet = Packet::Data(Data {
        extension: short,
        chunk: Bytes::from_static(b"x"),
    });
    assert!(encode(&packet).is_ok());
    assert!(matches!(
        Mission::new(id, Info::new(), Bytes::new()),
        Err(EncodeError::ExtTooLong { .. } | EncodeError::MetaTooLong { .. })
    ));
}

#[test]
fn unencodable_json_is_refused() {
    let mut info = Info::new();
    info.insert("x", Json::Float(f64::INFINITY));
    assert_eq!(
        encode(&head("e", 0, info)),
        Err(EncodeError::NonFiniteFloat)
    );
    let mut deep = Json::Null;
    for _ in 0..200 {
        deep = Json::Array(vec![deep]);
    }
    let mut info = Info::new();
    info.insert("x", deep);
    assert!(matches!(
        encode(&head("e", 0, info)),
        Err(EncodeError::TooDeep { .. })
    ));
}

// ---- missions: head first, 4096-byte chunks, cancels -----------------------

fn drain(mission: &mut Mission) -> Vec<Packet> {
    std::iter::from_fn(|| mission.next_packet()).collect()
}

#[test]
fn missions_send_the_head_then_4096_byte_chunks() -> Result<(), Box<dyn std::error::Error>> {
    let body = Bytes::from((0..10_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let mut mission = Mission::new("fbZAVa", Info::request("echo", "i0VpEBOW"), body.clone())?;
    assert_eq!(mission.head().length, 10_000);
    let packets = drain(&mut mission);
    assert!(mission.is_done());
    assert!(matches!(&packets[0], Packet::Head(head) if head.length == 10_000));
    let sizes: Vec<usize> = packets[1..]
        .iter()
        .map(|packet| match packet {
            Packet::Data(data) => data.chunk.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, [4096, 4096, 1808]);

    // The byte form is the same packets encoded.
    let mut again = Mission::new("fbZAVa", Info::request("echo", "i0VpEBOW"), body)?;
    let mut wire = BytesMut::new();
    while again.write_next(&mut wire).is_some() {}
    let mut expected = BytesMut::new();
    for packet in &packets {
        Encoder::new().encode_into(packet, &mut expected)?;
    }
    assert_eq!(wire, expected);
    Ok(())
}

#[test]
fn an_empty_body_is_a_head_alone() -> Result<(), Box<dyn std::error::Error>> {
    let mut mission = Mission::new("fbZAVa", Info::request("echo", "i0VpEBOW"), Bytes::new())?;
    let packets = drain(&mut mission);
    assert_eq!(
        packets,
        [head("fbZAVa", 0, Info::request("echo", "i0VpEBOW"))]
    );
    assert_eq!(split_chunks(&Bytes::new()).count(), 0);
    Ok(())
}

#[test]
fn write_head_then_round_robin_chunks() -> Result<(), Box<dyn std::error::Error>> {
    let mut a = Mission::new("A", Info::new(), Bytes::from(vec![1u8; 5000]))?;
    let mut wire = BytesMut::new();
    assert!(!a.head_sent());
    assert!(a.write_head(&mut wire));
    assert!(a.head_sent());
    assert!(!a.write_head(&mut wire), "the head goes out once");
    assert_eq!(a.write_next(&mut wire), Some(PacketKind::Data));
    assert_eq!(a.remaining(), 5000 - 4096);
    assert_eq!(a.write_next(&mut wire), Some(PacketKind::Data));
    assert_eq!(a.write_next(&mut wire), None);
    Ok(())
}

#[test]
fn cancel_is_sent_only_while_the_mission_is_on_the_wire() -> Result<(), Box<dyn std::error::Error>>
{
    let body = Bytes::from(vec![0u8; 3 * CHUNK_LEN]);
    // Not started: nothing to tell the peer.
    let mut mission = Mission::new("A", Info::new(), body.clone())?;
    assert_eq!(mission.cancel(), None);
    assert!(mission.is_done());
    assert_eq!(mission.next_packet(), None);
    // Under way: a cancel, and no more chunks.
    let mut mission = Mission::new("A", Info::new(), body.clone())?;
    assert!(mission.next_packet().is_some());
    assert!(mission.next_packet().is_some());
    assert_eq!(
        mission.cancel(),
        Some(Cancel {
            extension: "A".into()
        })
    );
    assert_eq!(mission.next_packet(), None);
    // Complete: nothing (Python's cancel_mission returns False).
    let mut mission = Mission::new("A", Info::new(), body)?;
    drain(&mut mission);
    assert_eq!(mission.cancel(), None);
    Ok(())
}

// ---- malformed input: exact typed errors -----------------------------------

#[test]
fn negative_lengths() {
    assert_eq!(
        decode_one(raw_lens(-1, b"", 0, b"")),
        Err(DecodeError::NegativeLength {
            field: LengthField::Ext,
            len: -1
        })
    );
    assert_eq!(
        decode_one(raw_lens(19, HEAD_EXT, i32::MIN, b"")),
        Err(DecodeError::NegativeLength {
            field: LengthField::Meta,
            len: i32::MIN
        })
    );
}

#[test]
fn each_limit_is_checked_before_the_bytes_arrive() {
    let limits = Limits::default()
        .with_max_ext_len(40)
        .with_max_head_len(100)
        .with_max_chunk_len(200)
        .with_max_cancel_len(30)
        .with_max_message_len(1000);
    let decode = |mut wire: BytesMut| Decoder::new(limits).decode(&mut wire);

    // Only the length field is there: the error comes before any ext byte.
    assert_eq!(
        decode(BytesMut::from(&41i32.to_le_bytes()[..])),
        Err(DecodeError::ExtTooLong { len: 41, max: 40 })
    );
    let meta_too_long = |ext: &[u8], len: i32, kind, max| {
        let wire = raw_lens(ext.len() as i32, ext, len, b"");
        assert_eq!(
            decode(wire),
            Err(DecodeError::MetaTooLong {
                kind,
                len: len as usize,
                max
            })
        );
        // One byte less is fine: the decoder waits for the meta.
        let wire = raw_lens(ext.len() as i32, ext, len - 1, b"");
        assert_eq!(decode(wire), Ok(None));
    };
    meta_too_long(HEAD_EXT, 101, PacketKind::Mission, 100);
    meta_too_long(
        br#"{"type": "data", "extension": "e"}"#,
        201,
        PacketKind::Data,
        200,
    );
    meta_too_long(
        br#"{"type": "cancel", "extension": "e"}"#,
        31,
        PacketKind::Cancel,
        30,
    );

    let wire = raw(
        HEAD_EXT,
        br#"{"extension": "e", "length": 1001, "info": {}}"#,
    );
    assert_eq!(
        decode(wire),
        Err(DecodeError::MessageTooLarge {
            len: 1001,
            max: 1000
        })
    );
    let wire = raw(
        HEAD_EXT,
        br#"{"extension": "e", "length": 1000, "info": {}}"#,
    );
    assert!(matches!(decode(wire), Ok(Some(Packet::Head(_)))));
}

#[test]
fn room_is_reserved_only_up_to_the_checked_length() {
    let mut wire = raw_lens(19, HEAD_EXT, 16 << 10, b"");
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(&mut wire), Ok(None));
    assert!(wire.capacity() >= 27 + (16 << 10));
    assert!(wire.capacity() < 4 * (27 + (16 << 10)));
}

#[test]
fn bad_ext_json() {
    let cases: [(&[u8], DecodeError); 7] = [
        (
            b"{\"type\": ",
            DecodeError::BadJson {
                part: JsonPart::Ext,
                reason: "EOF while parsing a value at line 1 column 9".into(),
            },
        ),
        (
            b"[\"mission\"]",
            DecodeError::NotAnObject {
                part: JsonPart::Ext,
            },
        ),
        (
            b"{}",
            DecodeError::MissingKey {
                part: JsonPart::Ext,
                key: "type",
            },
        ),
        (
            b"{\"type\": 1}",
            DecodeError::WrongType {
                part: JsonPart::Ext,
                key: "type",
                expected: "a string",
            },
        ),
        (
            b"{\"type\": \"hello\"}",
            DecodeError::UnknownType {
                found: "hello".into(),
            },
        ),
        (
            b"{\"type\": \"data\"}",
            DecodeError::MissingKey {
                part: JsonPart::Ext,
                key: "extension",
            },
        ),
        (
            b"{\"type\": \"cancel\", \"extension\": null}",
            DecodeError::WrongType {
                part: JsonPart::Ext,
                key: "extension",
                expected: "a string",
            },
        ),
    ];
    for (ext, error) in cases {
        // The ext is judged as soon as it is there, before its meta length.
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&(ext.len() as i32).to_le_bytes());
        wire.extend_from_slice(ext);
        assert_eq!(
            Decoder::default().decode(&mut wire),
            Err(error),
            "{}",
            String::from_utf8_lossy(ext)
        );
    }
    let long_type = format!("{{\"type\": \"{}\"}}", "t".repeat(100));
    assert_eq!(
        decode_one(raw(long_type.as_bytes(), b"")),
        Err(DecodeError::UnknownType {
            found: "t".repeat(64)
        })
    );
    assert!(matches!(
        decode_one(raw(b"\xff\xfe", b"")),
        Err(DecodeError::BadJson {
            part: JsonPart::Ext,
            ..
        })
    ));
    assert!(matches!(
        decode_one(raw(b"{\"type\": NaN}", b"")),
        Err(DecodeError::BadJson {
            part: JsonPart::Ext,
            ..
        })
    ));
}

#[test]
fn bad_head_meta() {
    let part = JsonPart::Head;
    let length = "an integer from 0 to 2^64 - 1";
    let cases: [(&str, DecodeError); 10] = [
        (
            "{\"extension\": \"e\", ",
            DecodeError::BadJson {
                part,
                reason: "EOF while parsing a value at line 1 column 19".into(),
            },
        ),
        ("\"e\"", DecodeError::NotAnObject { part }),
        (
            r#"{"length": 1, "info": {}}"#,
            DecodeError::MissingKey {
                part,
                key: "extension",
            },
        ),
        (
            r#"{"extension": 7, "length": 1, "info": {}}"#,
            DecodeError::WrongType {
                part,
                key: "extension",
                expected: "a string",
            },
        ),
        (
            r#"{"extension": "e", "info": {}}"#,
            DecodeError::MissingKey {
                part,
                key: "length",
            },
        ),
        (
            r#"{"extension": "e", "length": -1, "info": {}}"#,
            DecodeError::WrongType {
                part,
                key: "length",
                expected: length,
            },
        ),
        (
            r#"{"extension": "e", "length": 8.0, "info": {}}"#,
            DecodeError::WrongType {
                part,
                key: "length",
                expected: length,
            },
        ),
        (
            r#"{"extension": "e", "length": 1}"#,
            DecodeError::MissingKey { part, key: "info" },
        ),
        (
            r#"{"extension": "e", "length": 1, "info": []}"#,
            DecodeError::WrongType {
                part,
                key: "info",
                expected: "an object",
            },
        ),
        (
            r#"{"extension": "e", "length": 1, "info": null}"#,
            DecodeError::WrongType {
                part,
                key: "info",
                expected: "an object",
            },
        ),
    ];
    for (meta, error) in cases {
        assert_eq!(
            decode_one(raw(HEAD_EXT, meta.as_bytes())),
            Err(error),
            "{meta}"
        );
    }
}

#[test]
fn truncation_at_every_point_is_reported_at_eof() -> Result<(), Box<dyn std::error::Error>> {
    let whole = encode(&head("fbZAVa", 8, Info::request("echo", "i0VpEBOW")))?;
    for cut in 1..whole.len() {
        let mut wire = BytesMut::from(&whole[..cut]);
        let mut decoder = Decoder::default();
        assert_eq!(decoder.decode(&mut wire), Ok(None), "cut at {cut}");
        assert_eq!(
            decoder.decode_eof(&mut wire),
            Err(DecodeError::Truncated { buffered: cut }),
            "cut at {cut}"
        );
    }
    assert_eq!(
        Decoder::default().decode_eof(&mut BytesMut::new()),
        Ok(None)
    );
    Ok(())
}

#[test]
fn errors_read_well() {
    assert_eq!(
        DecodeError::ExtTooLong {
            len: 3000,
            max: 2048
        }
        .to_string(),
        "packet ext of 3000 bytes exceeds the limit of 2048"
    );
    assert_eq!(
        DecodeError::MissingKey {
            part: JsonPart::Head,
            key: "info"
        }
        .to_string(),
        "mission head JSON lacks the key \"info\""
    );
    assert_eq!(
        EncodeError::EmptyChunk.to_string(),
        "an empty data chunk would stop a Python peer's dispatcher"
    );
}

// ---- property: any packets, any read split ---------------------------------

fn arb_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9]{6}",
        "[A-Za-z0-9]{8}",
        any::<String>().prop_map(|id| id.chars().take(20).collect()),
    ]
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|value| Json::Int(value.into())),
        any::<u64>().prop_map(|value| Json::Int(value.into())),
        // Floats that any parser reads back exactly.
        (any::<i16>(), 0u32..10)
            .prop_map(|(m, e)| Json::Float(f64::from(m) / f64::from(1u32 << e))),
        prop::sample::select(vec![1e16, 1.5e-7, 1e300, 0.1, 123.456]).prop_map(Json::Float),
        any::<String>().prop_map(|text| Json::String(text.chars().take(12).collect())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|entries| Json::Object(entries.into_iter().collect::<Object>())),
        ]
    })
}

fn arb_info() -> impl Strategy<Value = Info> {
    (
        "[a-z/é]{0,12}",
        "[A-Za-z0-9]{8}",
        any::<bool>(),
        prop::collection::vec(("[a-z-]{1,10}", arb_json()), 0..3),
    )
        .prop_map(|(route, message_id, reply, extra)| {
            let mut info = if reply {
                Info::response(Some(&route), &message_id)
            } else {
                Info::request(&route, &message_id)
            };
            for (key, value) in extra {
                info.insert(key, value);
            }
            info
        })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (arb_id(), any::<u64>(), arb_info()).prop_map(|(extension, length, info)| {
            Packet::Head(Head {
                extension,
                length: length % (Limits::DEFAULT_MESSAGE_LEN + 1),
                info,
            })
        }),
        (
            arb_id(),
            prop::collection::vec(any::<u8>(), 1..CHUNK_LEN + 1)
        )
            .prop_map(|(extension, chunk)| Packet::Data(Data {
                extension,
                chunk: Bytes::from(chunk),
            })),
        arb_id().prop_map(|extension| Packet::Cancel(Cancel { extension })),
    ]
}

/// Decodes `wire` fed in reads of the given sizes (cycled).
fn decode_split(wire: &[u8], splits: &[usize]) -> Result<Vec<Packet>, DecodeError> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut at = 0;
    for split in splits.iter().cycle() {
        if at >= wire.len() {
            break;
        }
        let end = (at + split).min(wire.len());
        buf.extend_from_slice(&wire[at..end]);
        at = end;
        while let Some(packet) = decoder.decode(&mut buf)? {
            packets.push(packet);
        }
    }
    while let Some(packet) = decoder.decode_eof(&mut buf)? {
        packets.push(packet);
    }
    Ok(packets)
}

proptest! {
    #[test]
    fn packets_round_trip_in_any_split(
        packets in prop::collection::vec(arb_packet(), 0..8),
        splits in prop::collection::vec(1usize..600, 1..8),
    ) {
        let encoder = Encoder::new();
        let mut wire = BytesMut::new();
        for packet in &packets {
            encoder.encode_into(packet, &mut wire).expect("generated packets encode");
        }
        let decoded = decode_split(&wire, &splits).expect("encoded packets decode");
        prop_assert_eq!(&decoded, &packets);
        // Encoding is canonical: the decoded packets give the same bytes.
        let mut again = BytesMut::new();
        for packet in &decoded {
            encoder.encode_into(packet, &mut again).expect("decoded packets encode");
        }
        prop_assert_eq!(again, wire);
    }

    #[test]
    fn missions_carry_their_body_in_any_split(
        body in prop::collection::vec(any::<u8>(), 0..3 * CHUNK_LEN),
        info in arb_info(),
        splits in prop::collection::vec(1usize..5000, 1..4),
    ) {
        let body = Bytes::from(body);
        let mut mission = Mission::new("fbZAVa", info.clone(), body.clone()).expect("mission");
        let mut wire = BytesMut::new();
        while mission.write_next(&mut wire).is_some() {}
        let decoded = decode_split(&wire, &splits).expect("decodes");
        let (first, rest) = decoded.split_first().expect("a head");
        prop_assert_eq!(first, &head("fbZAVa", body.len() as u64, info));
        let mut received = Vec::new();
        for packet in rest {
            let Packet::Data(data) = packet else {
                return Err(TestCaseError::fail(format!("not a chunk: {packet:?}")));
            };
            prop_assert!(!data.chunk.is_empty() && data.chunk.len() <= CHUNK_LEN);
            received.extend_from_slice(&data.chunk);
        }
        prop_assert_eq!(received, body.to_vec());
        prop_assert_eq!(rest.len(), body.len().div_ceil(CHUNK_LEN));
    }
}
