//! Streams both ways (issue #17): a handler answers with a stream or a
//! file, a caller receives a reply as a stream or saves it to a file, a
//! duplex call streams both bodies at once, and dropping either side stops
//! both. Timeouts are failure guards only.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use netcore_endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, ReplyCode, Router, Routes, State, Streamed,
    StreamedResponse,
};
use netcore_pipe::Body;
use tokio::sync::mpsc;

const CHUNK: usize = 64 << 10;

mod common;

use common::{connect, guard};

/// Chunk `i` of a generated body: its bytes say where they are.
fn chunk(i: usize) -> Bytes {
    Bytes::from(vec![(i % 251) as u8; CHUNK])
}

/// Sets its flag when dropped: tells whether a stream was let go.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `count` generated chunks (endless for `None`), noting each one produced
/// and, dropped, setting `dropped`.
fn generated(
    count: Option<usize>,
    produced: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let flag = DropFlag(dropped);
    futures::stream::iter(0..count.unwrap_or(usize::MAX)).map(move |i| {
        let _keep = &flag;
        produced.fetch_add(1, Ordering::SeqCst);
        Ok(chunk(i))
    })
}

#[derive(Clone, Default)]
struct Watch {
    produced: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

/// 128 chunks (8 MiB) made as they are sent.
async fn download(State(watch): State<Watch>) -> Body {
    Body::stream(generated(
        Some(128),
        watch.produced.clone(),
        watch.dropped.clone(),
    ))
}

/// Chunks for ever, until the caller stops it.
async fn endless(State(watch): State<Watch>) -> Body {
    Body::stream(generated(
        None,
        watch.produced.clone(),
        watch.dropped.clone(),
    ))
}

/// Each request chunk back as it arrives (a duplex echo).
async fn echo_stream(Streamed(body): Streamed) -> Body {
    Body::stream(body.map(|chunk| chunk.map_err(io::Error::other)))
}

/// A file of 3 MiB + 5 bytes, sent as it is read.
async fn file(
    State(path): State<Arc<std::path::PathBuf>>,
) -> Result<Body, netcore_endpoint::ReplyError> {
    Body::file(path.as_path())
        .await
        .map_err(|error| netcore_endpoint::ReplyError::internal(error.to_string()))
}

fn routes(watch: &Watch) -> Routes {
    Router::with_state(watch.clone())
        .route("/download", download)
        .route("/endless", endless)
        .route("/echo", echo_stream)
        .build()
        .expect("routes")
}

fn check_generated(body: &[u8], chunks: usize) {
    assert_eq!(body.len(), chunks * CHUNK);
    for (i, piece) in body.chunks(CHUNK).enumerate() {
        assert!(
            piece.iter().all(|&b| b == (i % 251) as u8),
            "chunk {i} damaged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_reply_arrives_as_a_stream_and_whole() {
    let watch = Watch::default();
    let (_server, client) = connect(routes(&watch), EndpointConfig::default());
    let mut reply = download_head(&client, "/download").await;
    assert_eq!(reply.len(), None, "a stream of unknown length");
    let mut body = Vec::new();
    while let Some(piece) = guard(reply.next()).await {
        body.extend_from_slice(&piece.expect("chunk"));
    }
    check_generated(&body, 128);
    // The same route called for a whole reply.
    let whole = guard(client.peer().call("/download", ""))
        .await
        .expect("reply");
    check_generated(&whole.body, 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_reply_is_saved_to_a_file() {
    let dir = std::env::temp_dir().join(format!("netcore-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let source = dir.join("source.bin");
    let contents: Vec<u8> = (0..(3 << 20) + 5).map(|i: u32| (i % 253) as u8).collect();
    std::fs::write(&source, &contents).expect("source");
    let routes = Router::with_state(Arc::new(source))
        .route("/file", file)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, EndpointConfig::default());
    let reply = download_head(&client, "/file").await;
    assert_eq!(
        reply.len(),
        Some(contents.len() as u64),
        "a file's length is announced"
    );
    let target = dir.join("saved.bin");
    let saved = guard(reply.save(&target)).await.expect("saved");
    assert_eq!(saved, contents.len() as u64);
    assert!(std::fs::read(&target).expect("saved file") == contents);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplex_call_streams_both_bodies_at_once() {
    let watch = Watch::default();
    let (_server, client) = connect(routes(&watch), EndpointConfig::default());
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(1);
    let upload = Body::stream(tokio_stream_from(rx));
    let mut reply = guard(
        client
            .peer()
            .call_streamed("/echo", upload, CallOptions::default()),
    )
    .await
    .expect("head");
    // Each chunk comes back before the next is sent: both bodies are open
    // at once.
    for i in 0..32 {
        tx.send(Ok(chunk(i))).await.expect("upload open");
        let mut back = 0;
        while back < CHUNK {
            let piece = guard(reply.next())
                .await
                .expect("echo open")
                .expect("chunk");
            assert!(piece.iter().all(|&b| b == (i % 251) as u8));
            back += piece.len();
        }
        assert_eq!(back, CHUNK);
    }
    drop(tx);
    assert!(
        guard(reply.next()).await.is_none(),
        "the echo ends with the upload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_streamed_reply_stops_both_sides() {
    let watch = Watch::default();
    let (server, client) = connect(routes(&watch), EndpointConfig::default());
    // An endless upload to an endless echo; the caller reads a little.
    let (uploaded, mut reply) = with_endless_upload(&client, "/echo").await;
    for _ in 0..16 {
        guard(reply.next()).await.expect("open").expect("chunk");
    }
    drop(reply);
    // Both bodies stop: the upload's source is dropped here, the echo's
    // (which holds the request stream) there, and the request's place is
    // given back.
    guard(async {
        while !uploaded.dropped.load(Ordering::SeqCst) || server.requests_held().0 != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let produced = uploaded.produced.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        uploaded.produced.load(Ordering::SeqCst),
        produced,
        "still uploading"
    );
    // The same for a download alone.
    let mut reply = download_head(&client, "/endless").await;
    guard(reply.next()).await.expect("open").expect("chunk");
    drop(reply);
    guard(async {
        while !watch.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        client.peer().call("/download", "").await.is_ok(),
        "the connection goes on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_reply_fails_a_streamed_call() {
    let watch = Watch::default();
    let (_server, client) = connect(routes(&watch), EndpointConfig::default());
    let result = guard(
        client
            .peer()
            .call_streamed("/missing", "", CallOptions::default()),
    )
    .await;
    match result {
        Err(error @ CallError::Remote(_)) => {
            assert_eq!(error.code(), Some(ReplyCode::NOT_FOUND), "{error}")
        }
        other => panic!("not a refusal: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_streamed_reply_outlives_the_deadline_while_it_flows() {
    // 20 chunks, 100 ms apart: 2 s of download for a call whose timeout
    // (and so deadline at the server) is 500 ms. The deadline bounds the
    // wait for the head; the body flows as long as it makes progress.
    async fn slow() -> Body {
        Body::stream(futures::stream::iter(0..20).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, io::Error>(chunk(i))
        }))
    }
    let routes = Router::new().route("/slow", slow).build().expect("routes");
    let (_server, client) = connect(routes, EndpointConfig::default());
    let options = CallOptions::default().with_timeout(Some(Duration::from_millis(500)));
    let reply = guard(client.peer().call_streamed("/slow", "", options))
        .await
        .expect("head");
    let body = guard(reply.bytes()).await.expect("the whole body");
    check_generated(&body, 20);
}

#[tokio::test(start_paused = true)]
async fn a_streamed_reply_nobody_reads_is_given_up_at_the_reply_timeout() {
    let watch = Watch::default();
    let config = EndpointConfig::default().with_reply_timeout(Some(Duration::from_secs(5)));
    let (server, client) = connect(routes(&watch), config);
    let mut reply = download_head(&client, "/endless").await;
    // Never read: flow control stops the sender, and nothing moves.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.requests_held().0, 1, "within the reply timeout");
    assert!(!watch.dropped.load(Ordering::SeqCst));
    guard(async {
        while server.requests_held().0 != 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(watch.dropped.load(Ordering::SeqCst), "the stream let go");
    // The caller sees the reply end in an error, after what had come.
    let mut failed = false;
    while let Some(piece) = guard(reply.next()).await {
        if piece.is_err() {
            failed = true;
            break;
        }
    }
    assert!(
        failed,
        "a reply given up ends in an error, not as if complete"
    );
}

/// A duplex call to `route` whose upload is endless: the caller's watch of
/// its upload, and the reply.
async fn with_endless_upload(client: &Endpoint, route: &str) -> (Watch, StreamedResponse) {
    let uploaded = Watch::default();
    let upload = Body::stream(generated(
        None,
        uploaded.produced.clone(),
        uploaded.dropped.clone(),
    ));
    let reply = guard(
        client
            .peer()
            .call_streamed(route, upload, CallOptions::default()),
    )
    .await
    .expect("head");
    (uploaded, reply)
}

/// A streamed call to `route` with no request body: the reply once its
/// head is in.
async fn download_head(client: &Endpoint, route: &str) -> StreamedResponse {
    guard(
        client
            .peer()
            .call_streamed(route, "", CallOptions::default()),
    )
    .await
    .expect("head")
}

/// A channel receiver as a stream.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_stream_that_fails_ends_the_reply_in_an_error_and_stops_the_upload() {
    // The echo fails after four chunks: the caller's reply ends in an
    // error (never as if complete), and its endless upload stops.
    async fn failing_echo(Streamed(body): Streamed) -> Body {
        Body::stream(
            body.take(4)
                .map(|chunk| chunk.map_err(io::Error::other))
                .chain(futures::stream::once(async {
                    Err(io::Error::other("the handler's source failed"))
                })),
        )
    }
    let routes = Router::new()
        .route("/failing", failing_echo)
        .build()
        .expect("routes");
    let (_server, client) = connect(routes, EndpointConfig::default());
    let (uploaded, mut reply) = with_endless_upload(&client, "/failing").await;
    let mut got = 0;
    let ended_in_error = loop {
        match guard(reply.next()).await {
            Some(Ok(piece)) => got += piece.len(),
            Some(Err(_)) => break true,
            None => break false,
        }
    };
    assert!(
        ended_in_error,
        "a failed reply looked complete after {got} bytes"
    );
    assert!(got <= 4 * CHUNK, "{got} bytes");
    guard(async {
        while !uploaded.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
