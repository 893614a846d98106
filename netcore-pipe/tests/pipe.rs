//! The async `Pipe` end to end over in-memory and loopback TCP links: order,
//! priority, fairness, cancellation, flow control, spill-to-disk, failure
//! and damage. Timeouts are failure guards only; assertions are about order
//! and content.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_pipe::protocol::Priority;
use netcore_pipe::transport::{FaultConfig, Faulty, memory_pair};
use netcore_pipe::{
    Body, Message, Pipe, PipeConfig, ReceiveError, ReceiveMode, ReceivedBody, SendError, SendHandle,
};

const GUARD: Duration = Duration::from_secs(60);

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn pair(config: PipeConfig) -> (Pipe, Pipe) {
    let (a, b) = memory_pair(256 << 10);
    (Pipe::new(a, config.clone()), Pipe::new(b, config))
}

fn streaming() -> PipeConfig {
    PipeConfig::default().with_receive(ReceiveMode::Streaming)
}

fn message(body: Bytes, n: usize) -> Message {
    Message::new(body)
        .header("n", n.to_string())
        .expect("valid header")
}

fn number(headers: &netcore_pipe::protocol::Headers) -> usize {
    headers
        .get_str("n")
        .and_then(|n| n.parse().ok())
        .expect("every test message is numbered")
}

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_messages_complete_before_a_big_one() {
    let (a, b) = pair(PipeConfig::default());
    let mut big = a.send(message(pattern(64 << 20, 1), 0)).expect("send");
    let small: Vec<SendHandle> = (1..=100)
        .map(|n| {
            a.send(message(pattern(1000 + n, n as u8), n))
                .expect("send")
        })
        .collect();
    let mut order = Vec::new();
    guard(async {
        for _ in 0..101 {
            let received = b.recv().await.expect("message");
            let n = number(&received.headers);
            let body = received.body.to_bytes().await.expect("body");
            let expected = if n == 0 {
                pattern(64 << 20, 1)
            } else {
                pattern(1000 + n, n as u8)
            };
            assert!(body == expected, "message {n} arrived damaged");
            order.push(n);
        }
    })
    .await;
    assert_eq!(order.last(), Some(&0), "the big message completes last");
    guard(big.finished()).await.expect("big sent");
    for mut handle in small {
        guard(handle.finished()).await.expect("small sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_priority_message_overtakes_bulk() {
    let (a, b) = pair(PipeConfig::default());
    let bulk = a.send(message(pattern(32 << 20, 2), 0).priority(Priority::LOW));
    let bulk = bulk.expect("send");
    // Wait until the bulk transfer is under way.
    guard(async {
        while bulk.bytes_sent() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let urgent = a.send(message(pattern(256 << 10, 3), 1).priority(Priority::HIGH));
    let _urgent = urgent.expect("send");
    let first = guard(b.recv()).await.expect("message");
    assert_eq!(
        number(&first.headers),
        1,
        "the urgent message completes first"
    );
    let second = guard(b.recv()).await.expect("message");
    assert_eq!(number(&second.headers), 0);
    assert_eq!(second.body.len(), 32 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_messages_progress_equally() {
    // Windows large enough that flow control never holds either message back:
    // what is measured is the scheduler alone.
    let mut config = PipeConfig::default()
        .with_receive_buffer(256 << 20)
        .with_spill_threshold(64 << 20);
    config.core.message_window = 64 << 20;
    config.core.connection_window = 256 << 20;
    let slack = (config.core.chunk_size + config.write_batch) as u64 * 2;
    // Both messages are queued before the peer exists: no data moves before
    // its HELLO, so they start together.
    let (left, right) = memory_pair(256 << 10);
    let a = Pipe::new(left, config.clone());
    let mut one = a.send(message(pattern(32 << 20, 4), 1)).expect("send");
    let mut two = a.send(message(pattern(32 << 20, 5), 2)).expect("send");
    let b = Pipe::new(right, config);
    let receiver = tokio::spawn(async move {
        let mut sizes = Vec::new();
        for _ in 0..2 {
            let received = b.recv().await.expect("message");
            sizes.push(received.body.len());
        }
        sizes
    });
    let (first_done, mut other) = guard(async {
        tokio::select! {
            result = one.finished() => (result, two),
            result = two.finished() => (result, one),
        }
    })
    .await;
    first_done.expect("sent");
    let lag = (32u64 << 20) - other.bytes_sent();
    assert!(lag <= slack, "the other message was {lag} bytes behind");
    guard(other.finished()).await.expect("sent");
    assert_eq!(
        guard(receiver).await.expect("receiver"),
        vec![32 << 20, 32 << 20]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_cancels_mid_transfer() {
    let (a, b) = pair(streaming());
    let mut handle = a.send(message(pattern(64 << 20, 6), 0)).expect("send");
    let mut incoming = guard(b.accept()).await.expect("opened");
    let first = guard(incoming.body.next()).await;
    assert!(matches!(first, Some(Ok(_))));
    handle.cancel();
    let result = guard(handle.finished()).await;
    assert!(matches!(result, Err(SendError::Cancelled)), "{result:?}");
    let mut outcome = None;
    guard(async {
        while let Some(chunk) = incoming.body.next().await {
            if let Err(error) = chunk {
                outcome = Some(error);
            }
        }
    })
    .await;
    assert!(
        matches!(outcome, Some(ReceiveError::CancelledByPeer { .. })),
        "{outcome:?}"
    );
    // The link is still good.
    a.send(message(pattern(10, 7), 1)).expect("send");
    let next = guard(b.accept()).await.expect("opened");
    assert_eq!(guard(next.bytes()).await.expect("body"), pattern(10, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_cancels_mid_transfer() {
    let (a, b) = pair(streaming());
    let mut handle = a.send(message(pattern(64 << 20, 8), 0)).expect("send");
    let mut incoming = guard(b.accept()).await.expect("opened");
    assert!(matches!(guard(incoming.body.next()).await, Some(Ok(_))));
    drop(incoming);
    let result = guard(handle.finished()).await;
    assert!(
        matches!(result, Err(SendError::CancelledByPeer { .. })),
        "{result:?}"
    );
    assert!(a.stats().cancels >= 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_receiver_that_never_reads_stops_the_sender() {
    let config = streaming();
    let window = u64::from(config.core.message_window);
    let (a, b) = pair(config);
    let mut handle = a.send(message(pattern(64 << 20, 9), 0)).expect("send");
    // With time paused, the clock only moves once every task is idle: by
    // then the sender has gone as far as it can.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        handle.bytes_sent(),
        window,
        "the sender stopped at the window"
    );
    let read = b.stats().bytes_read;
    assert!(
        read < window + (64 << 10),
        "the receiver buffered {read} bytes"
    );
    // Reading lets it finish.
    let incoming = b.accept().await.expect("opened");
    let body = incoming.bytes().await.expect("body");
    assert_eq!(body.len(), 64 << 20);
    handle.finished().await.expect("sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_threshold_spills_to_disk_and_is_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = PipeConfig::default()
        .with_spill_threshold(1 << 20)
        .with_spill_dir(Some(dir.path().to_owned()));
    let (a, b) = pair(config);
    let body = pattern(8 << 20, 10);
    a.send(message(body.clone(), 0)).expect("send");
    a.send(message(pattern(1000, 11), 1)).expect("send");
    let mut spilled_path = None;
    for _ in 0..2 {
        let received = guard(b.recv()).await.expect("message");
        match (number(&received.headers), &received.body) {
            (0, ReceivedBody::File(file)) => {
                assert_eq!(file.len(), 8 << 20);
                let on_disk = tokio::fs::read(file.path()).await.expect("read spill file");
                assert!(on_disk == body, "spilled body differs");
                spilled_path = Some(file.path().to_owned());
            }
            (1, ReceivedBody::Memory(bytes)) => assert_eq!(*bytes, pattern(1000, 11)),
            (n, other) => panic!("message {n} stored wrongly: {other:?}"),
        }
    }
    let path = spilled_path.expect("the big body spilled");
    assert!(!path.exists(), "the spill file outlived its message");
    let left = std::fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(left, 0, "spill directory not empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_and_stream_bodies() {
    let (a, b) = pair(PipeConfig::default());
    let mut source = tempfile::NamedTempFile::new().expect("temp file");
    let content = pattern(3 << 20, 12);
    std::io::Write::write_all(&mut source, &content).expect("write");
    let file = Body::file(source.path()).await.expect("open");
    assert_eq!(file.len(), Some(3 << 20));
    let from_file = a.send(Message::new(file).header("n", "0").expect("header"));
    let chunks = (0..10).map(|i| Ok(pattern(100_000, i)));
    let stream = Body::stream(futures::stream::iter(chunks));
    let from_stream = a.send(Message::new(stream).header("n", "1").expect("header"));
    guard(from_file.expect("send").finished())
        .await
        .expect("file sent");
    guard(from_stream.expect("send").finished())
        .await
        .expect("stream sent");
    for _ in 0..2 {
        let received = guard(b.recv()).await.expect("message");
        let body = received.body.to_bytes().await.expect("body");
        match number(&received.headers) {
            0 => assert!(body == content, "file body differs"),
            _ => {
                let expected: Vec<u8> = (0..10).flat_map(|i| pattern(100_000, i)).collect();
                assert!(body == expected, "stream body differs");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_fails_every_pending_handle() {
    let (a, b) = memory_pair(64 << 10);
    let cut = Faulty::new(a, FaultConfig::clean(1).cut_after(2 << 20));
    let a = Pipe::new(cut, PipeConfig::default());
    let b = Pipe::new(b, streaming());
    // The link may be cut before the last sends are even made: then `send`
    // itself reports it.
    let sends: Vec<Result<SendHandle, SendError>> = (0..4)
        .map(|n| a.send(message(pattern(8 << 20, n as u8), n)))
        .collect();
    let mut bodies = Vec::new();
    for _ in 0..4 {
        match guard(b.accept()).await {
            Ok(incoming) => bodies.push(tokio::spawn(incoming.bytes())),
            Err(_) => break,
        }
    }
    for mut handle in sends.into_iter().flatten() {
        let result = guard(handle.finished()).await;
        assert!(result.is_err(), "a send survived the cut");
    }
    for body in bodies {
        let result = guard(body).await.expect("task");
        assert!(result.is_err(), "a body survived the cut");
    }
    assert!(guard(a.closed()).await.is_err());
    assert!(guard(b.closed()).await.is_err());
    assert!(guard(b.accept()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_goes_away_fails_pending_receives() {
    let (a, b) = pair(streaming());
    a.send(message(pattern(16 << 20, 13), 0)).expect("send");
    let incoming = guard(b.accept()).await.expect("opened");
    let reading = tokio::spawn(incoming.bytes());
    drop(a); // graceful close: the message in flight still finishes
    let body = guard(reading).await.expect("task").expect("finished body");
    assert_eq!(body, pattern(16 << 20, 13));
    assert!(guard(b.closed()).await.is_ok());
    assert!(b.send(Message::new("late")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_close_over_tcp_lets_messages_finish() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let client = tokio::net::TcpStream::connect(address);
    let (server, client) = tokio::join!(listener.accept(), client);
    let (server, _) = server.expect("accept");
    let client = client.expect("connect");
    let a = Pipe::new(client, PipeConfig::default());
    let b = Pipe::new(server, PipeConfig::default());
    let handles: Vec<SendHandle> = (0..8)
        .map(|n| a.send(message(pattern(2 << 20, n as u8), n)).expect("send"))
        .collect();
    let closing = tokio::spawn(async move { a.close().await });
    let mut got = Vec::new();
    for _ in 0..8 {
        let received = guard(b.recv()).await.expect("message");
        let n = number(&received.headers);
        assert!(received.body.to_bytes().await.expect("body") == pattern(2 << 20, n as u8));
        got.push(n);
    }
    got.sort_unstable();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    for mut handle in handles {
        guard(handle.finished()).await.expect("sent");
    }
    guard(closing).await.expect("task").expect("graceful");
    assert!(guard(b.closed()).await.is_ok());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_faulty_link_fails_damaged_messages_and_delivers_the_rest_intact() {
    let (a, b) = memory_pair(64 << 10);
    let noisy = Faulty::new(a, FaultConfig::clean(7).flip_rate(2e-5));
    let a = Pipe::new(noisy, PipeConfig::lossy_link());
    let b = Pipe::new(
        b,
        PipeConfig::lossy_link().with_receive(ReceiveMode::Streaming),
    );
    let count = 40;
    let bodies: Vec<Bytes> = (0..count)
        .map(|n| pattern(4000 + 97 * n, n as u8))
        .collect();
    let handles: Vec<SendHandle> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| a.send(message(body.clone(), n)).expect("send"))
        .collect();
    let mut intact = 0;
    let mut failed = 0;
    let receiving = async {
        loop {
            let incoming = match tokio::time::timeout(Duration::from_secs(30), b.accept()).await {
                Ok(Ok(incoming)) => incoming,
                _ => break,
            };
            let n = number(&incoming.headers);
            match incoming.bytes().await {
                Ok(body) => {
                    assert!(body == bodies[n], "message {n} delivered damaged");
                    intact += 1;
                }
                Err(_) => failed += 1,
            }
        }
    };
    guard(receiving).await;
    for mut handle in handles {
        // Every handle ends: sent, or failed because the receiver refused it.
        let _ = guard(handle.finished()).await;
    }
    assert!(intact > 0, "nothing got through");
    assert!(intact + failed <= count);
    assert!(b.stats().resyncs > 0 || failed > 0 || intact == count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_returns_only_once_the_last_frames_are_out() {
    // The closing side exits (its runtime is dropped) as soon as `close()`
    // returns: the peer must still see a graceful end, not a cut-off frame.
    let (a, b) = memory_pair(64 << 10);
    let b = Pipe::new(b, PipeConfig::default());
    let closer = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let a = Pipe::new(a, PipeConfig::default());
            a.send(message(pattern(100_000, 1), 0)).expect("send");
            a.close().await
        })
        // The runtime, and everything it ran, is dropped here.
    });
    let received = guard(b.recv()).await.expect("the message arrived");
    assert_eq!(received.body.len(), 100_000);
    tokio::task::spawn_blocking(move || closer.join())
        .await
        .expect("join")
        .expect("closer thread")
        .expect("graceful close on the closing side");
    assert!(guard(b.closed()).await.is_ok(), "the peer saw a cut-off");
}

#[tokio::test]
async fn ready_waits_for_the_peers_hello_and_reports_a_dead_link() {
    let (a, b) = memory_pair(64 << 10);
    let a = Pipe::new(a, PipeConfig::default());
    let b = Pipe::new(b, PipeConfig::default());
    guard(a.ready()).await.expect("the peer said HELLO");
    guard(b.ready()).await.expect("the peer said HELLO");
    // A peer that never speaks the protocol: the link ends before any HELLO.
    let (c, d) = memory_pair(64 << 10);
    let c = Pipe::new(c, PipeConfig::default());
    drop(d);
    let result = guard(c.ready()).await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_bodies_under_the_spill_threshold_do_not_exhaust_the_receive_buffer() {
    // Found in review: collectors each holding part of the receive buffer and
    // waiting for more deadlocked. A body that does not fit now spills.
    let config = PipeConfig::default()
        .with_receive_buffer(4 << 20)
        .with_spill_threshold(2 << 20);
    let (a, b) = pair(config);
    let sizes: Vec<usize> = (0..8).map(|n| (19 << 20) / 10 + n).collect();
    for (n, size) in sizes.iter().enumerate() {
        a.send(message(pattern(*size, n as u8), n)).expect("send");
    }
    let mut got = Vec::new();
    for _ in 0..8 {
        let received = guard(b.recv()).await.expect("message");
        let n = number(&received.headers);
        let body = received.body.to_bytes().await.expect("body");
        assert!(body == pattern(sizes[n], n as u8), "message {n} damaged");
        got.push(n);
    }
    got.sort_unstable();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_body_stream_that_panics_fails_its_message() {
    // Found in review: a feeder that died without finishing was taken for
    // the end of an unknown-length body, delivering it truncated as complete.
    let (a, b) = pair(streaming());
    let chunks = futures::stream::iter(0..2).map(|n| {
        if n == 1 {
            panic!("the source broke");
        }
        Ok(Bytes::from_static(b"first half "))
    });
    let mut handle = a.send(Message::new(Body::stream(chunks))).expect("send");
    let result = guard(handle.finished()).await;
    assert!(matches!(result, Err(SendError::Body(_))), "{result:?}");
    // The receiver saw nothing of it (cancelled before its OPEN went out) or
    // sees it fail; never a complete truncated body.
    a.send(Message::new("after")).expect("send");
    loop {
        let incoming = guard(b.accept()).await.expect("opened");
        let body = guard(incoming.bytes()).await;
        match body {
            Ok(body) if body == "after" => break,
            Ok(body) => panic!("a truncated body was delivered as complete: {body:?}"),
            Err(_) => continue,
        }
    }
}

#[tokio::test]
async fn accept_switches_a_complete_pipe_to_streaming_and_hands_out_what_was_collected() {
    // Bodies over 1 KiB spill to disk on the receiving side.
    let receiving = PipeConfig::default().with_spill_threshold(1024);
    let (a, b) = memory_pair(64 * 1024);
    let (left, right) = (Pipe::new(a, PipeConfig::default()), Pipe::new(b, receiving));
    assert_eq!(right.receive_mode(), ReceiveMode::Complete);
    let early_small = pattern(100, 1);
    let early_big = pattern(100_000, 2);
    left.send(Message::new(early_small.clone()))
        .expect("send")
        .await
        .expect("sent");
    left.send(Message::new(early_big.clone()))
        .expect("send")
        .await
        .expect("sent");
    // Both are collected (the big one in a spill file) before the switch.
    tokio::time::timeout(Duration::from_secs(10), async {
        while right.stats().messages_received < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("both messages arrive");
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let incoming = right.accept().await.expect("a collected message");
        let announced = incoming.total_len;
        let body = incoming.bytes().await.expect("its body");
        assert_eq!(announced, Some(body.len() as u64), "a collected length");
        bodies.push(body);
    }
    bodies.sort_by_key(Bytes::len);
    assert_eq!(bodies, vec![early_small, early_big]);
    assert_eq!(right.receive_mode(), ReceiveMode::Streaming);
    assert!(matches!(
        right.recv().await,
        Err(ReceiveError::WrongReceiveMode(_))
    ));
    // A message sent after the switch streams: it opens before it is whole.
    let late = pattern(300_000, 3);
    let sending = left.send(Message::new(late.clone())).expect("send");
    let incoming = tokio::time::timeout(Duration::from_secs(10), right.accept())
        .await
        .expect("the late message opens")
        .expect("a streamed message");
    assert_eq!(incoming.bytes().await.expect("its body"), late);
    sending.await.expect("sent");
}

#[tokio::test]
async fn accept_hands_out_what_was_collected_even_after_the_peer_closed() {
    let (a, b) = memory_pair(64 * 1024);
    let (left, right) = (
        Pipe::new(a, PipeConfig::default()),
        Pipe::new(b, PipeConfig::default()),
    );
    let bodies = [pattern(10, 4), pattern(200_000, 5)];
    for body in &bodies {
        left.send(Message::new(body.clone()))
            .expect("send")
            .await
            .expect("sent");
    }
    left.close().await.expect("graceful close");
    tokio::time::timeout(GUARD, right.closed())
        .await
        .expect("the close arrives")
        .expect("a graceful end");
    // Nobody had asked for the messages: both were collected whole, and
    // both come out of accept before the end does.
    let mut got = Vec::new();
    for _ in 0..2 {
        let incoming = tokio::time::timeout(GUARD, right.accept())
            .await
            .expect("accept answers")
            .expect("a collected message");
        got.push(incoming.bytes().await.expect("its body"));
    }
    got.sort_by_key(Bytes::len);
    assert_eq!(got, bodies.to_vec());
    assert!(right.accept().await.is_err(), "then the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_frame_message_arrives_whole_and_a_long_one_streams() {
    let (a, b) = pair(streaming());
    a.send(message(pattern(1000, 3), 0)).expect("send");
    let mut small = guard(b.accept()).await.expect("opened");
    assert_eq!(
        small.body.try_whole(),
        Some(pattern(1000, 3)),
        "one frame: whole at once"
    );
    assert!(guard(small.body.next()).await.is_none(), "then it ends");
    assert_eq!(small.body.try_whole(), None, "taken once");

    let long = 4 << 20;
    a.send(message(pattern(long, 4), 1)).expect("send");
    let mut big = guard(b.accept()).await.expect("opened");
    assert_eq!(big.body.try_whole(), None, "many frames: a live stream");
    let body = guard(big.bytes()).await.expect("body");
    assert_eq!(body, pattern(long, 4), "nothing lost by asking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_bodies_give_their_credit_back_read_or_dropped() {
    // Far more body bytes than the connection window, in one-frame
    // messages, half read with try_whole, half dropped unread: if either
    // kept its credit, the sender would stop at the window.
    let config = streaming();
    let window = u64::from(config.core.connection_window);
    let (a, b) = pair(config);
    let each = 32 << 10;
    let count = (4 * window / each as u64) as usize;
    let sender = tokio::spawn(async move {
        for n in 0..count {
            a.send(message(pattern(each, n as u8), n))
                .expect("send")
                .await
                .expect("sent");
        }
        a
    });
    for n in 0..count {
        let mut incoming = guard(b.accept()).await.expect("opened");
        assert_eq!(number(&incoming.headers), n, "in order");
        if n % 2 == 0 {
            let body = match incoming.body.try_whole() {
                Some(body) => body,
                None => guard(incoming.bytes()).await.expect("body"),
            };
            assert_eq!(body, pattern(each, n as u8));
        }
    }
    let _a = guard(sender).await.expect("sender");
}

/// Bytes in the spill files under `dir` (each process's directory holds
/// files named `body-…`).
fn spilled_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            total += spilled_bytes(&path);
        } else if entry.file_name().to_string_lossy().starts_with("body-") {
            total += entry.metadata().map_or(0, |meta| meta.len());
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spilling_body_whose_sender_pauses_is_on_disk_not_held_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = PipeConfig::default()
        .with_spill_threshold(64 << 10)
        .with_spill_dir(Some(dir.path().to_owned()));
    let (a, b) = pair(config);
    let (chunks_tx, chunks_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Bytes>>();
    let sending = a.send(Message::new(Body::stream(chunks_rx))).expect("send");
    let first = pattern(300 << 10, 20);
    chunks_tx.unbounded_send(Ok(first.clone())).expect("chunk");
    let receiving = tokio::spawn(async move { b.recv().await });
    // The sender pauses: what arrived must reach the disk (not wait in a
    // write batch for more).
    guard(async {
        while spilled_bytes(dir.path()) < first.len() as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let second = pattern(100 << 10, 21);
    chunks_tx.unbounded_send(Ok(second.clone())).expect("chunk");
    drop(chunks_tx);
    let mut sending = sending;
    guard(sending.finished()).await.expect("sent");
    let received = guard(receiving).await.expect("task").expect("message");
    assert!(matches!(received.body, ReceivedBody::File(_)), "spilled");
    let body = received.body.to_bytes().await.expect("body");
    assert!(body == [first, second].concat(), "spilled body differs");
}
