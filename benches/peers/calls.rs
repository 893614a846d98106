//! Small calls: a 64-byte echo, tarpc against Netcore, at 1, 64 and 256
//! calls in flight over one loopback TCP connection.
//!
//! Both run client and server in this process on the same runtime, each a
//! fresh connection per case. Each case warms up, then counts the calls
//! completed in a fixed time and the process CPU time they took.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netcore::endpoint::{Endpoint, Json};
use netcore::transports::tcp::{self, TcpOptions};
use serde::{Deserialize, Serialize};
use tarpc::context;
use tarpc::server::Channel;
use tokio::net::TcpListener;

use crate::cpu::CpuClock;

/// The request and reply body of every call.
pub(crate) const PAYLOAD: usize = 64;

/// One calls case measured.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CallRate {
    /// Calls completed per second.
    pub(crate) calls_per_s: f64,
    /// Process CPU time per call, in µs (both ends, every thread).
    pub(crate) cpu_us_per_call: f64,
}

/// The tarpc service: an echo of a byte vector.
#[tarpc::service]
pub(crate) trait Echo {
    /// Returns `payload` as it came.
    async fn echo(payload: Vec<u8>) -> Vec<u8>;
}

#[derive(Clone)]
struct EchoServer;

impl Echo for EchoServer {
    async fn echo(self, _: context::Context, payload: Vec<u8>) -> Vec<u8> {
        payload
    }
}

/// The JSON handler's request and reply.
#[derive(Debug, Serialize, Deserialize)]
struct EchoJson {
    payload: String,
}

/// Runs `in_flight` loops of calls for `time`, after a warm-up, and
/// measures them. `call` makes one call and says whether it succeeded.
async fn measure<F, Fut>(in_flight: usize, time: Duration, call: F) -> io::Result<CallRate>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::with_capacity(in_flight);
    for _ in 0..in_flight {
        let (call, counting, stop, done, failed) = (
            call.clone(),
            counting.clone(),
            stop.clone(),
            done.clone(),
            failed.clone(),
        );
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = call().await;
                if counting.load(Ordering::Relaxed) {
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(time / 4).await;
    let cpu = CpuClock::start()?;
    let started = Instant::now();
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(time).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = cpu.elapsed()?;
    stop.store(true, Ordering::Relaxed);
    for task in loops {
        let _ = task.await;
    }
    let calls = done.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 || calls == 0 {
        return Err(io::Error::other(format!(
            "{failed} calls failed, {calls} succeeded"
        )));
    }
    Ok(CallRate {
        calls_per_s: calls as f64 / elapsed.as_secs_f64(),
        cpu_us_per_call: cpu.as_secs_f64() * 1e6 / calls as f64,
    })
}

/// tarpc 0.38 over TCP with bincode, `TCP_NODELAY` on both ends.
pub(crate) async fn tarpc_calls(in_flight: usize, time: Duration) -> io::Result<CallRate> {
    let mut listener =
        tarpc::serde_transport::tcp::listen("127.0.0.1:0", tokio_serde::formats::Bincode::default)
            .await?;
    listener.config_mut().max_frame_length(usize::MAX);
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        // One connection per case.
        if let Some(Ok(transport)) = listener.next().await {
            let _ = transport.get_ref().set_nodelay(true);
            let channel = tarpc::server::BaseChannel::with_defaults(transport);
            channel
                .execute(EchoServer.serve())
                .for_each_concurrent(None, |response| async move {
                    tokio::spawn(response);
                })
                .await;
        }
    });
    let mut connect =
        tarpc::serde_transport::tcp::connect(addr, tokio_serde::formats::Bincode::default);
    connect.config_mut().max_frame_length(usize::MAX);
    let transport = connect.await?;
    transport.get_ref().set_nodelay(true)?;
    let client = EchoClient::new(tarpc::client::Config::default(), transport).spawn();
    let payload = vec![7u8; PAYLOAD];
    let rate = measure(in_flight, time, move || {
        let (client, payload) = (client.clone(), payload.clone());
        async move {
            match client.echo(context::current(), payload).await {
                Ok(reply) => reply.len() == PAYLOAD,
                Err(_) => false,
            }
        }
    })
    .await;
    server.abort();
    rate
}

/// Which Netcore handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handler {
    /// `Bytes` in, `Bytes` out, called with [`Peer::call`](netcore::endpoint::Peer::call).
    Bytes,
    /// `Json<T>` in and out, called with [`Peer::call_json`](netcore::endpoint::Peer::call_json).
    Json,
}

/// Netcore: an [`Endpoint`] on each end of a loopback TCP connection (the
/// transports' default options: `TCP_NODELAY` on), echo routes, calls from
/// the client's [`Peer`](netcore::endpoint::Peer).
pub(crate) async fn netcore_calls(
    handler: Handler,
    in_flight: usize,
    time: Duration,
) -> io::Result<CallRate> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let pipe = tcp::from_stream(stream, &TcpOptions::default()).map_err(io::Error::other)?;
        let endpoint = Endpoint::builder()
            .route("/echo", |body: Bytes| async move { body })
            .route("/echo-json", |Json(request): Json<EchoJson>| async move {
                Json(request)
            })
            .start(pipe)
            .map_err(io::Error::other)?;
        let _ = endpoint.closed().await;
        io::Result::Ok(())
    });
    let pipe = tcp::connect(addr, &TcpOptions::default())
        .await
        .map_err(io::Error::other)?;
    let client = Endpoint::builder().start(pipe).map_err(io::Error::other)?;
    let peer = client.peer().clone();
    let rate = match handler {
        Handler::Bytes => {
            let payload = Bytes::from(vec![7u8; PAYLOAD]);
            measure(in_flight, time, move || {
                let (peer, payload) = (peer.clone(), payload.clone());
                async move {
                    match peer.call("/echo", payload).await {
                        Ok(reply) => reply.body.len() == PAYLOAD,
                        Err(_) => false,
                    }
                }
            })
            .await
        }
        Handler::Json => {
            // 64 bytes of JSON: `{"payload":"…"}` around 50 characters.
            let text = "x".repeat(PAYLOAD - 14);
            measure(in_flight, time, move || {
                let (peer, text) = (peer.clone(), text.clone());
                async move {
                    let request = EchoJson { payload: text };
                    match peer.call_json::<_, EchoJson>("/echo-json", &request).await {
                        Ok(reply) => reply.payload.len() == PAYLOAD - 14,
                        Err(_) => false,
                    }
                }
            })
            .await
        }
    };
    drop(client);
    server.abort();
    rate
}
