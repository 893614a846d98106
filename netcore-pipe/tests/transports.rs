//! The transport adapters: 1 MiB round trips in both directions at once,
//! gathered writes, end of stream and errors on each adapter, and the
//! `Faulty` wrapper (transparency, reproducible damage, cutting the link).
//!
//! Every test is bounded by `tokio::time::timeout`, as a failure guard only:
//! nothing here measures time.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use netcore_pipe::transport::{
    FaultConfig, FaultStats, Faulty, MemoryTransport, Transport, TransportRead, TransportWrite,
    blocking, from_fns, memory_pair,
};
use tokio::io::AsyncWrite;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

/// Failure guard for every test.
const GUARD: Duration = Duration::from_secs(120);

const MIB: usize = 1 << 20;

/// Runs `future`, failing the test if it has not finished within [`GUARD`].
async fn guarded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: still not finished after {GUARD:?} (failure guard)"),
    }
}

/// `len` reproducible pseudo-random bytes.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Asserts `got == want` without printing megabytes on failure.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(g, w)| g != w);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}

/// Writes `data` in chunks of varied sizes, then closes.
async fn send_all<W: TransportWrite>(mut writer: W, data: Vec<u8>, seed: u64) -> io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = rng.usize(1..=16 * 1024).min(rest.len());
        writer.write(&rest[..n]).await?;
        rest = &rest[n..];
    }
    writer.flush().await?;
    writer.close().await
}

/// Reads until end of stream, with varied buffer sizes.
async fn read_to_end<R: TransportRead>(mut reader: R) -> io::Result<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(99);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 20 * 1024];
    loop {
        let len = rng.usize(1..=buf.len());
        match reader.read(&mut buf[..len]).await? {
            0 => return Ok(got),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends about 1 MiB each way between `a` and `b`, both directions at once,
/// and checks what arrives.
async fn round_trip<A: Transport, B: Transport>(what: &str, a: A, b: B) {
    let a_data = pattern(1, MIB);
    let b_data = pattern(2, MIB + 17);
    let (a_reader, a_writer) = a.split();
    let (b_reader, b_writer) = b.split();
    let a_sends = tokio::spawn(send_all(a_writer, a_data.clone(), 10));
    let b_sends = tokio::spawn(send_all(b_writer, b_data.clone(), 20));
    let a_receives = tokio::spawn(read_to_end(a_reader));
    let b_receives = tokio::spawn(read_to_end(b_reader));
    let (a_sent, b_sent, a_got, b_got) = guarded(what, async {
        tokio::join!(a_sends, b_sends, a_receives, b_receives)
    })
    .await;
    a_sent.expect("a's writer task").expect("a sends");
    b_sent.expect("b's writer task").expect("b sends");
    let a_got = a_got.expect("a's reader task").expect("a receives");
    let b_got = b_got.expect("b's reader task").expect("b receives");
    assert_same(&b_got, &a_data, &format!("{what}: a -> b"));
    assert_same(&a_got, &b_data, &format!("{what}: b -> a"));
}

// ---------------------------------------------------------------------------
// Links under test.

/// A connected loopback TCP pair.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (connected, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
    (connected.expect("connect"), accepted.expect("accept").0)
}

/// One end of a `from_fns` link over tokio channels.
fn fn_end(to_peer: mpsc::Sender<Bytes>, from_peer: mpsc::Receiver<Bytes>) -> impl Transport {
    let from_peer = Arc::new(Mutex::new(from_peer));
    from_fns(
        move || {
            let from_peer = Arc::clone(&from_peer);
            async move { Ok(from_peer.lock().await.recv().await.unwrap_or_default()) }
        },
        move |chunk: Bytes| {
            let to_peer = to_peer.clone();
            async move {
                to_peer
                    .send(chunk)
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
            }
        },
    )
}

/// Two connected `from_fns` transports over tokio channels.
fn fn_pair() -> (impl Transport, impl Transport) {
    let (a_to_b, b_from_a) = mpsc::channel(4);
    let (b_to_a, a_from_b) = mpsc::channel(4);
    (fn_end(a_to_b, a_from_b), fn_end(b_to_a, b_from_a))
}

/// The writing side of a blocking socket, shut down for writing when dropped
/// (the read side holds a clone of the socket, so dropping alone would not
/// end the stream).
struct ShutdownOnDrop(UnixStream);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        let _ = self.0.shutdown(Shutdown::Write);
    }
}

/// One end of a `blocking` link over a blocking Unix socket.
fn blocking_over_socket(socket: UnixStream) -> impl Transport {
    let mut for_reading = socket.try_clone().expect("clone socket");
    let mut for_writing = ShutdownOnDrop(socket);
    blocking(
        move |buf: &mut [u8]| for_reading.read(buf),
        move |buf: &[u8]| for_writing.0.write_all(buf),
    )
}

/// Two connected `blocking` transports over a Unix socket pair.
fn blocking_socket_pair() -> (impl Transport, impl Transport) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    (blocking_over_socket(a), blocking_over_socket(b))
}

/// A blocking read function over a std channel of chunks, keeping the rest
/// of a chunk bigger than the buffer; a disconnected channel is end of stream.
fn std_channel_reader(
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
) -> impl FnMut(&mut [u8]) -> io::Result<usize> + Send + 'static {
    let mut pending = Vec::new();
    let mut at = 0;
    move |buf: &mut [u8]| {
        while at == pending.len() {
            match chunks.recv() {
                Ok(chunk) => (pending, at) = (chunk, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(pending.len() - at);
        buf[..n].copy_from_slice(&pending[at..at + n]);
        at += n;
        Ok(n)
    }
}

/// A blocking write function into a std channel of chunks.
fn std_channel_writer(
    chunks: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> impl FnMut(&[u8]) -> io::Result<()> + Send + 'static {
    move |buf: &[u8]| {
        chunks
            .send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

/// Two connected `blocking` transports over std channels.
fn blocking_channel_pair() -> (impl Transport, impl Transport) {
    let (a_to_b, b_from_a) = std::sync::mpsc::sync_channel(4);
    let (b_to_a, a_from_b) = std::sync::mpsc::sync_channel(4);
    (
        blocking(std_channel_reader(a_from_b), std_channel_writer(a_to_b)),
        blocking(std_channel_reader(b_from_a), std_channel_writer(b_to_a)),
    )
}

/// A hand-written transport, as a downstream crate would write one: checks
/// that the blanket implementations leave room for it.
struct ChannelLink {
    to_peer: mpsc::Sender<Bytes>,
    from_peer: mpsc::Receiver<Bytes>,
}

struct ChannelReader {
    from_peer: mpsc::Receiver<Bytes>,
    pending: Bytes,
}

struct ChannelWriter {
    to_peer: Option<mpsc::Sender<Bytes>>,
}

impl Transport for ChannelLink {
    type Reader = ChannelReader;
    type Writer = ChannelWriter;

    fn split(self) -> (ChannelReader, ChannelWriter) {
        (
            ChannelReader {
                from_peer: self.from_peer,
                pending: Bytes::new(),
            },
            ChannelWriter {
                to_peer: Some(self.to_peer),
            },
        )
    }
}

impl TransportRead for ChannelReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.from_peer.recv().await {
                Some(chunk) => self.pending = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

impl TransportWrite for ChannelWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        let to_peer = self.to_peer.as_ref().ok_or(io::ErrorKind::BrokenPipe)?;
        to_peer
            .send(Bytes::copy_from_slice(buf))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    async fn close(&mut self) -> io::Result<()> {
        self.to_peer = None;
        Ok(())
    }
}

fn channel_link_pair() -> (ChannelLink, ChannelLink) {
    let (a_to_b, b_from_a) = mpsc::channel(4);
    let (b_to_a, a_from_b) = mpsc::channel(4);
    (
        ChannelLink {
            to_peer: a_to_b,
            from_peer: a_from_b,
        },
        ChannelLink {
            to_peer: b_to_a,
            from_peer: b_from_a,
        },
    )
}

// ---------------------------------------------------------------------------
// Round trips.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pair_round_trip() {
    let (a, b) = memory_pair(64 * 1024);
    round_trip("memory_pair", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pair_with_a_tiny_buffer_round_trip() {
    let (a, b) = memory_pair(7);
    round_trip("memory_pair(7)", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_round_trip() {
    let (a, b) = guarded("tcp pair", tcp_pair()).await;
    round_trip("tcp", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_fns_round_trip() {
    let (a, b) = fn_pair();
    round_trip("from_fns", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_over_unix_sockets_round_trip() {
    let (a, b) = blocking_socket_pair();
    round_trip("blocking over UnixStream", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_over_std_channels_round_trip() {
    let (a, b) = blocking_channel_pair();
    round_trip("blocking over std mpsc", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_written_transport_round_trip() {
    let (a, b) = channel_link_pair();
    round_trip("hand-written transport", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_mix_round_trip() {
    // A blocking end talking to a tokio end over one Unix socket pair.
    let (a, b) = UnixStream::pair().expect("socket pair");
    b.set_nonblocking(true).expect("non-blocking");
    let b = tokio::net::UnixStream::from_std(b).expect("register with tokio");
    round_trip("blocking <-> tokio UnixStream", blocking_over_socket(a), b).await;
}

// ---------------------------------------------------------------------------
// Gathered writes.

/// Slices of varied sizes (empty ones included) and their concatenation.
fn slices() -> (Vec<Vec<u8>>, Vec<u8>) {
    let sizes = [0, 1, 2, 0, 3, 100, 0, 4096, 1, 70_000, 0, 5, 200_000, 13, 0];
    let data = pattern(3, sizes.iter().sum());
    let mut parts = Vec::new();
    let mut at = 0;
    for size in sizes {
        parts.push(data[at..at + size].to_vec());
        at += size;
    }
    (parts, data)
}

/// Three gathered writes from `a`, read back on `b`.
async fn check_vectored<A: Transport, B: Transport>(what: &str, a: A, b: B) {
    let (parts, data) = slices();
    let (_a_reader, mut a_writer) = a.split();
    let (b_reader, _b_writer) = b.split();
    let receiving = tokio::spawn(read_to_end(b_reader));
    guarded(what, async {
        for _ in 0..3 {
            let bufs: Vec<IoSlice<'_>> = parts.iter().map(|part| IoSlice::new(part)).collect();
            a_writer
                .write_vectored(&bufs)
                .await
                .expect("gathered write");
        }
        a_writer
            .write_vectored(&[])
            .await
            .expect("empty gathered write");
        a_writer.close().await.expect("close");
    })
    .await;
    let got = guarded(what, receiving)
        .await
        .expect("reader task")
        .expect("read");
    assert_same(&got, &data.repeat(3), what);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectored_writes_arrive_in_order() {
    let (a, b) = memory_pair(7);
    check_vectored("memory_pair(7)", a, b).await;
    let (a, b) = memory_pair(64 * 1024);
    check_vectored("memory_pair", a, b).await;
    let (a, b) = guarded("tcp pair", tcp_pair()).await;
    check_vectored("tcp", a, b).await;
    let (a, b) = fn_pair();
    check_vectored("from_fns", a, b).await;
    let (a, b) = blocking_socket_pair();
    check_vectored("blocking", a, b).await;
    let (a, b) = channel_link_pair();
    check_vectored("default write_vectored", a, b).await;
    let (a, b) = memory_pair(7);
    let a = Faulty::new(a, FaultConfig::clean(1));
    check_vectored("Faulty, clean", a, b).await;
}

/// A tokio writer that takes at most 5 bytes per call, gathered across
/// slices, so every gathered write resumes in the middle of a slice.
#[derive(Default)]
struct Trickle {
    got: Vec<u8>,
    calls: usize,
}

impl AsyncWrite for Trickle {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.calls += 1;
        let mut taken = 0;
        for buf in bufs {
            let n = buf.len().min(5 - taken);
            this.got.extend_from_slice(&buf[..n]);
            taken += n;
            if taken == 5 {
                break;
            }
        }
        Poll::Ready(Ok(taken))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn gathered_write_resumes_partial_writes_across_slices() {
    let (parts, data) = slices();
    let small: Vec<&[u8]> = parts
        .iter()
        .map(|part| &part[..part.len().min(9)])
        .collect();
    let want: Vec<u8> = small.concat();
    let bufs: Vec<IoSlice<'_>> = small.iter().map(|part| IoSlice::new(part)).collect();
    let mut trickle = Trickle::default();
    guarded(
        "trickle",
        TransportWrite::write_vectored(&mut trickle, &bufs),
    )
    .await
    .expect("gathered write");
    assert_same(&trickle.got, &want, "trickle");
    assert_eq!(trickle.calls, want.len().div_ceil(5));
    assert!(data.len() > want.len());
}

// ---------------------------------------------------------------------------
// End of stream and errors.

/// Reads once from `reader`, expecting end of stream, twice (it stays there).
async fn expect_eof<R: TransportRead>(what: &str, reader: &mut R) {
    let mut buf = [0u8; 64];
    for _ in 0..2 {
        let n = guarded(what, reader.read(&mut buf)).await.expect("read");
        assert_eq!(n, 0, "{what}: expected end of stream");
    }
}

/// `a` writes a little and closes; `b` reads it, then end of stream.
async fn check_close_gives_eof<A: Transport, B: Transport>(what: &str, a: A, b: B) {
    let (_a_reader, mut a_writer) = a.split();
    let (mut b_reader, _b_writer) = b.split();
    guarded(what, async {
        a_writer.write(b"last words").await.expect("write");
        a_writer.close().await.expect("close");
    })
    .await;
    let mut got = [0u8; 10];
    let mut at = 0;
    while at < got.len() {
        let n = guarded(what, b_reader.read(&mut got[at..]))
            .await
            .expect("read");
        assert_ne!(n, 0, "{what}: end of stream before the data");
        at += n;
    }
    assert_eq!(&got, b"last words");
    expect_eof(what, &mut b_reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_gives_the_peer_eof_on_each_adapter() {
    let (a, b) = memory_pair(1024);
    check_close_gives_eof("memory_pair", a, b).await;
    let (a, b) = guarded("tcp pair", tcp_pair()).await;
    check_close_gives_eof("tcp", a, b).await;
    let (a, b) = fn_pair();
    check_close_gives_eof("from_fns", a, b).await;
    let (a, b) = blocking_channel_pair();
    check_close_gives_eof("blocking over std mpsc", a, b).await;
    let (a, b) = memory_pair(1024);
    check_close_gives_eof("Faulty, clean", Faulty::new(a, FaultConfig::clean(3)), b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_memory_end_gives_the_other_eof() {
    let (a, b): (MemoryTransport, MemoryTransport) = memory_pair(1024);
    drop(a);
    let (mut b_reader, _b_writer) = b.split();
    expect_eof("memory_pair after drop", &mut b_reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_tcp_end_gives_the_other_eof() {
    let (a, b) = guarded("tcp pair", tcp_pair()).await;
    drop(a);
    let (mut b_reader, _b_writer) = b.split();
    expect_eof("tcp after drop", &mut b_reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_fns_empty_chunk_is_eof_and_recv_is_not_called_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let chunks = Arc::new(Mutex::new(vec![
        Bytes::new(),
        Bytes::from_static(b"123456789"),
    ]));
    let link = from_fns(
        move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let chunks = Arc::clone(&chunks);
            async move { Ok(chunks.lock().await.pop().unwrap_or_default()) }
        },
        |_chunk: Bytes| async { Ok(()) },
    );
    let (mut reader, _writer) = link.split();
    // A chunk bigger than the buffer is served over several reads.
    let mut got = Vec::new();
    let mut buf = [0u8; 4];
    while got.len() < 9 {
        let n = guarded("from_fns", reader.read(&mut buf))
            .await
            .expect("read");
        assert_ne!(n, 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"123456789");
    expect_eof("from_fns", &mut reader).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "recv called after end of stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_fns_errors_pass_through_and_closed_writer_fails() {
    let link = from_fns(
        || async { Err::<Bytes, _>(io::Error::other("radio off")) },
        |_chunk: Bytes| async { Err(io::Error::new(io::ErrorKind::TimedOut, "no ack")) },
    );
    let (mut reader, mut writer) = link.split();
    let error = guarded("read", reader.read(&mut [0u8; 8]))
        .await
        .expect_err("recv fails");
    assert_eq!(error.to_string(), "radio off");
    let error = guarded("write", writer.write(b"x"))
        .await
        .expect_err("send fails");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    guarded("close", writer.close()).await.expect("close");
    let error = guarded("write after close", writer.write(b"x"))
        .await
        .expect_err("closed");
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_read_eof_and_error_propagate() {
    // End of stream from the read function.
    let mut calls = 0;
    let link = blocking(
        move |buf: &mut [u8]| {
            calls += 1;
            if calls == 1 {
                buf[..3].copy_from_slice(b"abc");
                Ok(3)
            } else {
                Ok(0)
            }
        },
        |_buf: &[u8]| Ok(()),
    );
    let (mut reader, _writer) = link.split();
    let mut buf = [0u8; 8];
    let n = guarded("blocking read", reader.read(&mut buf))
        .await
        .expect("read");
    assert_eq!(&buf[..n], b"abc");
    expect_eof("blocking", &mut reader).await;

    // An error from the read function, after some data; Interrupted and
    // TimedOut are retried, not reported.
    let mut calls = 0;
    let link = blocking(
        move |buf: &mut [u8]| {
            calls += 1;
            match calls {
                1 => {
                    buf[0] = 7;
                    Ok(1)
                }
                2 => Err(io::ErrorKind::Interrupted.into()),
                3 => Err(io::ErrorKind::TimedOut.into()),
                _ => Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "device unplugged",
                )),
            }
        },
        |_buf: &[u8]| Ok(()),
    );
    let (mut reader, _writer) = link.split();
    let n = guarded("blocking read", reader.read(&mut buf))
        .await
        .expect("read");
    assert_eq!(&buf[..n], &[7]);
    for _ in 0..2 {
        let error = guarded("blocking read", reader.read(&mut buf))
            .await
            .expect_err("device unplugged");
        assert_eq!(error.kind(), io::ErrorKind::NotConnected);
        assert_eq!(error.to_string(), "device unplugged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_write_error_surfaces_by_flush_at_the_latest() {
    let link = blocking(
        |_buf: &mut [u8]| Ok(0),
        |_buf: &[u8]| {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "read-only device",
            ))
        },
    );
    let (_reader, mut writer) = link.split();
    // The write is only queued; its failure is reported by this write or a
    // later call, by flush at the latest.
    let written = guarded("write", writer.write(b"data")).await;
    let error = match written {
        Err(error) => error,
        Ok(()) => guarded("flush", writer.flush())
            .await
            .expect_err("flush reports the failure"),
    };
    assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(error.to_string(), "read-only device");
    for _ in 0..2 {
        let error = guarded("write again", writer.write(b"more"))
            .await
            .expect_err("still failed");
        assert_eq!(error.to_string(), "read-only device");
    }
    let error = guarded("flush again", writer.flush())
        .await
        .expect_err("still failed");
    assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_flush_waits_until_the_write_function_ran() {
    let (chunks, arrived) = std::sync::mpsc::sync_channel(64);
    let link = blocking(|_buf: &mut [u8]| Ok(0), std_channel_writer(chunks));
    let (_reader, mut writer) = link.split();
    guarded("write and flush", async {
        writer.write(b"one").await.expect("write");
        writer.write(&[b'x'; 100_000]).await.expect("write");
        writer.flush().await.expect("flush");
    })
    .await;
    let got: Vec<u8> = arrived.try_iter().flatten().collect();
    assert_eq!(
        got.len(),
        100_003,
        "flush returned before the bytes reached the function"
    );
    guarded("close", writer.close()).await.expect("close");
    guarded("close again", writer.close())
        .await
        .expect("close is idempotent");
    let error = guarded("write after close", writer.write(b"late"))
        .await
        .expect_err("closed");
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_threads_are_named_and_end_when_the_halves_are_dropped() {
    // Each function holds a sender: when its thread ends and drops the
    // function, the matching receiver disconnects.
    let (read_alive, read_ended) = std::sync::mpsc::channel::<Option<String>>();
    let (write_alive, write_ended) = std::sync::mpsc::channel::<Option<String>>();
    let link = blocking(
        move |_buf: &mut [u8]| {
            let name = std::thread::current().name().map(str::to_owned);
            read_alive.send(name).expect("test alive");
            // A device with a read timeout: no data this time.
            std::thread::sleep(Duration::from_millis(1));
            Err(io::ErrorKind::TimedOut.into())
        },
        move |_buf: &[u8]| {
            let name = std::thread::current().name().map(str::to_owned);
            write_alive.send(name).expect("test alive");
            Ok(())
        },
    );
    let (reader, mut writer) = link.split();
    guarded("write", async {
        writer.write(b"hi").await.expect("write");
        writer.flush().await.expect("flush");
    })
    .await;
    // Let the read function run at least once before the reader goes away.
    let (first, read_ended) = guarded(
        "first read",
        tokio::task::spawn_blocking(move || (read_ended.recv(), read_ended)),
    )
    .await
    .expect("first read task");
    let first = first.expect("the read function runs");
    drop(reader);
    drop(writer);
    let (read_names, write_names) = guarded(
        "threads end",
        tokio::task::spawn_blocking(move || {
            let read_names: Vec<_> = read_ended.iter().collect();
            let write_names: Vec<_> = write_ended.iter().collect();
            (read_names, write_names)
        }),
    )
    .await
    .expect("collector task");
    assert_eq!(first.as_deref(), Some("netcore-blocking-read"));
    assert!(
        read_names
            .iter()
            .all(|name| name.as_deref() == Some("netcore-blocking-read"))
    );
    assert_eq!(write_names, vec![Some("netcore-blocking-write".to_owned())]);
}

// ---------------------------------------------------------------------------
// Faulty.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_with_zero_rates_is_transparent() {
    let (a, b) = memory_pair(64 * 1024);
    let a = Faulty::new(a, FaultConfig::clean(11));
    let b = Faulty::new(
        b,
        FaultConfig::clean(12)
            .drop_rate(0.0)
            .flip_rate(0.0)
            .insert_rate(0.0),
    );
    let (a_stats, b_stats) = (a.stats(), b.stats());
    round_trip("Faulty, clean", a, b).await;
    for (stats, sent) in [(a_stats, MIB), (b_stats, MIB + 17)] {
        assert_eq!(stats.faults(), 0);
        assert_eq!(stats.delivered(), sent as u64);
    }
}

/// Sends `data` through a Faulty link with `config`, cut into writes of
/// `write_size`; returns what the peer read and the stats.
async fn damaged(config: FaultConfig, data: &[u8], write_size: usize) -> (Vec<u8>, FaultStats) {
    let (a, b) = memory_pair(16 * 1024);
    let a = Faulty::new(a, config);
    let stats = a.stats();
    let (_a_reader, mut a_writer) = a.split();
    let (b_reader, _b_writer) = b.split();
    let receiving = tokio::spawn(read_to_end(b_reader));
    guarded("damaged writes", async {
        for chunk in data.chunks(write_size) {
            a_writer.write(chunk).await.expect("write");
        }
        a_writer.close().await.expect("close");
    })
    .await;
    let got = guarded("damaged reads", receiving)
        .await
        .expect("reader task")
        .expect("read");
    (got, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_damage_is_reproducible_and_counted() {
    let data = pattern(4, 256 * 1024);
    let config = FaultConfig::clean(2024)
        .drop_rate(0.001)
        .flip_rate(0.002)
        .insert_rate(0.001);

    let (first, first_stats) = damaged(config, &data, 1000).await;
    // Same seed, same bytes, written in different pieces: same damage.
    let (second, second_stats) = damaged(config, &data, 4093).await;
    assert_same(&second, &first, "same seed");
    assert_eq!(
        (
            first_stats.dropped(),
            first_stats.flipped(),
            first_stats.inserted()
        ),
        (
            second_stats.dropped(),
            second_stats.flipped(),
            second_stats.inserted()
        )
    );
    assert!(first_stats.dropped() > 0);
    assert!(first_stats.flipped() > 0);
    assert!(first_stats.inserted() > 0);
    assert_eq!(
        first.len() as u64,
        data.len() as u64 - first_stats.dropped() + first_stats.inserted()
    );
    assert_eq!(first_stats.delivered(), first.len() as u64);
    assert_ne!(first, data);

    // Another seed: other damage.
    let (other, _) = damaged(config.with_seed(2025), &data, 1000).await;
    assert_ne!(other, first);

    // Flips alone keep the length and change exactly one bit per counted flip.
    let (flipped, stats) = damaged(FaultConfig::clean(5).flip_rate(0.01), &data, 777).await;
    assert_eq!(flipped.len(), data.len());
    let bits: u64 = flipped
        .iter()
        .zip(&data)
        .map(|(got, sent)| u64::from((got ^ sent).count_ones()))
        .sum();
    assert!(stats.flipped() > 0);
    assert_eq!(bits, stats.flipped());
    assert_eq!((stats.dropped(), stats.inserted()), (0, 0));

    // Every byte dropped: nothing arrives.
    let (nothing, stats) = damaged(FaultConfig::clean(6).drop_rate(1.0), &data[..1000], 100).await;
    assert!(nothing.is_empty());
    assert_eq!(stats.dropped(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_cut_after_delivers_exactly_n_bytes_then_aborts() {
    const N: u64 = 1000;
    let data = pattern(5, 3000);
    let (a, b) = memory_pair(64 * 1024);
    let a = Faulty::new(a, FaultConfig::clean(9).cut_after(N));
    let (mut a_reader, mut a_writer) = a.split();
    let (b_reader, _b_writer) = b.split();
    let receiving = tokio::spawn(read_to_end(b_reader));
    // A read waiting on the Faulty side when the cut happens.
    let waiting = tokio::spawn(async move {
        let mut buf = [0u8; 16];
        let error = a_reader
            .read(&mut buf)
            .await
            .expect_err("cut while waiting");
        (error, a_reader)
    });
    tokio::task::yield_now().await;

    guarded("writes before the cut", a_writer.write(&data[..600]))
        .await
        .expect("below the cut");
    assert!(!a_writer.is_cut());
    let error = guarded("write across the cut", a_writer.write(&data[600..1200]))
        .await
        .expect_err("the cut");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    assert_eq!(error.to_string(), "link cut by Faulty after 1000 bytes");
    assert!(a_writer.is_cut());
    for _ in 0..2 {
        let error = guarded("write after the cut", a_writer.write(b"more"))
            .await
            .expect_err("still cut");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    }
    let error = guarded("flush after the cut", a_writer.flush())
        .await
        .expect_err("still cut");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);

    // The peer: exactly the first N bytes, then end of stream.
    let got = guarded("peer reads", receiving)
        .await
        .expect("reader task")
        .expect("read");
    assert_same(&got, &data[..N as usize], "bytes before the cut");

    // This side's reader: the waiting read, and every later one, abort.
    let (error, mut a_reader) = guarded("waiting read", waiting).await.expect("task");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    let error = guarded("read after the cut", a_reader.read(&mut [0u8; 4]))
        .await
        .expect_err("cut");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_cut_after_counts_damaged_bytes() {
    // With damage, the cut still comes after exactly N delivered bytes.
    const N: u64 = 5000;
    let data = pattern(6, 20_000);
    let config = FaultConfig::clean(77)
        .insert_rate(0.01)
        .drop_rate(0.01)
        .cut_after(N);
    let (a, b) = memory_pair(64 * 1024);
    let a = Faulty::new(a, config);
    let stats = a.stats();
    let (_a_reader, mut a_writer) = a.split();
    let (b_reader, _b_writer) = b.split();
    let receiving = tokio::spawn(read_to_end(b_reader));
    let error = guarded("writes", async {
        for chunk in data.chunks(999) {
            if let Err(error) = a_writer.write(chunk).await {
                return error;
            }
        }
        panic!("the link was never cut");
    })
    .await;
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    let got = guarded("peer reads", receiving)
        .await
        .expect("reader task")
        .expect("read");
    assert_eq!(got.len() as u64, N);
    assert_eq!(stats.delivered(), N);

    // cut_after(0): the first write cuts, the peer sees only end of stream.
    let (a, b) = memory_pair(1024);
    let (_a_reader, mut a_writer) = Faulty::new(a, FaultConfig::clean(0).cut_after(0)).split();
    let (mut b_reader, _b_writer) = b.split();
    let error = guarded("write", a_writer.write(b"x"))
        .await
        .expect_err("cut at once");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    expect_eof("peer after cut_after(0)", &mut b_reader).await;
}

#[test]
#[should_panic(expected = "flip_rate must be within 0.0..=1.0")]
fn fault_rates_are_checked() {
    let _ = FaultConfig::clean(0).flip_rate(1.5);
}
