//! Reading the worked examples of the docs: the ```hex block that follows
//! `<!-- example: NAME -->` in a document, as bytes.
#![allow(dead_code, unreachable_pub)]

/// The text of `doc` after `<!-- example: NAME -->`.
pub fn after_marker<'a>(doc: &'a str, doc_name: &str, name: &str) -> &'a str {
    let marker = format!("<!-- example: {name} -->");
    doc.split_once(&marker)
        .unwrap_or_else(|| panic!("no example {name:?} in {doc_name}"))
        .1
}

/// The bytes of the first ```hex block of `text`, and the text after it.
pub fn hex_block<'a>(text: &'a str, name: &str) -> (Vec<u8>, &'a str) {
    let (block, rest) = text
        .split_once("```hex\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("example {name:?} has no ```hex block"));
    let bytes = block
        .split_whitespace()
        .map(|pair| u8::from_str_radix(pair, 16).unwrap_or_else(|_| panic!("bad hex {pair:?}")))
        .collect();
    (bytes, rest)
}
