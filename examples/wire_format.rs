//! The wire format and the Pipe, end to end, in one process.
//!
//! It encodes a short conversation (HELLO, a small single-frame call, a 200 KiB
//! message in chunks, a stream of unknown length, a PING), decodes it strictly
//! from an arbitrary split of the byte stream, then damages a copy of the
//! stream the way a serial line would — a flipped bit, lost bytes, injected
//! noise — and shows the resync decoder recovering every frame the damage did
//! not touch while reporting the rest.
//!
//! Finally it runs the `Pipe` over loopback TCP: eight 32 MiB transfers on
//! one connection while small messages are echoed on the same connection,
//! and prints the throughput and the small messages' round-trip times.
//!
//! Run it with `cargo run --release --example wire_format`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use netcore::protocol::{
    Damage, Data, DecodeMode, Decoded, Decoder, Encoder, End, Frame, Headers, Hello, Inbound,
    InboundTracker, Limits, Open, Ping, Priority,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let limits = Limits::default();
    let encoder = Encoder::new(limits);
    let frames = conversation(&encoder)?;

    let mut wire = BytesMut::new();
    let mut ranges = Vec::new();
    for frame in &frames {
        let start = wire.len();
        encoder.encode_into(frame, &mut wire)?;
        ranges.push(start..wire.len());
    }
    let wire = wire.freeze();
    println!("Netcore LSO v2 demo");
    println!(
        "  encoded {} frames, {} bytes on the wire",
        frames.len(),
        wire.len()
    );

    // 1. A clean stream, read in odd-sized pieces as a socket would deliver it.
    let started = Instant::now();
    let clean = decode(&wire, DecodeMode::Strict, 1_337)?;
    let elapsed = started.elapsed();
    let decoded: Vec<&Frame> = clean.iter().filter_map(as_frame).collect();
    assert_eq!(decoded.len(), frames.len(), "every frame decodes");
    assert!(decoded.iter().zip(&frames).all(|(a, b)| *a == b));
    println!(
        "\n1. strict decode of the clean stream, fed in 1337-byte reads: {} frames, all identical ({:.0} µs)",
        decoded.len(),
        elapsed.as_secs_f64() * 1e6
    );
    report_messages(&clean, limits);

    // 2. The same stream, damaged like a noisy serial line.
    let mut damaged = wire.to_vec();
    let big_chunk = &ranges[4];
    damaged[big_chunk.start + 300] ^= 0x08; // one flipped bit inside a DATA payload
    let ping = &ranges[ranges.len() - 1];
    damaged.splice(ping.start..ping.start, *b"\x00\xF5noise\xF5\x4E"); // noise, fake markers
    let lost_header = &ranges[2];
    damaged.drain(lost_header.start + 5..lost_header.start + 8); // three bytes lost
    println!(
        "\n2. the same stream damaged like a serial line: 3 bytes lost from the header of message 2's OPEN,\n   a flipped bit in its second chunk, 9 bytes of noise (with fake sync markers) before the PING"
    );
    let mut decoder = Decoder::with_mode(limits, DecodeMode::Resync);
    let items = feed(&mut decoder, &damaged, 64)?;
    for item in &items {
        match item {
            Decoded::Frame(frame) => println!("   frame   {}", describe(frame)),
            Decoded::Damaged(Damage::Skipped { bytes }) => {
                println!("   damage  skipped {bytes} bytes to find the next valid header")
            }
            Decoded::Damaged(Damage::Frame {
                message_id, error, ..
            }) => {
                println!("   damage  message {message_id}: {error}")
            }
        }
    }
    let recovered = items.iter().filter_map(as_frame).count();
    let stats = decoder.stats();
    println!(
        "   recovered {recovered} of {} frames intact; {} damaged frames and {} skipped bytes reported; no damaged byte delivered",
        frames.len(),
        stats.damaged_frames,
        stats.skipped_bytes
    );
    for frame in items.iter().filter_map(as_frame) {
        assert!(frames.contains(frame), "only original frames come out");
    }
    report_messages(&items, limits);

    // 3. The Pipe over loopback TCP: bulk transfers and small messages at once.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(pipe_over_tcp())?;
    Ok(())
}

/// Eight 32 MiB transfers on one TCP connection while small messages are
/// echoed on the same connection; prints throughput and round-trip times.
async fn pipe_over_tcp() -> Result<()> {
    use futures::StreamExt;
    use netcore::pipe::{Message, Pipe, PipeConfig, ReceiveMode};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (accepted, connected) =
        tokio::join!(listener.accept(), tokio::net::TcpStream::connect(address));
    let (server, _) = accepted?;
    let client = connected?;
    for stream in [&server, &client] {
        stream.set_nodelay(true)?;
        // Keep bulk from piling up unsent in the kernel, ahead of small messages.
        socket2::SockRef::from(stream).set_tcp_notsent_lowat(128 * 1024)?;
    }
    let config = PipeConfig::default().with_receive(ReceiveMode::Streaming);
    let client = std::sync::Arc::new(Pipe::new(client, config.clone()));
    let server = Pipe::new(server, config);

    // The server drains bulk bodies and echoes small messages.
    let echo = tokio::spawn(async move {
        let mut readers = Vec::new();
        while let Ok(incoming) = server.accept().await {
            if incoming.headers.get_str("kind") == Some("bulk") {
                let mut body = incoming.body;
                readers.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while let Some(Ok(chunk)) = body.next().await {
                        n += chunk.len() as u64;
                    }
                    n
                }));
                continue;
            }
            let Ok(body) = incoming.bytes().await else {
                break;
            };
            let reply = Message::new(body).priority(Priority::HIGH);
            if server.send(reply).is_err() {
                break;
            }
        }
        let mut drained = 0u64;
        for reader in readers {
            drained += reader.await.unwrap_or(0);
        }
        drained
    });

    const BULK: usize = 32 << 20;
    let started = Instant::now();
    let bulk_body: Bytes = vec![0x5Au8; BULK].into();
    let mut transfers = Vec::new();
    for _ in 0..8 {
        let message = Message::new(bulk_body.clone())
            .header("kind", "bulk")?
            .priority(Priority::LOW);
        transfers.push(client.send(message)?);
    }
    let mut round_trips = Vec::new();
    while transfers.iter().any(|t| t.bytes_sent() < BULK as u64) && round_trips.len() < 2000 {
        let sent = Instant::now();
        client.send(Message::new("ping").priority(Priority::HIGH))?;
        let reply = client.accept().await?;
        assert_eq!(reply.bytes().await?, "ping");
        round_trips.push(sent.elapsed());
    }
    for transfer in transfers {
        transfer.await?;
    }
    let elapsed = started.elapsed();
    round_trips.sort();
    let percentile = |q: f64| {
        let at = ((round_trips.len() as f64 * q) as usize).min(round_trips.len().saturating_sub(1));
        round_trips.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "\n3. the Pipe over loopback TCP: 8 × 32 MiB transfers sent in {:.0} ms ({:.2} GB/s) on one connection,",
        elapsed.as_secs_f64() * 1e3,
        (8 * BULK) as f64 / elapsed.as_secs_f64() / 1e9
    );
    println!(
        "   while {} small messages made the round trip: median {:.0} µs, p99 {:.0} µs",
        round_trips.len(),
        percentile(0.5),
        percentile(0.99)
    );
    let stats = client.stats();
    println!(
        "   client counters: {} frames and {} bytes written, {} messages sent, RTT estimate {:?}",
        stats.frames_sent,
        stats.bytes_written,
        stats.messages_sent,
        stats.rtt.unwrap_or_default()
    );
    let client = std::sync::Arc::try_unwrap(client).map_err(|_| "client still shared")?;
    client.close().await?;
    let drained = echo.await?;
    assert_eq!(drained, 8 * BULK as u64, "every bulk byte arrived");
    println!(
        "   closed gracefully; the server received all {} MiB",
        drained >> 20
    );
    Ok(())
}

/// HELLO, a one-frame call, a 200 KiB message in 64 KiB chunks, a stream of
/// unknown length ended by END, and a PING.
fn conversation(encoder: &Encoder) -> Result<Vec<Frame>> {
    let mut hello = Hello::new(Limits::default());
    hello.headers.insert("agent", "netcore-demo/0.1")?;
    let mut call = Headers::new();
    call.insert("route", "/users/get")?
        .insert("content-type", "application/json")?;
    let body = Bytes::from_static(br#"{"id":42}"#);
    let small = Open {
        message_id: 1,
        priority: Priority::HIGH,
        total_len: Some(body.len() as u64),
        headers: call,
        body,
    };
    let mut frames = vec![Frame::Hello(hello), Frame::Open(small)];

    let big: Bytes = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let mut upload = Headers::new();
    upload.insert("route", "/files/upload")?;
    frames.push(Frame::Open(Open {
        headers: upload,
        priority: Priority::LOW,
        ..Open::new(2, Some(big.len() as u64))
    }));
    let chunk = encoder.max_data_chunk().min(64 * 1024);
    for (i, piece) in big.chunks(chunk).enumerate() {
        frames.push(Frame::Data(Data {
            message_id: 2,
            offset: (i * chunk) as u64,
            payload: big.slice_ref(piece),
        }));
    }
    frames.push(Frame::Open(Open::new(3, None)));
    frames.push(Frame::Data(Data {
        message_id: 3,
        offset: 0,
        payload: Bytes::from_static(b"a stream of unknown length"),
    }));
    frames.push(Frame::End(End {
        message_id: 3,
        total_len: 26,
    }));
    frames.push(Frame::Ping(Ping { opaque: 7 }));
    Ok(frames)
}

fn decode(wire: &[u8], mode: DecodeMode, read_size: usize) -> Result<Vec<Decoded>> {
    let mut decoder = Decoder::with_mode(Limits::default(), mode);
    feed(&mut decoder, wire, read_size)
}

fn feed(decoder: &mut Decoder, wire: &[u8], read_size: usize) -> Result<Vec<Decoded>> {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in wire.chunks(read_size) {
        buf.extend_from_slice(piece);
        while let Some(item) = decoder.decode(&mut buf)? {
            items.push(item);
        }
    }
    while let Some(item) = decoder.decode_eof(&mut buf)? {
        items.push(item);
    }
    Ok(items)
}

/// Runs the frames through an `InboundTracker` and says which messages
/// completed; a message hit by damage is failed, never delivered short.
fn report_messages(items: &[Decoded], limits: Limits) {
    let mut tracker = InboundTracker::new(limits);
    let mut complete = Vec::new();
    let mut failed = std::collections::BTreeMap::new();
    for item in items {
        match item {
            Decoded::Frame(frame) => match tracker.on_frame(frame) {
                Ok(Inbound::Progress {
                    message_id,
                    received,
                    complete: true,
                }) => complete.push(format!("#{message_id} ({received} B)")),
                Ok(_) => {}
                Err(error) => {
                    failed
                        .entry(error.message_id())
                        .or_insert_with(|| error.to_string());
                }
            },
            Decoded::Damaged(Damage::Frame {
                message_id, error, ..
            }) if *message_id != 0 => {
                tracker.cancel(*message_id);
                failed
                    .entry(*message_id)
                    .or_insert_with(|| format!("damaged on the link ({error})"));
            }
            Decoded::Damaged(_) => {}
        }
    }
    for id in tracker.clear() {
        failed
            .entry(id)
            .or_insert_with(|| "never completed".to_owned());
    }
    let failed: Vec<String> = failed
        .into_iter()
        .map(|(id, why)| format!("#{id}: {why}"))
        .collect();
    println!("   messages complete: {}", list(&complete));
    println!("   messages failed:   {}", list(&failed));
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn as_frame(item: &Decoded) -> Option<&Frame> {
    match item {
        Decoded::Frame(frame) => Some(frame),
        Decoded::Damaged(_) => None,
    }
}

fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Hello(h) => format!(
            "HELLO  agent={} max_frame={} B",
            h.headers.get_str("agent").unwrap_or("?"),
            h.limits.max_frame_payload
        ),
        Frame::Open(o) => format!(
            "OPEN   #{} route={} total={} inline={} B",
            o.message_id,
            o.headers.get_str("route").unwrap_or("-"),
            o.total_len
                .map_or_else(|| "unknown".to_owned(), |n| format!("{n} B")),
            o.body.len()
        ),
        Frame::Data(d) => format!(
            "DATA   #{} offset={} len={} B",
            d.message_id,
            d.offset,
            d.payload.len()
        ),
        Frame::End(e) => format!("END    #{} total={} B", e.message_id, e.total_len),
        other => format!("{:<6} #{}", other.kind(), other.message_id()),
    }
}
