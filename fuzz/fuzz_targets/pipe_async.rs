//! Fuzzes the async `Pipe` itself — its driver, read and write tasks, body
//! sinks and collectors, not only the sans-IO core — over an in-memory byte
//! stream (`transport::memory_pair`), on a current-thread tokio runtime
//! with the paused clock (timers fire as soon as nothing else can run, so a
//! 10 s timeout costs no wall time).
//!
//! The input is a script: raw bytes and well-formed frames written by the
//! peer (usually after a valid HELLO, built with netcore-protocol's encoder,
//! so the fuzzer gets past the handshake), the peer reading or not, its
//! end of stream; and the application's side: sends of bodies of various
//! sizes and priorities, cancels of their handles, `accept`/`recv` calls,
//! reading or dropping incoming bodies, `close`/`abort`, time passing.
//!
//! Checked:
//!
//! - nothing panics, in the pipe's tasks either (libFuzzer's panic hook
//!   aborts the process);
//! - **every handle resolves**: once the script is over, the application
//!   starts a graceful close and the peer ends its stream; the pipe must end
//!   and every `SendHandle`, pending `accept`/`recv` and body being read
//!   must resolve within `close_grace + write_timeout + 1 s` (paused clock);
//!   the pipe may not end later than that after a `close` of the script
//!   either;
//! - **memory bound**: with `cap` counting this binary's heap, the growth
//!   over the heap before the pipe was built, sampled after every step of
//!   the script, stays under
//!   `HEAP_BASE + Σ bodies sent + receive_buffer + connection_window
//!   + 4 × read_size + 2 × write_batch + header_budget + shared header budget
//!   + 2 × the largest peer write + HANDLE_COST × steps`:
//!   what the application handed over to send, what the pipe may keep for
//!   the peer by its own budgets (collected bodies, the flow-control window,
//!   its read buffer and write batch, open messages' headers), the write in
//!   flight, and a fixed cost per handle or task the script made. Whatever
//!   the peer writes beyond that is its problem, not our heap.

#![no_main]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use netcore_pipe::core::{CoreConfig, HeaderBudget};
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{Incoming, Message, Pipe, PipeConfig, ReceiveMode, Received, SendHandle};
use netcore_protocol::{
    Cancel, Credit, Data, Encoder, End, ErrorCode, Frame, GoAway, Headers, Hello, Limits, Open,
    Ping, Priority,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Fixed heap a pipe may take over the baseline: its tasks, channels, core
/// state, the runtime's timers, the duplex buffers.
const HEAP_BASE: usize = 512 << 10;
/// Heap per step of the script: a handle, a spawned task, a held message.
const HANDLE_COST: usize = 2 << 10;

const LIMITS: Limits = Limits {
    max_frame_payload: 4096,
    max_message_size: 1 << 20,
    max_header_bytes: 1024,
    max_concurrent_messages: 16,
};

const CLOSE_GRACE: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long after a close (or the peer's end) everything must be over.
const END_BOUND: Duration = Duration::from_secs(4);

#[derive(Arbitrary, Debug)]
struct Script {
    /// The peer says HELLO first (with these windows), or not.
    hello: Option<(u16, u16)>,
    streaming: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Raw bytes from the peer.
    PeerBytes(Vec<u8>),
    /// A well-formed frame from the peer.
    PeerFrame(FrameSpec),
    /// The peer stops / resumes reading what we write.
    PeerReads(bool),
    /// The peer ends its stream.
    PeerEof,
    /// The application sends `len * 64` bytes at `priority`.
    Send {
        len: u8,
        priority: u8,
    },
    /// The application cancels its `n`-th send.
    CancelSend(u8),
    /// A task waits for the next incoming message.
    Accept,
    Recv,
    /// The `n`-th incoming message held is dropped.
    DropIncoming(u8),
    /// The `n`-th incoming message held has its body read to the end.
    ReadBody(u8),
    Close,
    Abort,
    /// Time passes, in 10 ms steps.
    Advance(u8),
}

#[derive(Arbitrary, Debug)]
enum FrameSpec {
    Open {
        id: u8,
        priority: u8,
        total: Option<u16>,
        inline: u8,
        header: u8,
    },
    Data {
        id: u8,
        offset: u16,
        len: u8,
    },
    End {
        id: u8,
        total: u16,
    },
    Cancel {
        id: u8,
        by_receiver: bool,
    },
    Credit {
        id: u8,
        limit: u32,
    },
    Ping(u64),
    GoAway(u8),
    Hello,
}

impl FrameSpec {
    /// The frame; lengths in 16-byte units, ids small so they meet.
    fn frame(&self) -> Frame {
        let id = |id: &u8| u64::from(*id % 20);
        match self {
            FrameSpec::Open {
                id: message,
                priority,
                total,
                inline,
                header,
            } => {
                let body = Bytes::from(vec![0x5A; usize::from(*inline) * 16]);
                let mut headers = Headers::new();
                if *header > 0 {
                    let _ = headers.insert("h", vec![b'h'; usize::from(*header) * 4]);
                }
                Frame::Open(Open {
                    message_id: id(message),
                    priority: Priority(*priority),
                    total_len: total.map(|t| u64::from(t) * 16),
                    headers,
                    body,
                })
            }
            FrameSpec::Data {
                id: message,
                offset,
                len,
            } => Frame::Data(Data {
                message_id: id(message),
                offset: u64::from(*offset) * 16,
                payload: Bytes::from(vec![0xA5; usize::from(*len) * 16]),
            }),
            FrameSpec::End { id: message, total } => Frame::End(End {
                message_id: id(message),
                total_len: u64::from(*total) * 16,
            }),
            FrameSpec::Cancel {
                id: message,
                by_receiver,
            } => Frame::Cancel(Cancel {
                message_id: id(message),
                by_receiver: *by_receiver,
                code: ErrorCode::CANCELLED,
                reason: String::new(),
            }),
            FrameSpec::Credit { id: message, limit } => Frame::Credit(Credit {
                message_id: id(message),
                limit: u64::from(*limit),
            }),
            FrameSpec::Ping(opaque) => Frame::Ping(Ping { opaque: *opaque }),
            FrameSpec::GoAway(code) => Frame::GoAway(GoAway {
                last_message_id: 0,
                code: ErrorCode(u32::from(*code % 3)),
                reason: String::new(),
            }),
            FrameSpec::Hello => Frame::Hello(Hello::new(LIMITS)),
        }
    }
}

/// What the application holds of an incoming message.
enum Held {
    Streamed(Incoming),
    /// Held only: its share of the receive buffer stays taken until dropped.
    Whole(#[allow(dead_code)] Received),
}

fn config(streaming: bool) -> PipeConfig {
    let core = CoreConfig::default()
        .with_limits(LIMITS)
        .with_chunk_size(2048)
        .with_message_window(8 << 10)
        .with_connection_window(32 << 10)
        .with_max_window(64 << 10)
        .with_keepalive(Some(Duration::from_millis(500)))
        .with_keepalive_timeout(Some(Duration::from_millis(1500)))
        .with_idle_timeout(Some(Duration::from_secs(5)))
        .with_handshake_timeout(Some(Duration::from_secs(1)))
        .with_header_budget(16 << 10)
        .with_shared_header_budget(HeaderBudget::new(16 << 10));
    PipeConfig::default()
        .with_core(core)
        .with_receive(if streaming {
            ReceiveMode::Streaming
        } else {
            ReceiveMode::Complete
        })
        .with_receive_buffer(64 << 10)
        .with_spill_threshold(32 << 10)
        .with_spill_budget(0)
        .with_read_size(16 << 10)
        .with_write_batch(16 << 10)
        .with_close_grace(CLOSE_GRACE)
        .with_write_timeout(Some(WRITE_TIMEOUT))
        .with_accept_backlog(8)
}

/// Lets the pipe's tasks run until they wait (the clock does not move).
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

fn heap() -> usize {
    HEAP.allocated()
}

async fn run(script: Script) {
    let baseline = heap();
    let config = config(script.streaming);
    let bound_fixed = HEAP_BASE
        + config.receive_buffer as usize
        + config.core.connection_window as usize
        + 4 * config.read_size
        + 2 * config.write_batch
        + config.core.header_budget
        + config.core.shared_header_budget.total() as usize;
    let (ours, theirs) = memory_pair(16 << 10);
    let pipe = Arc::new(Pipe::new(ours, config));
    let (mut peer_read, mut peer_write) = tokio::io::split(theirs.into_inner());
    let peer_reads = Arc::new(AtomicBool::new(true));
    let reader = {
        let peer_reads = peer_reads.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 << 10];
            loop {
                if !peer_reads.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                match peer_read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
    };
    let encoder = Encoder::new(LIMITS);
    let mut wire = BytesMut::new();
    let mut peer_open = true;
    let mut largest_write = 0usize;
    let mut sent_bytes = 0usize;
    let mut steps = 0usize;

    /// Writes `bytes` as the peer, unless its stream is over or stuck.
    async fn peer_write_all(
        writer: &mut tokio::io::WriteHalf<tokio::io::DuplexStream>,
        open: &mut bool,
        bytes: &[u8],
    ) {
        if !*open {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(1), writer.write_all(bytes)).await {
            Ok(Ok(())) => {}
            // The pipe ended (or stopped reading): the peer gives up.
            _ => *open = false,
        }
    }

    if let Some((message_window, connection_window)) = script.hello {
        let mut hello = Hello::new(LIMITS);
        hello.message_window = u32::from(message_window) * 16;
        hello.connection_window = u32::from(connection_window) * 64;
        let _ = encoder.encode_into(&Frame::Hello(hello), &mut wire);
        peer_write_all(&mut peer_write, &mut peer_open, &wire).await;
        wire.clear();
    }

    let mut sends: Vec<SendHandle> = Vec::new();
    let held: Arc<Mutex<Vec<Held>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut closed_at: Option<tokio::time::Instant> = None;

    for op in script.ops.into_iter().take(64) {
        steps += 1;
        match op {
            Op::PeerBytes(bytes) => {
                let bytes = &bytes[..bytes.len().min(8 << 10)];
                largest_write = largest_write.max(bytes.len());
                peer_write_all(&mut peer_write, &mut peer_open, bytes).await;
            }
            Op::PeerFrame(spec) => {
                if encoder.encode_into(&spec.frame(), &mut wire).is_ok() {
                    largest_write = largest_write.max(wire.len());
                    peer_write_all(&mut peer_write, &mut peer_open, &wire).await;
                }
                wire.clear();
            }
            Op::PeerReads(on) => peer_reads.store(on, Ordering::Relaxed),
            Op::PeerEof => {
                if peer_open {
                    let _ = peer_write.shutdown().await;
                    peer_open = false;
                    closed_at.get_or_insert_with(tokio::time::Instant::now);
                }
            }
            Op::Send { len, priority } => {
                let len = usize::from(len) * 64;
                sent_bytes += len;
                let message = Message::new(vec![0x33u8; len]).priority(Priority(priority));
                if let Ok(handle) = pipe.send(message) {
                    sends.push(handle);
                }
            }
            Op::CancelSend(n) => {
                if !sends.is_empty() {
                    sends[usize::from(n) % sends.len()].cancel();
                }
            }
            Op::Accept => {
                let pipe = pipe.clone();
                let held = held.clone();
                tasks.push(tokio::spawn(async move {
                    if let Ok(incoming) = pipe.accept().await {
                        held.lock().unwrap().push(Held::Streamed(incoming));
                    }
                }));
            }
            Op::Recv => {
                let pipe = pipe.clone();
                let held = held.clone();
                tasks.push(tokio::spawn(async move {
                    if let Ok(received) = pipe.recv().await {
                        held.lock().unwrap().push(Held::Whole(received));
                    }
                }));
            }
            Op::DropIncoming(n) => {
                let mut held = held.lock().unwrap();
                if !held.is_empty() {
                    let n = usize::from(n) % held.len();
                    drop(held.swap_remove(n));
                }
            }
            Op::ReadBody(n) => {
                let taken = {
                    let mut held = held.lock().unwrap();
                    let n = usize::from(n) % held.len().max(1);
                    (n < held.len()).then(|| held.swap_remove(n))
                };
                if let Some(Held::Streamed(incoming)) = taken {
                    let mut body = incoming.body;
                    tasks.push(tokio::spawn(async move {
                        while let Some(Ok(_)) = body.next().await {}
                    }));
                }
            }
            Op::Close => {
                pipe.start_close();
                closed_at.get_or_insert_with(tokio::time::Instant::now);
            }
            Op::Abort => {
                pipe.abort();
                closed_at.get_or_insert_with(tokio::time::Instant::now);
            }
            Op::Advance(steps) => {
                for _ in 0..steps % 64 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        settle().await;
        let growth = heap().saturating_sub(baseline);
        let bound = bound_fixed + sent_bytes + 2 * largest_write + HANDLE_COST * steps;
        assert!(
            growth <= bound,
            "heap grew by {growth} bytes, over the bound of {bound}"
        );
        if let Some(at) = closed_at
            && !pipe.is_closed()
        {
            // A close (or the peer's end) was asked for: the pipe must not
            // outlive its timeouts. Checked once the clock moved past them.
            assert!(
                at.elapsed() <= END_BOUND + Duration::from_secs(1),
                "the pipe lives on {:?} after its close",
                at.elapsed()
            );
        }
    }

    // The end: the application closes, the peer ends its stream; everything
    // must resolve within the bound.
    let end = tokio::time::Instant::now();
    pipe.start_close();
    if peer_open {
        let _ = peer_write.shutdown().await;
    }
    let outcome = tokio::time::timeout(END_BOUND, async {
        let _ = pipe.closed().await;
        for handle in sends.drain(..) {
            let _ = handle.await;
        }
        for task in tasks.drain(..) {
            task.await.expect("an application task panicked");
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "not everything resolved within {END_BOUND:?} of the close"
    );
    assert!(end.elapsed() <= END_BOUND);
    assert!(pipe.is_closed());
    // Bodies held: each ends (with an error, or its last bytes).
    let held: Vec<Held> = std::mem::take(&mut *held.lock().unwrap());
    for message in held {
        if let Held::Streamed(incoming) = message {
            let mut body = incoming.body;
            let drained = tokio::time::timeout(Duration::from_millis(100), async {
                while let Some(Ok(_)) = body.next().await {}
            })
            .await;
            assert!(drained.is_ok(), "a body stream outlived its pipe");
        }
    }
    reader.abort();
}

fuzz_target!(|script: Script| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(run(script));
});
