//! Typed routes that stream (issue #17): `stream = request` (an upload),
//! `stream = response` (a download) and `stream = both` (a duplex call),
//! served with `Router::typed` / `Router::typed_stream` and called with
//! `call_typed_upload` / `call_typed_download` / `call_typed_duplex`.
//! Timeouts are failure guards only.

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use netcore_endpoint::{
    ARGS, CallError, CallOptions, EndpointConfig, ReplyCode, ReplyError, Route, Router, StreamSide,
    Streamed,
};
use netcore_pipe::Body;
use serde::{Deserialize, Serialize};

mod common;

use common::{connect, guard};

const CHUNK: usize = 64 << 10;

/// An upload: the file's name as the route value, its bytes as a stream.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/files/put", response = Stored, stream = request)]
struct Put {
    name: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    name: String,
    bytes: u64,
}

/// A download of `size` bytes of `byte`.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/files/get", stream = response)]
struct Get {
    size: u64,
    byte: u8,
}

/// Each chunk of the upload back, each byte plus `add`.
#[derive(Debug, Serialize, Deserialize, Route)]
#[route(path = "/files/shift", stream = both)]
struct Shift {
    add: u8,
}

async fn put(put: Put, Streamed(mut body): Streamed) -> Result<Stored, ReplyError> {
    let mut bytes = 0;
    while let Some(chunk) = body.next().await {
        bytes += chunk
            .map_err(|error| ReplyError::bad_request(error.to_string()))?
            .len() as u64;
    }
    Ok(Stored {
        name: put.name,
        bytes,
    })
}

async fn get(get: Get) -> Result<Body, ReplyError> {
    let chunks = get.size.div_ceil(CHUNK as u64);
    let (size, byte) = (get.size, get.byte);
    Ok(Body::stream(futures::stream::iter(0..chunks).map(
        move |i| {
            let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
            Ok(Bytes::from(vec![byte; len]))
        },
    )))
}

async fn shift(shift: Shift, Streamed(body): Streamed) -> Result<Body, ReplyError> {
    let add = shift.add;
    Ok(Body::stream(body.map(move |chunk| {
        chunk
            .map(|chunk| chunk.iter().map(|b| b.wrapping_add(add)).collect::<Bytes>())
            .map_err(io::Error::other)
    })))
}

fn routes() -> netcore_endpoint::Routes {
    Router::new()
        .typed(put)
        .typed_stream(get)
        .typed_stream(shift)
        .build()
        .expect("routes")
}

#[test]
fn the_derive_says_which_bodies_stream() {
    assert_eq!(Put::STREAM, StreamSide::Request);
    assert_eq!(Get::STREAM, StreamSide::Response);
    assert_eq!(Shift::STREAM, StreamSide::Both);
    assert!(Put::STREAM.request() && !Put::STREAM.response());
    assert!(Shift::STREAM.request() && Shift::STREAM.response());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_upload_streams_its_body_and_gets_a_typed_reply() {
    let (_server, client) = connect(routes(), EndpointConfig::default());
    let upload = Body::stream(futures::stream::iter(
        (0..100).map(|_| Ok::<_, io::Error>(Bytes::from(vec![1u8; CHUNK]))),
    ));
    let put = Put {
        name: "big.bin".to_owned(),
    };
    let stored = guard(
        client
            .peer()
            .call_typed_upload(&put, upload, CallOptions::default()),
    )
    .await
    .expect("stored");
    assert_eq!(
        stored,
        Stored {
            name: "big.bin".to_owned(),
            bytes: 100 * CHUNK as u64
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_download_arrives_as_a_stream() {
    let (_server, client) = connect(routes(), EndpointConfig::default());
    let size = 5 * CHUNK as u64 + 17;
    let mut reply = guard(
        client
            .peer()
            .call_typed_download(&Get { size, byte: 9 }, CallOptions::default()),
    )
    .await
    .expect("head");
    let mut got = 0u64;
    while let Some(chunk) = guard(reply.next()).await {
        let chunk = chunk.expect("chunk");
        assert!(chunk.iter().all(|&b| b == 9));
        got += chunk.len() as u64;
    }
    assert_eq!(got, size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_duplex_call_streams_both_ways() {
    let (_server, client) = connect(routes(), EndpointConfig::default());
    let upload = Body::stream(futures::stream::iter(
        (0..40u8).map(|i| Ok::<_, io::Error>(Bytes::from(vec![i; CHUNK]))),
    ));
    let reply = guard(client.peer().call_typed_duplex(
        &Shift { add: 100 },
        upload,
        CallOptions::default(),
    ))
    .await
    .expect("head");
    let body = guard(reply.bytes()).await.expect("body");
    assert_eq!(body.len(), 40 * CHUNK);
    for (i, chunk) in body.chunks(CHUNK).enumerate() {
        assert!(chunk.iter().all(|&b| b == i as u8 + 100), "chunk {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_without_its_arguments_is_refused_naming_the_header() {
    let (_server, client) = connect(routes(), EndpointConfig::default());
    let result = guard(client.peer().call("/files/put", "raw bytes")).await;
    match result {
        Err(CallError::Remote(error)) => {
            assert_eq!(error.code, ReplyCode::BAD_REQUEST);
            assert!(error.message.contains(ARGS), "{}", error.message);
        }
        other => panic!("not refused: {other:?}"),
    }
}
