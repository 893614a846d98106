//! The frame encoder of the raw peer, written from docs/wire-format.md
//! alone: every function returns the exact bytes of one frame.
//!
//! Nothing here checks what it builds against the peer's limits: a hostile
//! peer sends what it likes. The bytes are those of §1 (22-byte header with
//! its CRC32C, payload, payload CRC32C), big-endian throughout.

/// Frame kinds (§2).
pub mod kind {
    /// HELLO, the first frame of each side.
    pub const HELLO: u8 = 0x01;
    /// OPEN: a new message.
    pub const OPEN: u8 = 0x02;
    /// DATA: a body chunk.
    pub const DATA: u8 = 0x03;
    /// END: the end of a message of unknown length.
    pub const END: u8 = 0x04;
    /// CANCEL: a message abandoned.
    pub const CANCEL: u8 = 0x05;
    /// CREDIT: a new absolute send limit.
    pub const CREDIT: u8 = 0x06;
    /// PING.
    pub const PING: u8 = 0x07;
    /// PONG.
    pub const PONG: u8 = 0x08;
    /// GOAWAY: the connection ends.
    pub const GOAWAY: u8 = 0x09;
}

/// Error codes (§4).
pub mod code {
    /// Graceful close.
    pub const NO_ERROR: u32 = 0;
    /// Bad kind, flags, ids or layout.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// A negotiated limit was broken.
    pub const LIMIT_EXCEEDED: u32 = 2;
    /// Data beyond the granted credit.
    pub const FLOW_CONTROL: u32 = 3;
    /// The message was cancelled.
    pub const CANCELLED: u32 = 4;
    /// Failure inside the sender.
    pub const INTERNAL: u32 = 5;
    /// The connection was idle too long.
    pub const IDLE_TIMEOUT: u32 = 6;
    /// The sender is shutting down.
    pub const SHUTDOWN: u32 = 7;
    /// The message was refused.
    pub const REFUSED: u32 = 8;
    /// Bytes were lost or damaged on the link.
    pub const DAMAGED: u32 = 9;
    /// The peer speaks another version.
    pub const UNSUPPORTED_VERSION: u32 = 10;
}

/// The two sync bytes every frame starts with (§1.1).
pub const SYNC: [u8; 2] = [0xF5, 0x4E];
/// The version byte (§1.1).
pub const VERSION: u8 = 0x02;
/// Length of a frame header (§1.1).
pub const HEADER_LEN: usize = 22;
/// Length of the payload CRC after the payload (§1.2).
pub const CRC_LEN: usize = 4;
/// `total_len` of a message whose length is not announced (§2.2).
pub const UNKNOWN_LEN: u64 = u64::MAX;
/// CANCEL's BY_RECEIVER flag (§2.5).
pub const BY_RECEIVER: u16 = 0x0001;
/// Normal priority (§2.2).
pub const PRIORITY_NORMAL: u8 = 128;

/// CRC32C as §0 defines it (`crc32c("123456789") = 0xE3069283`).
pub fn crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// One frame: header (with its CRC), payload, payload CRC (an empty payload
/// has CRC 0, which CRC32C of nothing is).
pub fn frame(kind: u8, flags: u16, message_id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CRC_LEN);
    out.extend_from_slice(&SYNC);
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&message_id.to_be_bytes());
    out.extend_from_slice(&len_u32(payload.len()).to_be_bytes());
    let header_crc = crc(&out[..18]);
    out.extend_from_slice(&header_crc.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc(payload).to_be_bytes());
    out
}

/// A length as the u32 of a frame header; the suite never builds a payload
/// of 4 GiB, so a larger one is clamped (and would be refused as damaged).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A length as the u16 of a header block; longer ones are clamped.
fn len_u16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// A header block (§3): each entry `name_len`, name, `value_len`, value.
/// Names longer than 255 bytes and values longer than 65535 are cut.
pub fn header_block<N: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(N, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in entries {
        let name = name.as_ref();
        let name = &name[..name.len().min(255)];
        let value = value.as_ref();
        let value = &value[..value.len().min(usize::from(u16::MAX))];
        out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(name);
        out.extend_from_slice(&len_u16(value.len()).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

/// The headers of a call in Netcore's own dialect (netcore-endpoint's
/// `dialect/lso2.rs`): `nc-kind: call`, `route`, `nc-call`.
pub fn call_headers(route: &str, call_id: u64) -> Vec<u8> {
    header_block(&[
        ("nc-kind", "call".as_bytes()),
        ("route", route.as_bytes()),
        ("nc-call", call_id.to_string().as_bytes()),
    ])
}

/// The fields of a HELLO (§2.1), all chosen freely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloFields {
    /// Largest frame payload we accept.
    pub max_frame_payload: u32,
    /// Largest message body we accept.
    pub max_message_size: u64,
    /// Largest header block we accept.
    pub max_header_bytes: u16,
    /// Most of the peer's messages we keep open at once.
    pub max_concurrent_messages: u32,
    /// Initial send limit of each message the peer opens.
    pub message_window: u32,
    /// Initial send limit of the peer's connection (`u32::MAX`: none).
    pub connection_window: u32,
    /// Capability bits (none defined in version 2).
    pub capabilities: u64,
    /// The header block, encoded (see [`header_block`]).
    pub headers: Vec<u8>,
}

impl Default for HelloFields {
    /// Ordinary limits: 1 MiB frames, 4 GiB messages, 16 KiB headers, 4096
    /// messages, 512 KiB / 4 MiB windows, an `agent` header.
    fn default() -> Self {
        HelloFields {
            max_frame_payload: 1 << 20,
            max_message_size: 4 << 30,
            max_header_bytes: 16 << 10,
            max_concurrent_messages: 4096,
            message_window: 512 << 10,
            connection_window: 4 << 20,
            capabilities: 0,
            headers: header_block(&[("agent", "netcore-hostile")]),
        }
    }
}

impl HelloFields {
    /// These fields with both windows 0: the peer may send no body byte
    /// until we grant CREDIT.
    pub fn closed_windows(self) -> HelloFields {
        HelloFields {
            message_window: 0,
            connection_window: 0,
            ..self
        }
    }
}

/// A HELLO frame (§2.1).
pub fn hello(fields: &HelloFields) -> Vec<u8> {
    let mut payload = Vec::with_capacity(36 + fields.headers.len());
    payload.extend_from_slice(&fields.max_frame_payload.to_be_bytes());
    payload.extend_from_slice(&fields.max_message_size.to_be_bytes());
    payload.extend_from_slice(&fields.max_header_bytes.to_be_bytes());
    payload.extend_from_slice(&fields.max_concurrent_messages.to_be_bytes());
    payload.extend_from_slice(&fields.message_window.to_be_bytes());
    payload.extend_from_slice(&fields.connection_window.to_be_bytes());
    payload.extend_from_slice(&fields.capabilities.to_be_bytes());
    payload.extend_from_slice(&len_u16(fields.headers.len()).to_be_bytes());
    payload.extend_from_slice(&fields.headers);
    frame(kind::HELLO, 0, 0, &payload)
}

/// An OPEN frame (§2.2): `total_len` `None` for a body of unknown length,
/// `headers` an encoded block, `body` the first body bytes.
pub fn open(
    message_id: u64,
    priority: u8,
    total_len: Option<u64>,
    headers: &[u8],
    body: &[u8],
) -> Vec<u8> {
    let mut payload = Vec::with_capacity(11 + headers.len() + body.len());
    payload.push(priority);
    payload.extend_from_slice(&total_len.unwrap_or(UNKNOWN_LEN).to_be_bytes());
    payload.extend_from_slice(&len_u16(headers.len()).to_be_bytes());
    payload.extend_from_slice(headers);
    payload.extend_from_slice(body);
    frame(kind::OPEN, 0, message_id, &payload)
}

/// A DATA frame (§2.3).
pub fn data(message_id: u64, offset: u64, chunk: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(8 + chunk.len());
    payload.extend_from_slice(&offset.to_be_bytes());
    payload.extend_from_slice(chunk);
    frame(kind::DATA, 0, message_id, &payload)
}

/// An END frame (§2.4).
pub fn end(message_id: u64, total_len: u64) -> Vec<u8> {
    frame(kind::END, 0, message_id, &total_len.to_be_bytes())
}

/// A CANCEL frame (§2.5); `by_receiver` when it names the recipient's message.
pub fn cancel(message_id: u64, by_receiver: bool, code: u32, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    let flags = if by_receiver { BY_RECEIVER } else { 0 };
    frame(kind::CANCEL, flags, message_id, &payload)
}

/// A CREDIT frame (§2.6): message `message_id` (0: the connection) may be
/// sent up to `limit` body bytes.
pub fn credit(message_id: u64, limit: u64) -> Vec<u8> {
    frame(kind::CREDIT, 0, message_id, &limit.to_be_bytes())
}

/// A PING frame (§2.7).
pub fn ping(opaque: u64) -> Vec<u8> {
    frame(kind::PING, 0, 0, &opaque.to_be_bytes())
}

/// A PONG frame (§2.7).
pub fn pong(opaque: u64) -> Vec<u8> {
    frame(kind::PONG, 0, 0, &opaque.to_be_bytes())
}

/// A GOAWAY frame (§2.8).
pub fn goaway(last_message_id: u64, code: u32, reason: &str) -> Vec<u8> {
    let mut payload = last_message_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    frame(kind::GOAWAY, 0, 0, &payload)
}

/// Parses the hex blocks of docs/wire-format.md's worked examples: each
/// fenced ```` ```hex ```` block after an `<!-- example: NAME -->` marker,
/// as `(NAME, bytes)`.
pub fn doc_examples(markdown: &str) -> Vec<(String, Vec<u8>)> {
    let mut examples = Vec::new();
    let mut name: Option<String> = None;
    let mut in_hex = false;
    let mut bytes = Vec::new();
    for line in markdown.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("<!-- example:") {
            name = Some(rest.trim_end_matches("-->").trim().to_owned());
        } else if line == "```hex" {
            in_hex = true;
            bytes.clear();
        } else if line == "```" && in_hex {
            in_hex = false;
            if let Some(name) = name.take() {
                examples.push((name, std::mem::take(&mut bytes)));
            }
        } else if in_hex {
            bytes.extend(
                line.split_whitespace()
                    .filter_map(|pair| u8::from_str_radix(pair, 16).ok()),
            );
        }
    }
    examples
}
