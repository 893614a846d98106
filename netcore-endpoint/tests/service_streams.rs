//! `#[service]` methods whose bodies stream (issue #17): a `Streamed`
//! argument makes an upload, a `Body` answer a download, both a duplex
//! call; the generated client streams the same way, and dropping its reply
//! stops the implementation's stream. Timeouts are failure guards only.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use netcore_endpoint::{
    CallError, EndpointConfig, ReplyError, Route, Router, StreamSide, Streamed, service,
};
use netcore_pipe::{Body, SendError};
use serde::{Deserialize, Serialize};

mod common;

use common::{connect, guard};

const CHUNK: usize = 64 << 10;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    name: String,
    bytes: u64,
}

/// A store of blobs, streamed both ways.
#[service(prefix = "/blobs")]
trait Blobs {
    /// Stores an upload under `name` (its bytes are counted).
    async fn put(&self, name: String, body: Streamed) -> Result<Stored, ReplyError>;
    /// `size` bytes of `byte`, or an endless stream when `size` is 0.
    async fn get(&self, size: u64, byte: u8) -> Result<Body, ReplyError>;
    /// The upload back, each byte plus `add` (the body comes first here:
    /// argument order is kept).
    async fn shift(&self, body: Streamed, add: u8) -> Result<Body, ReplyError>;
    /// A plain call beside the streaming ones.
    async fn ping(&self) -> Result<String, ReplyError>;
}

/// Sets its flag when the stream holding it is dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Memory {
    /// Set once an endless download's stream has been dropped.
    endless_dropped: Arc<AtomicBool>,
}

impl Blobs for Memory {
    async fn put(&self, name: String, Streamed(mut body): Streamed) -> Result<Stored, ReplyError> {
        let mut bytes = 0;
        while let Some(chunk) = body.next().await {
            bytes += chunk
                .map_err(|error| ReplyError::bad_request(error.to_string()))?
                .len() as u64;
        }
        Ok(Stored { name, bytes })
    }

    async fn get(&self, size: u64, byte: u8) -> Result<Body, ReplyError> {
        if size == 0 {
            let flag = DropFlag(Arc::clone(&self.endless_dropped));
            return Ok(Body::stream(futures::stream::repeat_with(move || {
                let _held = &flag;
                Ok(Bytes::from(vec![byte; CHUNK]))
            })));
        }
        let chunks = size.div_ceil(CHUNK as u64);
        Ok(Body::stream(futures::stream::iter(0..chunks).map(
            move |i| {
                let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
                Ok(Bytes::from(vec![byte; len]))
            },
        )))
    }

    async fn shift(&self, Streamed(body): Streamed, add: u8) -> Result<Body, ReplyError> {
        Ok(Body::stream(body.map(move |chunk| {
            chunk
                .map(|chunk| chunk.iter().map(|b| b.wrapping_add(add)).collect::<Bytes>())
                .map_err(io::Error::other)
        })))
    }

    async fn ping(&self) -> Result<String, ReplyError> {
        Ok("pong".to_owned())
    }
}

fn start(memory: Memory) -> (netcore_endpoint::Endpoint, netcore_endpoint::Endpoint) {
    let routes = blobs::serve(Router::new(), memory).build().expect("routes");
    connect(routes, EndpointConfig::default())
}

#[test]
fn each_method_s_route_says_which_bodies_stream() {
    assert_eq!(blobs::Put::STREAM, StreamSide::Request);
    assert_eq!(blobs::Get::STREAM, StreamSide::Response);
    assert_eq!(blobs::Shift::STREAM, StreamSide::Both);
    assert_eq!(blobs::Ping::STREAM, StreamSide::None);
    assert_eq!(blobs::Put::PATH, "/blobs/put");
    assert_eq!(blobs::Shift::PATH, "/blobs/shift");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_upload_streams_its_body() {
    let (_server, client) = start(Memory::default());
    let blobs = blobs::Client::new(client.peer().clone());
    let upload = Body::stream(futures::stream::iter(
        (0..64).map(|_| Ok::<_, io::Error>(Bytes::from(vec![7u8; CHUNK]))),
    ));
    let stored = guard(blobs.put("a.bin".to_owned(), upload))
        .await
        .expect("stored");
    assert_eq!(
        stored,
        Stored {
            name: "a.bin".to_owned(),
            bytes: 64 * CHUNK as u64
        }
    );
    // Plain bytes make a body too.
    let stored = guard(blobs.put("b.txt".to_owned(), "hello"))
        .await
        .expect("stored");
    assert_eq!(stored.bytes, 5);
    assert_eq!(guard(blobs.ping()).await.expect("pong"), "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_download_arrives_as_a_stream() {
    let (_server, client) = start(Memory::default());
    let blobs = blobs::Client::new(client.peer().clone());
    let size = 9 * CHUNK as u64 + 3;
    let mut reply = guard(blobs.get(size, 42)).await.expect("head");
    let mut got = 0u64;
    while let Some(chunk) = guard(reply.next()).await {
        let chunk = chunk.expect("chunk");
        assert!(chunk.iter().all(|&b| b == 42));
        got += chunk.len() as u64;
    }
    assert_eq!(got, size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_duplex_call_keeps_argument_order_and_streams_both_ways() {
    let (_server, client) = start(Memory::default());
    let blobs = blobs::Client::new(client.peer().clone());
    let upload = Body::stream(futures::stream::iter(
        (0..32u8).map(|i| Ok::<_, io::Error>(Bytes::from(vec![i; CHUNK]))),
    ));
    let reply = guard(blobs.shift(upload, 10)).await.expect("head");
    let body = guard(reply.bytes()).await.expect("body");
    assert_eq!(body.len(), 32 * CHUNK);
    for (i, chunk) in body.chunks(CHUNK).enumerate() {
        assert!(chunk.iter().all(|&b| b == i as u8 + 10), "chunk {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_service_download_stops_the_implementation_s_stream() {
    let memory = Memory::default();
    let dropped = Arc::clone(&memory.endless_dropped);
    let (_server, client) = start(memory);
    let blobs = blobs::Client::new(client.peer().clone());
    let mut reply = guard(blobs.get(0, 1)).await.expect("head");
    for _ in 0..8 {
        guard(reply.next()).await.expect("a chunk").expect("ok");
    }
    assert!(
        !dropped.load(Ordering::SeqCst),
        "the stream runs while read"
    );
    drop(reply);
    guard(async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    // The connection carries on.
    assert_eq!(guard(blobs.ping()).await.expect("pong"), "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upload_stream_fails_the_call_not_the_connection() {
    let (_server, client) = start(Memory::default());
    let blobs = blobs::Client::new(client.peer().clone());
    let upload = Body::stream(futures::stream::iter([
        Ok(Bytes::from(vec![1u8; CHUNK])),
        Err(io::Error::other("the disk went away")),
    ]));
    let result = guard(blobs.put("c.bin".to_owned(), upload)).await;
    // The caller learns the local cause, not the peer's view of it (the
    // message cancelled).
    match &result {
        Err(error @ CallError::Send(SendError::Body(_))) => {
            assert!(error.to_string().contains("the disk went away"), "{error}");
        }
        other => panic!("the upload's own failure is reported: {other:?}"),
    }
    assert_eq!(guard(blobs.ping()).await.expect("pong"), "pong");
}
