//! The golden captures of real Python netcore 0.1.3 endpoints
//! (`tests/py013_vectors/`, copied unchanged from the captures of the Python
//! compatibility work; how they were made and what each one shows is in
//! `docs/python-013-wire-format.md` §13), in both directions: every packet
//! the index lists is decoded with the ids, lengths, info and chunk sizes it
//! lists, whatever the read splits; each packet re-encodes to exactly its
//! bytes, both from the decoded value and rebuilt from the index's fields;
//! and each mission rebuilt with [`Mission`] from its ids and body gives
//! exactly the captured bytes of its packets.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{
    Cancel, Data, Decoder, Encoder, Head, Info, Json, Mission, Packet, PacketKind,
};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py013_vectors")
}

fn index() -> Value {
    let text = std::fs::read(vectors_dir().join("index.json")).expect("index.json is readable");
    serde_json::from_slice(&text).expect("index.json is JSON")
}

fn read_capture(file: &str) -> Vec<u8> {
    std::fs::read(vectors_dir().join(file)).expect("capture is readable")
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

fn u64_of(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is an integer in {value}"))
}

/// Our ordered JSON as a `serde_json::Value`, for comparing with the index.
fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(value) => Value::Bool(*value),
        Json::Int(value) => serde_json::json!(i64::try_from(*value).expect("small integers")),
        Json::Float(value) => serde_json::json!(value),
        Json::String(text) => Value::String(text.clone()),
        Json::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Json::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| (key.to_owned(), to_value(value)))
                .collect(),
        ),
    }
}

/// Decodes `wire` fed in `split`-byte reads; returns each packet with its
/// stream range.
fn decode_all(wire: &[u8], split: usize) -> Vec<(Packet, std::ops::Range<usize>)> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut fed = 0;
    for piece in wire.chunks(split) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let start = fed - buf.len();
            match decoder.decode(&mut buf).expect("a golden capture decodes") {
                Some(packet) => packets.push((packet, start..fed - buf.len())),
                None => break,
            }
        }
    }
    assert_eq!(decoder.decode_eof(&mut buf).expect("ends cleanly"), None);
    assert_eq!(decoder.stats().bytes, wire.len() as u64);
    packets
}

/// The Python key order of an info listed in the index (whose JSON object
/// was sorted on reading): a request, or a handler's reply.
fn python_info(info: &Value) -> Info {
    let route = info.get("route").and_then(Value::as_str);
    let message_id = str_of(info, "message_id");
    if info.get("is_response") == Some(&Value::Bool(true)) {
        Info::response(route, message_id)
    } else {
        Info::request(route.expect("a request has a route"), message_id)
    }
}

/// Checks one direction of one vector; returns the reassembled bodies by
/// extension id.
fn check_direction(name: &str, direction: &Value) -> HashMap<String, Vec<u8>> {
    let file = str_of(direction, "file");
    let wire = read_capture(file);
    assert_eq!(wire.len() as u64, u64_of(direction, "bytes"), "{file} size");
    let listed = direction["packets"].as_array().expect("packets");

    let whole = decode_all(&wire, wire.len().max(1));
    for split in [1, 3, 47, 2048, 4096] {
        assert_eq!(
            decode_all(&wire, split),
            whole,
            "{file} read {split} bytes at a time"
        );
    }
    assert_eq!(whole.len(), listed.len(), "{file}: packet count");

    let encoder = Encoder::new();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut reencoded = BytesMut::new();
    for ((packet, range), entry) in whole.iter().zip(listed) {
        let what = format!("{name} {file} packet at {}", range.start);
        let offset = u64_of(entry, "offset") as usize;
        let size = u64_of(entry, "size") as usize;
        assert_eq!(range.clone(), offset..offset + size, "{what}: position");
        let extension = str_of(entry, "extension");
        assert_eq!(packet.extension(), extension, "{what}: extension");
        assert_eq!(
            packet.kind().as_str(),
            str_of(entry, "type"),
            "{what}: type"
        );
        let captured = &wire[range.clone()];

        // Rebuilt from the index's fields (and the captured chunk bytes,
        // which the index does not list).
        let rebuilt = match packet {
            Packet::Head(head) => {
                assert_eq!(head.length, u64_of(entry, "length"), "{what}: length");
                let info = Json::Object(head.info.as_object().clone());
                assert_eq!(to_value(&info), entry["info"], "{what}: info");
                Packet::Head(Head {
                    extension: extension.to_owned(),
                    length: u64_of(entry, "length"),
                    info: python_info(&entry["info"]),
                })
            }
            Packet::Data(data) => {
                assert_eq!(
                    data.chunk.len() as u64,
                    u64_of(entry, "chunk_len"),
                    "{what}: chunk length"
                );
                bodies
                    .entry(extension.to_owned())
                    .or_default()
                    .extend_from_slice(&data.chunk);
                Packet::Data(Data {
                    extension: extension.to_owned(),
                    chunk: Bytes::copy_from_slice(&captured[captured.len() - data.chunk.len()..]),
                })
            }
            Packet::Cancel(_) => Packet::Cancel(Cancel {
                extension: extension.to_owned(),
            }),
        };
        assert_eq!(&rebuilt, packet, "{what}: rebuilt from the index");
        let from_decoded = encoder.encode(packet).expect("decoded packet encodes");
        assert_eq!(&from_decoded[..], captured, "{what}: re-encoded");
        let from_index = encoder.encode(&rebuilt).expect("rebuilt packet encodes");
        assert_eq!(&from_index[..], captured, "{what}: encoded from the index");
        encoder
            .encode_into(packet, &mut reencoded)
            .expect("decoded packet encodes");
    }
    assert_eq!(&reencoded[..], &wire[..], "{file}: whole stream re-encoded");

    // Each mission rebuilt from its head's fields and its body: its packets,
    // in order, are exactly the captured ones for that id (a cancelled one
    // stops after the chunks that went out, then its cancel).
    for (head, _) in whole
        .iter()
        .filter(|(packet, _)| packet.kind() == PacketKind::Mission)
    {
        let Packet::Head(head) = head else { continue };
        let captured: Vec<&[u8]> = whole
            .iter()
            .filter(|(packet, _)| packet.extension() == head.extension)
            .map(|(_, range)| &wire[range.clone()])
            .collect();
        let sent = bodies.get(&head.extension).cloned().unwrap_or_default();
        let cancelled = whole.iter().any(
            |(packet, _)| matches!(packet, Packet::Cancel(c) if c.extension == head.extension),
        );
        let body = if cancelled {
            // The index gives the announced length; the unsent tail's bytes
            // never appear, so any filler does.
            let mut body = sent.clone();
            body.resize(head.length as usize, 0);
            body
        } else {
            assert_eq!(
                sent.len() as u64,
                head.length,
                "{file} {}: body complete",
                head.extension
            );
            sent.clone()
        };
        let info = head.info.clone();
        let mut mission =
            Mission::new(head.extension.clone(), info, Bytes::from(body)).expect("mission");
        let mut produced = Vec::new();
        let mut out = BytesMut::new();
        while mission.write_next(&mut out).is_some() {
            produced.push(out.split().freeze());
            if cancelled && produced.len() == captured.len() - 1 {
                let cancel = mission.cancel().expect("a cancel while chunks remain");
                produced.push(
                    encoder
                        .encode(&Packet::Cancel(cancel))
                        .expect("cancel encodes"),
                );
                break;
            }
        }
        let produced: Vec<&[u8]> = produced.iter().map(|bytes| &bytes[..]).collect();
        assert_eq!(
            produced, captured,
            "{file} {}: mission rebuilt",
            head.extension
        );
    }
    bodies
}

#[test]
fn vectors_are_copied_unchanged() {
    // The copies in this repository are what the tests read; the originals
    // live beside the repository when it is checked out with `shared/`.
    let original = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat/vectors");
    let Ok(entries) = std::fs::read_dir(&original) else {
        return; // no shared/ beside this checkout
    };
    for entry in entries {
        let entry = entry.expect("directory entry");
        let copy = vectors_dir().join(entry.file_name());
        assert_eq!(
            std::fs::read(entry.path()).expect("original readable"),
            std::fs::read(&copy).unwrap_or_else(|_| panic!("{copy:?} is copied")),
            "{:?} differs from its copy",
            entry.file_name()
        );
    }
}

#[test]
fn every_vector_decodes_and_reencodes_in_both_directions() {
    let index = index();
    let vectors = index["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 6, "the index lists six vectors");
    for vector in vectors {
        let name = str_of(vector, "name");
        let c2s = check_direction(name, &vector["c2s"]);
        let s2c = check_direction(name, &vector["s2c"]);

        // The requests the index lists are the c2s heads, with their routes,
        // message ids and lengths (null when the index leaves it out).
        let wire = read_capture(str_of(&vector["c2s"], "file"));
        let heads: Vec<Head> = decode_all(&wire, 4096)
            .into_iter()
            .filter_map(|(packet, _)| match packet {
                Packet::Head(head) => Some(head),
                _ => None,
            })
            .collect();
        for id in vector["ids"].as_array().expect("ids") {
            let head = heads
                .iter()
                .find(|head| head.extension == str_of(id, "extension"))
                .unwrap_or_else(|| panic!("{name}: a head for {id}"));
            assert_eq!(head.info.route(), Some(str_of(id, "route")), "{name}");
            assert_eq!(
                head.info.message_id(),
                Some(str_of(id, "message_id")),
                "{name}"
            );
            assert!(!head.info.is_response(), "{name}: a request");
            if let Some(length) = id["length"].as_u64() {
                assert_eq!(head.length, length, "{name}: length of {id}");
            }
            if head.length > 0 && !matches!(name, "cancel" | "cancel_deferred") {
                assert_eq!(c2s[&head.extension].len() as u64, head.length, "{name}");
            }
        }

        // The replies the index lists are the s2c missions, with their JSON bodies.
        let wire = read_capture(str_of(&vector["s2c"], "file"));
        let reply_heads: Vec<Head> = decode_all(&wire, 4096)
            .into_iter()
            .filter_map(|(packet, _)| match packet {
                Packet::Head(head) => Some(head),
                _ => None,
            })
            .collect();
        let replies = vector["replies"].as_array().expect("replies");
        assert_eq!(reply_heads.len(), replies.len(), "{name}: reply count");
        for reply in replies {
            let head = reply_heads
                .iter()
                .find(|head| head.info.message_id() == Some(str_of(reply, "message_id")))
                .unwrap_or_else(|| panic!("{name}: a reply for {reply}"));
            assert_eq!(head.info.route(), Some(str_of(reply, "route")), "{name}");
            assert!(head.info.is_response(), "{name}: is_response");
            assert_eq!(head.length, u64_of(reply, "len"), "{name}: reply length");
            let body = &s2c[&head.extension];
            assert_eq!(body.len() as u64, u64_of(reply, "len"), "{name}");
            match serde_json::from_slice::<Value>(body) {
                Ok(json) => assert_eq!(json, reply["json"], "{name}: reply body"),
                // A raw body (message_10000's echo) is listed as `{}`.
                Err(_) => assert_eq!(reply["json"], serde_json::json!({}), "{name}: raw body"),
            }
        }
    }
}

#[test]
fn message_10000_carries_i_mod_251_both_ways() {
    let expected: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    for file in ["message_10000.c2s.bin", "message_10000.s2c.bin"] {
        let body: Vec<u8> = decode_all(&read_capture(file), 1000)
            .into_iter()
            .filter_map(|(packet, _)| match packet {
                Packet::Data(data) => Some(data.chunk),
                _ => None,
            })
            .flat_map(|chunk| chunk.to_vec())
            .collect();
        assert_eq!(body, expected, "{file}");
    }
}

/// The exchange of `docs/python-013-wire-format.md` §13.2 and the cancel of
/// its worked examples (§14), rebuilt from their ids and bodies. (The name
/// recalls the section of the Python compatibility notes these bytes first
/// appeared in.)
#[test]
fn spec_section_4_bytes_are_reproduced() {
    let mut wire = BytesMut::new();
    let mut mission = Mission::new(
        "fbZAVa",
        Info::request("echo", "i0VpEBOW"),
        Bytes::from_static(b"{\"x\": 1}"),
    )
    .expect("mission");
    while mission.write_next(&mut wire).is_some() {}
    assert_eq!(&wire[..], &read_capture("request_echo_json.c2s.bin")[..]);

    let mut wire = BytesMut::new();
    let mut reply = Mission::new(
        "76dfZT",
        Info::response(Some("echo"), "i0VpEBOW"),
        Bytes::from_static(b"{\"x\": 1}"),
    )
    .expect("mission");
    while reply.write_next(&mut wire).is_some() {}
    assert_eq!(&wire[..], &read_capture("request_echo_json.s2c.bin")[..]);

    let cancel = Encoder::new()
        .encode(&Packet::Cancel(Cancel {
            extension: "fbZAVa".into(),
        }))
        .expect("cancel");
    assert_eq!(
        &cancel[..],
        &b"\x29\0\0\0{\"type\": \"cancel\", \"extension\": \"fbZAVa\"}\x17\0\0\0{\"extension\": \"fbZAVa\"}"[..]
    );
}
