//! Netcore `Pipe`s (`PipeConfig::default()`) through the delay proxy: one
//! transfer; eight concurrent ones with a small HIGH message's round trip
//! measured idle and while they run.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::pipe::protocol::Priority;
use netcore::pipe::{Incoming, Message, Pipe, PipeConfig, PipeStats, ReceiveMode};
use tokio::sync::mpsc;

use crate::proxy::DelayProxy;
use crate::{Throughput, proxied_pair};

/// The small message's body.
const PING: [u8; 64] = [0x5a; 64];

/// Round trips of the small message measured before the bulk starts.
pub(crate) const IDLE_SAMPLES: usize = 10;

/// The most round trips kept while the bulk runs.
const MAX_SAMPLES: usize = 10_000;

/// A mebibyte, for printing.
const MIB: f64 = (1 << 20) as f64;

/// How often `--timeline` prints the single transfer's progress.
const TIMELINE_STEP: Duration = Duration::from_millis(10);

/// How long the two pipes may take to exchange HELLO.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);

/// A Pipe pair through the proxy, both past the handshake.
async fn pipe_pair(proxy: &DelayProxy) -> io::Result<(Pipe, Pipe)> {
    let (client, server) = proxied_pair(proxy).await?;
    let config = || PipeConfig::default().with_receive(ReceiveMode::Streaming);
    let (a, b) = (Pipe::new(client, config()), Pipe::new(server, config()));
    let hello = async { tokio::try_join!(a.ready(), b.ready()) };
    tokio::time::timeout(HANDSHAKE_LIMIT, hello)
        .await
        .map_err(|_| io::Error::other("netcore: no HELLO through the proxy"))?
        .map_err(io::Error::other)?;
    Ok((a, b))
}

/// Reads an incoming message's body to the end, counting into `got` (and
/// into `mine`, the message's own count, if given).
async fn drain(incoming: Incoming, got: &AtomicU64, mine: Option<&AtomicU64>) -> io::Result<()> {
    let mut body = incoming.body;
    while let Some(chunk) = body.next().await {
        let n = chunk.map_err(io::Error::other)?.len() as u64;
        got.fetch_add(n, Ordering::Relaxed);
        if let Some(mine) = mine {
            mine.fetch_add(n, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// One Netcore transfer and what each side's `Pipe::stats()` said at the end.
pub(crate) struct Single {
    pub(crate) throughput: Throughput,
    pub(crate) sender: PipeStats,
    pub(crate) receiver: PipeStats,
}

/// One message of `total` bytes; timed from `send` until the receiver has
/// read every byte.
/// With `timeline`, prints the progress and both sides' windows every
/// [`TIMELINE_STEP`] meanwhile.
pub(crate) async fn single(
    proxy: &DelayProxy,
    total: u64,
    limit: Duration,
    timeline: bool,
) -> io::Result<Single> {
    let (a, b) = pipe_pair(proxy).await?;
    let body = Bytes::from(vec![7u8; total as usize]);
    let got = AtomicU64::new(0);
    let started = Instant::now();
    let handle = a.send(Message::new(body)).map_err(io::Error::other)?;
    let receive = async {
        let incoming = b.accept().await.map_err(io::Error::other)?;
        drain(incoming, &got, None).await
    };
    let timeline = async {
        if !timeline {
            return futures::future::pending().await;
        }
        loop {
            print_progress(started, got.load(Ordering::Relaxed), &a.stats(), &b.stats());
            tokio::time::sleep(TIMELINE_STEP).await;
        }
    };
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(limit, receive) => outcome,
        () = timeline => unreachable!(),
    };
    let elapsed = started.elapsed();
    let (sender, receiver) = (a.stats(), b.stats());
    let throughput = Throughput::of(
        outcome,
        got.load(Ordering::Relaxed),
        total,
        elapsed,
        "netcore",
    )?;
    if throughput.complete {
        tokio::time::timeout(HANDSHAKE_LIMIT, handle)
            .await
            .map_err(|_| io::Error::other("netcore: the send handle did not resolve"))?
            .map_err(io::Error::other)?;
    }
    a.abort();
    b.abort();
    Ok(Single {
        throughput,
        sender,
        receiver,
    })
}

/// One `--timeline` line: time since the send, bytes read, the receiver's
/// windows and the sender's credit, in MiB.
fn print_progress(started: Instant, got: u64, sender: &PipeStats, receiver: &PipeStats) {
    let mib = |bytes: u64| bytes as f64 / MIB;
    let opt =
        |bytes: Option<u64>| bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.1}", mib(b)));
    eprintln!(
        "  {:7.1} ms  read {:7.1}  message window {:5.1}  connection window {:>5}  sender's credit {:>5}  rtt {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3,
        mib(got),
        mib(receiver.flow.recv_message_window),
        opt(receiver.flow.recv_window),
        opt(sender.flow.send_credit),
        receiver.rtt.map_or(0.0, |rtt| rtt.as_secs_f64() * 1e3),
    );
}

/// Eight (`count`) concurrent transfers on one pipe, and the small HIGH
/// message's round trips before and during them.
pub(crate) struct Concurrent {
    pub(crate) throughput: Throughput,
    /// When each completed message finished, from the first send, sorted.
    pub(crate) done: Vec<Duration>,
    /// Round trips before the bulk started, sorted.
    pub(crate) idle: Vec<Duration>,
    /// Round trips while the bulk ran, sorted.
    pub(crate) under_bulk: Vec<Duration>,
}

/// `count` messages of `each` bytes sent at once on one pipe; timed until
/// the receiver has read them all. Meanwhile a 64-byte `Priority::HIGH`
/// message goes back and forth (the peer echoes it at HIGH), one at a time.
///
/// With `timeline`, prints each message's progress every [`TIMELINE_STEP`].
pub(crate) async fn concurrent(
    proxy: &DelayProxy,
    count: usize,
    each: u64,
    limit: Duration,
    timeline: bool,
) -> io::Result<Concurrent> {
    let (a, b) = pipe_pair(proxy).await?;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let got = Arc::new(AtomicU64::new(0));
    let each_got: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let completed = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Instant>();
    let peer = {
        let (b, got, completed, each_got) =
            (b.clone(), got.clone(), completed.clone(), each_got.clone());
        tokio::spawn(async move {
            while let Ok(incoming) = b.accept().await {
                if incoming.headers.get_str("kind") == Some("bulk") {
                    let (got, completed, done_tx, each_got) = (
                        got.clone(),
                        completed.clone(),
                        done_tx.clone(),
                        each_got.clone(),
                    );
                    let index = incoming
                        .headers
                        .get_str("n")
                        .and_then(|n| n.parse::<usize>().ok());
                    tokio::spawn(async move {
                        let mine = index.and_then(|index| each_got.get(index));
                        if drain(incoming, &got, mine).await.is_ok() {
                            let _ = done_tx.send(Instant::now());
                            completed.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                } else {
                    let b = b.clone();
                    tokio::spawn(async move {
                        if let Ok(body) = incoming.bytes().await {
                            let _ = b.send(Message::new(body).priority(Priority::HIGH));
                        }
                    });
                }
            }
        })
    };

    let mut idle = Vec::new();
    for _ in 0..IDLE_SAMPLES {
        let rtt = tokio::time::timeout(HANDSHAKE_LIMIT, round_trip(&a))
            .await
            .map_err(|_| io::Error::other("netcore: no echo of the idle small message"))??;
        idle.push(rtt);
    }

    let body = Bytes::from(vec![9u8; each as usize]);
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + limit);
    let mut handles = Vec::new();
    for index in 0..count {
        let message = Message::new(body.clone())
            .header("kind", "bulk")
            .and_then(|message| message.header("n", index.to_string()))
            .map_err(io::Error::other)?;
        handles.push(a.send(message).map_err(io::Error::other)?);
    }
    let printer = timeline.then(|| {
        let (each_got, completed, a, b) = (each_got.clone(), completed.clone(), a.clone(), b.clone());
        tokio::spawn(async move {
            while completed.load(Ordering::Relaxed) < count {
                let mib: Vec<String> = each_got
                    .iter()
                    .map(|got| format!("{:5.1}", got.load(Ordering::Relaxed) as f64 / MIB))
                    .collect();
                let window = b.stats().flow.recv_window.unwrap_or(0) as f64 / MIB;
                let credit = a.stats().flow.send_credit.unwrap_or(0) as f64 / MIB;
                eprintln!(
                    "  {:7.1} ms  read per message (MiB) {}  connection window {window:5.1}  sender's credit {credit:5.1}",
                    started.elapsed().as_secs_f64() * 1e3,
                    mib.join(" ")
                );
                tokio::time::sleep(TIMELINE_STEP).await;
            }
        })
    });
    let mut under_bulk = Vec::new();
    while completed.load(Ordering::Relaxed) < count && under_bulk.len() < MAX_SAMPLES {
        match tokio::time::timeout_at(deadline, round_trip(&a)).await {
            Ok(rtt) => under_bulk.push(rtt?),
            Err(_) => break,
        }
    }
    // Samples are capped: wait for the rest of the bulk without pinging.
    let total = count as u64 * each;
    while completed.load(Ordering::Relaxed) < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let delivered = got.load(Ordering::Relaxed);
    let finished = completed.load(Ordering::Relaxed);
    peer.abort();
    if let Some(printer) = printer {
        printer.abort();
    }
    a.abort();
    b.abort();
    drop(handles);
    let mut done = Vec::new();
    while let Ok(at) = done_rx.try_recv() {
        done.push(at.saturating_duration_since(started));
    }
    done.sort();
    let throughput = if finished == count {
        // The bulk ended at the last completion, not when the last ping
        // came back.
        let last = done.last().copied().unwrap_or(elapsed);
        if delivered != total {
            return Err(io::Error::other(format!(
                "netcore: the receiver got {delivered} of {total} bytes"
            )));
        }
        Throughput::complete(total, last)
    } else {
        Throughput::timed_out(delivered, elapsed)
    };
    idle.sort();
    under_bulk.sort();
    Ok(Concurrent {
        throughput,
        done,
        idle,
        under_bulk,
    })
}

/// One round trip of the 64-byte HIGH message: sent, echoed, read back.
async fn round_trip(a: &Pipe) -> io::Result<Duration> {
    let sent = Instant::now();
    let ping = Message::new(Bytes::from_static(&PING)).priority(Priority::HIGH);
    a.send(ping).map_err(io::Error::other)?;
    let reply = a.accept().await.map_err(io::Error::other)?;
    let body = reply.bytes().await.map_err(io::Error::other)?;
    if body.len() != PING.len() {
        return Err(io::Error::other(
            "netcore: the echo changed the small message",
        ));
    }
    Ok(sent.elapsed())
}
