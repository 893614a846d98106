//! `docs/python-013-wire-format.md`, read from the document itself: each
//! worked example decodes with `netcore_protocol::py013` to the packet its
//! text describes and re-encodes to the same bytes, and is the captured bytes
//! the text says it is; the capture tables, the size formula of the head and
//! the limit tables agree with the golden captures and the code; and every
//! "§n" the codec's sources cite exists.

mod doc_examples;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{
    CHUNK_LEN, Cancel, Data, Decoder, Encoder, Head, Info, Json, Limits, MAX_DEPTH,
    MAX_SEND_CHUNK_LEN, MAX_SEND_EXT_LEN, MAX_SEND_META_LEN, Packet,
};

const DOC: &str = include_str!("../../docs/python-013-wire-format.md");
const DOC_NAME: &str = "docs/python-013-wire-format.md";

/// Files whose "§n" citations point into the document.
const CITING: &[(&str, &str)] = &[
    ("src/py013/mod.rs", include_str!("../src/py013/mod.rs")),
    (
        "src/py013/decode.rs",
        include_str!("../src/py013/decode.rs"),
    ),
    (
        "src/py013/encode.rs",
        include_str!("../src/py013/encode.rs"),
    ),
    ("src/py013/error.rs", include_str!("../src/py013/error.rs")),
    ("src/py013/info.rs", include_str!("../src/py013/info.rs")),
    ("src/py013/json.rs", include_str!("../src/py013/json.rs")),
    (
        "src/py013/limits.rs",
        include_str!("../src/py013/limits.rs"),
    ),
    (
        "src/py013/packet.rs",
        include_str!("../src/py013/packet.rs"),
    ),
    ("tests/py013_codec.rs", include_str!("py013_codec.rs")),
    ("tests/py013_vectors.rs", include_str!("py013_vectors.rs")),
    (
        "docs/python-interop.md",
        include_str!("../../docs/python-interop.md"),
    ),
    (DOC_NAME, DOC),
];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py013_vectors")
}

fn read_capture(file: &str) -> Vec<u8> {
    std::fs::read(vectors_dir().join(file))
        .unwrap_or_else(|error| panic!("capture {file} is readable: {error}"))
}

/// The text after `<!-- example: NAME -->`, and the line just before it.
fn around_example(name: &str) -> (&'static str, &'static str) {
    let after = doc_examples::after_marker(DOC, DOC_NAME, name);
    let before = &DOC[..DOC.len() - after.len() - format!("<!-- example: {name} -->").len()];
    let intro = before
        .trim_end()
        .lines()
        .last()
        .expect("text before the marker");
    (intro, after)
}

/// The bytes of the ```hex block that follows `<!-- example: NAME -->`.
fn example(name: &str) -> Vec<u8> {
    doc_examples::hex_block(around_example(name).1, name).0
}

/// The prose after an example's hex block, up to the next example or heading.
fn example_notes(name: &str) -> &'static str {
    let after_block = doc_examples::hex_block(around_example(name).1, name).1;
    let end = ["<!-- example:", "\n## ", "\n### "]
        .iter()
        .filter_map(|stop| after_block.find(stop))
        .min()
        .unwrap_or(after_block.len());
    &after_block[..end]
}

/// `ext_len | ext | meta_len | meta`, split by hand (not with the decoder).
fn split_packet(bytes: &[u8]) -> (u32, &[u8], u32, &[u8]) {
    let len_at = |at: usize| -> u32 {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
        u32::from_le_bytes(raw)
    };
    let ext_len = len_at(0);
    let ext_end = 4 + ext_len as usize;
    let meta_len = len_at(ext_end);
    let meta = &bytes[ext_end + 4..];
    assert_eq!(meta.len(), meta_len as usize, "meta_len covers the rest");
    (ext_len, &bytes[4..ext_end], meta_len, meta)
}

/// The example's bullets state each field as its bytes really are.
fn check_notes(name: &str, bytes: &[u8]) {
    let notes = example_notes(name);
    let (ext_len, ext, meta_len, meta) = split_packet(bytes);
    let hex = |n: u32| {
        n.to_le_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let text = |part: &[u8]| std::str::from_utf8(part).expect("ASCII JSON").to_owned();
    let statements = [
        format!("`{}`: `ext_len` = {ext_len}.", hex(ext_len)),
        format!("{} bytes of ext: `{}`.", ext.len(), text(ext)),
        format!("`{}`: `meta_len` = {meta_len}.", hex(meta_len)),
        format!("{} bytes of meta: `{}`.", meta.len(), text(meta)),
    ];
    for statement in statements {
        assert!(
            notes.contains(&statement),
            "example {name:?}: the text should say {statement:?}"
        );
    }
}

fn decode_one(bytes: &[u8]) -> Packet {
    let mut buf = BytesMut::from(bytes);
    let packet = Decoder::default()
        .decode(&mut buf)
        .expect("example decodes")
        .expect("example is one whole packet");
    assert!(buf.is_empty(), "example has {} extra bytes", buf.len());
    packet
}

fn encode(packet: &Packet) -> Vec<u8> {
    Encoder::new()
        .encode(packet)
        .expect("example packet encodes")
        .to_vec()
}

/// Decodes to `expected`, re-encodes to the same bytes, and the text agrees.
fn check_example(name: &str, expected: &Packet) {
    let bytes = example(name);
    assert_eq!(&decode_one(&bytes), expected, "example {name:?} decoded");
    assert_eq!(encode(expected), bytes, "example {name:?} re-encoded");
    check_notes(name, &bytes);
}

#[test]
fn head_example() {
    check_example(
        "head",
        &Packet::Head(Head {
            extension: "fbZAVa".into(),
            length: 8,
            info: Info::request("echo", "i0VpEBOW"),
        }),
    );
}

#[test]
fn data_example() {
    check_example(
        "data",
        &Packet::Data(Data {
            extension: "fbZAVa".into(),
            chunk: Bytes::from_static(b"{\"x\": 1}"),
        }),
    );
}

#[test]
fn reply_head_example() {
    let expected = Packet::Head(Head {
        extension: "76dfZT".into(),
        length: 8,
        info: Info::response(Some("echo"), "i0VpEBOW"),
    });
    check_example("reply-head", &expected);
    let Packet::Head(head) = decode_one(&example("reply-head")) else {
        panic!("a head");
    };
    assert!(head.info.is_response(), "the reply is marked as one");
}

#[test]
fn cancel_example() {
    check_example(
        "cancel",
        &Packet::Cancel(Cancel {
            extension: "fbZAVa".into(),
        }),
    );
}

#[test]
fn head_and_data_examples_make_a_complete_mission() {
    let Packet::Head(head) = decode_one(&example("head")) else {
        panic!("the head example is a head");
    };
    let Packet::Data(data) = decode_one(&example("data")) else {
        panic!("the data example is a data chunk");
    };
    assert_eq!(data.extension, head.extension);
    assert_eq!(data.chunk.len() as u64, head.length, "8 of 8 bytes");
    assert!(DOC.contains("the mission is complete: 8 of 8 bytes"));
}

/// Each example is introduced by "`FILE` bytes A to B:", and is those bytes of
/// the golden capture.
#[test]
fn examples_are_the_captured_bytes() {
    for name in ["head", "data", "reply-head", "cancel"] {
        let intro = around_example(name).0;
        let (file, range) = intro
            .rsplit_once('`')
            .and_then(|(head, range)| Some((head.rsplit_once('`')?.1, range)))
            .unwrap_or_else(|| panic!("example {name:?}: no `FILE` in {intro:?}"));
        let (from, to) = range
            .trim()
            .strip_prefix("bytes ")
            .and_then(|range| range.strip_suffix(':'))
            .and_then(|range| range.split_once(" to "))
            .unwrap_or_else(|| panic!("example {name:?}: no \"bytes A to B:\" in {intro:?}"));
        let from: usize = from.parse().expect("a start offset");
        let to: usize = to.parse().expect("an end offset");
        let capture = read_capture(file);
        assert_eq!(
            example(name),
            capture[from..=to],
            "example {name:?} is {file} bytes {from} to {to}"
        );
    }
    // The doc says the head and data examples are the whole request stream.
    let mut both = example("head");
    both.extend(example("data"));
    assert_eq!(both, read_capture("request_echo_json.c2s.bin"));
}

/// One row of a capture table of §13.
#[derive(Debug, PartialEq)]
struct Row {
    offset: usize,
    size: usize,
    packet: String,
    id: String,
    length: String,
    info: String,
}

fn table_rows(after_marker: &str) -> Vec<Vec<String>> {
    after_marker
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // header and separator
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

fn captures_in_doc() -> Vec<(&'static str, Vec<Vec<String>>)> {
    DOC.split("<!-- capture: ")
        .skip(1)
        .map(|rest| {
            let (name, after) = rest.split_once(" -->").expect("a closed marker");
            (name, table_rows(after))
        })
        .collect()
}

/// What the table should say of each packet of `wire`.
fn rows_of(wire: &[u8]) -> Vec<Row> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(wire);
    let mut rows = Vec::new();
    while let Some(packet) = decoder.decode_eof(&mut buf).expect("a capture decodes") {
        let offset = rows.iter().map(|row: &Row| row.size).sum();
        let size = wire.len() - buf.len() - offset;
        let (packet, id, length, info) = match packet {
            Packet::Head(head) => {
                let kind = if head.info.is_response() {
                    "reply"
                } else {
                    "request"
                };
                let info = format!(
                    "{kind} `{}` `{}`",
                    head.info.route().expect("a route"),
                    head.info.message_id().expect("a message id")
                );
                ("head", head.extension, head.length.to_string(), info)
            }
            Packet::Data(data) => (
                "data",
                data.extension,
                data.chunk.len().to_string(),
                String::new(),
            ),
            Packet::Cancel(cancel) => ("cancel", cancel.extension, String::new(), String::new()),
        };
        rows.push(Row {
            offset,
            size,
            packet: packet.to_owned(),
            id: format!("`{id}`"),
            length,
            info,
        });
    }
    rows
}

#[test]
fn capture_tables_match_the_captures() {
    let captures = captures_in_doc();
    let names: BTreeSet<&str> = captures.iter().map(|(name, _)| *name).collect();

    let index: serde_json::Value =
        serde_json::from_slice(&read_capture("index.json")).expect("index.json is JSON");
    let listed: BTreeSet<&str> = index["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|vector| vector["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, listed, "one table per capture in index.json");
    assert_eq!(captures.len(), listed.len(), "no capture twice");

    for (name, cells) in captures {
        let mut by_dir: HashMap<&str, Vec<Row>> = HashMap::new();
        for row in &cells {
            assert_eq!(row.len(), 7, "{name}: seven columns in {row:?}");
            let number = |cell: &str| -> usize {
                cell.parse()
                    .unwrap_or_else(|_| panic!("{name}: {cell:?} is a number"))
            };
            by_dir.entry(row[0].as_str()).or_default().push(Row {
                offset: number(&row[1]),
                size: number(&row[2]),
                packet: row[3].clone(),
                id: row[4].clone(),
                length: row[5].clone(),
                info: row[6].clone(),
            });
        }
        for dir in ["c2s", "s2c"] {
            let file = format!("{name}.{dir}.bin");
            let wire = read_capture(&file);
            let stated = format!("`{file}` ({} bytes)", wire.len());
            assert!(DOC.contains(&stated), "the doc should say {stated:?}");
            let rows = by_dir.remove(dir).unwrap_or_default();
            assert_eq!(rows, rows_of(&wire), "{file}: the table of §13");
        }
        assert!(by_dir.is_empty(), "{name}: rows of unknown directions");
    }
}

/// §4.1: a head packet is 111 + r + d bytes for a request, 132 + r + d for a
/// reply; checked on every head of every capture.
#[test]
fn head_size_formula_holds_for_every_captured_head() {
    assert!(DOC.contains("**111 + r + d** bytes for a request"));
    assert!(DOC.contains("**132 + r + d** bytes for a handler's"));
    let mut heads = 0;
    for (name, _) in captures_in_doc() {
        for dir in ["c2s", "s2c"] {
            let wire = read_capture(&format!("{name}.{dir}.bin"));
            let mut decoder = Decoder::default();
            let mut buf = BytesMut::from(&wire[..]);
            loop {
                let before = buf.len();
                let Some(packet) = decoder.decode_eof(&mut buf).expect("decodes") else {
                    break;
                };
                let Packet::Head(head) = packet else { continue };
                let route = Json::from(head.info.route().expect("a route"))
                    .to_python_string()
                    .expect("encodes");
                let r = route.len() - 2; // without its quotes
                let d = head.length.to_string().len();
                let base = if head.info.is_response() { 132 } else { 111 };
                assert_eq!(head.extension.len(), 6, "{name}: a 6-character id");
                assert_eq!(
                    head.info.message_id().map(str::len),
                    Some(8),
                    "{name}: an 8-character message id"
                );
                assert_eq!(before - buf.len(), base + r + d, "{name} {dir}: head size");
                heads += 1;
            }
        }
    }
    assert_eq!(heads, 17, "every head of the six captures");
}

/// The two limit tables of §11 state the code's values.
#[test]
fn limit_tables_match_the_code() {
    let table = |which: &str| -> HashMap<String, u64> {
        let marker = format!("<!-- limits: {which} -->");
        let after = DOC
            .split_once(&marker)
            .unwrap_or_else(|| panic!("no {marker} in {DOC_NAME}"))
            .1;
        table_rows(after)
            .into_iter()
            .map(|row| {
                let value = row[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("{:?} is a number", row[1]));
                (row[0].trim_matches('`').to_owned(), value)
            })
            .collect()
    };
    let limits = Limits::default();
    let expected_send = HashMap::from([
        ("CHUNK_LEN".to_owned(), CHUNK_LEN as u64),
        ("MAX_SEND_META_LEN".to_owned(), MAX_SEND_META_LEN as u64),
        ("MAX_SEND_CHUNK_LEN".to_owned(), MAX_SEND_CHUNK_LEN as u64),
        ("MAX_SEND_EXT_LEN".to_owned(), MAX_SEND_EXT_LEN as u64),
        ("MAX_DEPTH".to_owned(), MAX_DEPTH as u64),
    ]);
    assert_eq!(table("send"), expected_send, "§11.1");
    let expected_receive = HashMap::from([
        ("Limits::max_ext_len".to_owned(), limits.max_ext_len as u64),
        (
            "Limits::max_head_len".to_owned(),
            limits.max_head_len as u64,
        ),
        (
            "Limits::max_chunk_len".to_owned(),
            limits.max_chunk_len as u64,
        ),
        (
            "Limits::max_cancel_len".to_owned(),
            limits.max_cancel_len as u64,
        ),
        ("Limits::max_message_len".to_owned(), limits.max_message_len),
    ]);
    assert_eq!(table("receive"), expected_receive, "§11.2");
}

/// The section numbers of the document: `## N.` and `### N.M`.
fn sections() -> Vec<String> {
    DOC.lines()
        .filter_map(|line| {
            line.strip_prefix("### ")
                .or_else(|| line.strip_prefix("## "))
        })
        .map(|title| {
            title
                .split_whitespace()
                .next()
                .expect("a numbered title")
                .trim_end_matches('.')
                .to_owned()
        })
        .collect()
}

#[test]
fn sections_are_numbered_in_order() {
    let mut top = 0;
    let mut sub = 0;
    for number in sections() {
        match number.split_once('.') {
            None => {
                top += 1;
                sub = 0;
                assert_eq!(number, top.to_string(), "section after §{}", top - 1);
            }
            Some(_) => {
                sub += 1;
                assert_eq!(number, format!("{top}.{sub}"), "subsection of §{top}");
            }
        }
    }
    assert_eq!(top, 14, "fourteen sections");
}

/// Every "§n" of the codec's sources, its tests, the interop guide and the
/// document itself names a section that exists.
#[test]
fn citations_point_at_existing_sections() {
    let known: BTreeSet<String> = sections().into_iter().collect();
    let mut checked = 0;
    for (file, text) in CITING {
        for (at, _) in text.match_indices('§') {
            let cited: String = text[at + '§'.len_utf8()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            let cited = cited.trim_end_matches('.');
            if !cited.starts_with(|c: char| c.is_ascii_digit()) {
                continue; // "§n" as a placeholder, not a citation
            }
            assert!(
                known.contains(cited),
                "{file} cites §{cited}, which {DOC_NAME} does not have"
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} citations found");
}
