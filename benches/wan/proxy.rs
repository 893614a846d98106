//! A user-space TCP delay proxy on loopback: a fixed one-way delay each way,
//! no bandwidth limit, no loss.
//!
//! The proxy runs on its own single-threaded tokio runtime in its own OS
//! thread, so its forwarding never competes with the measured runtime's
//! scheduler. [`DelayProxy::connect`] asks it for one proxied connection to a
//! target: the proxy binds a fresh listener on 127.0.0.1, the caller connects
//! to it, and the proxy connects on to the target. Each direction then runs a
//! delay line: a reader takes up to [`SEGMENT`] bytes at a time, stamps them
//! with the moment they are due (read time + one-way delay) and queues them;
//! a writer sleeps until each segment is due and writes it on. The queue of
//! each direction holds at most [`IN_FLIGHT`] bytes: when the far side stops
//! reading, the writer stops, the queue fills and the reader stops reading,
//! so the sender's own socket fills — backpressure as on a real path.
//!
//! What it does not model: a bottleneck's bandwidth and its queue, loss,
//! reordering, and TCP's own reaction to the delay (each leg is a loopback
//! TCP connection whose kernel sees a microsecond RTT, so raw TCP's window
//! is not limited by the delay — only application-level windows are).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

/// The most bytes one read of the delay line takes.
const SEGMENT: usize = 256 * 1024;

/// The most bytes queued in one direction of the delay line: 64 MiB carries
/// 64 MiB / (RTT / 2) — 671 MB/s at 200 ms RTT — before it pushes back.
pub(crate) const IN_FLIGHT: usize = 64 * 1024 * 1024;

/// A request for one proxied connection to `target`.
struct Request {
    target: SocketAddr,
    listening: oneshot::Sender<io::Result<SocketAddr>>,
}

/// A delay proxy running in its own thread; stops (and drops every
/// connection it forwards) when dropped.
pub(crate) struct DelayProxy {
    requests: Option<mpsc::UnboundedSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Starts a proxy adding `rtt / 2` in each direction.
    pub(crate) fn start(rtt: Duration) -> io::Result<DelayProxy> {
        let one_way = rtt / 2;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (requests, mut incoming) = mpsc::unbounded_channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("wan-delay-proxy".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(request) = incoming.recv().await {
                        match TcpListener::bind("127.0.0.1:0").await {
                            Ok(listener) => {
                                let address = listener.local_addr();
                                let _ = request.listening.send(address);
                                tokio::spawn(forward_one(listener, request.target, one_way));
                            }
                            Err(error) => {
                                let _ = request.listening.send(Err(error));
                            }
                        }
                    }
                });
                // Dropping the runtime here cancels every forwarding task.
            })?;
        Ok(DelayProxy {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// A connection to `target` through the proxy: connects to a fresh
    /// proxy listener; the proxy connects on to `target`.
    pub(crate) async fn connect(&self, target: SocketAddr) -> io::Result<TcpStream> {
        let (listening, address) = oneshot::channel();
        self.requests
            .as_ref()
            .ok_or_else(|| io::Error::other("the delay proxy has stopped"))?
            .send(Request { target, listening })
            .map_err(|_| io::Error::other("the delay proxy has stopped"))?;
        let address = address
            .await
            .map_err(|_| io::Error::other("the delay proxy has stopped"))??;
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        // Closing the request channel ends the proxy's loop and its runtime.
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts one connection on `listener`, connects to `target` and runs the
/// two delay lines until both directions have ended.
async fn forward_one(listener: TcpListener, target: SocketAddr, one_way: Duration) {
    let Ok((client, _)) = listener.accept().await else {
        return;
    };
    drop(listener);
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    if client.set_nodelay(true).is_err() || server.set_nodelay(true).is_err() {
        return;
    }
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        delay_line(client_read, server_write, one_way),
        delay_line(server_read, client_write, one_way),
    );
}

/// What the reader queues for the writer.
enum Segment {
    /// Bytes to write at `due`; the permit holds their room in the queue.
    Data {
        due: Instant,
        bytes: Bytes,
        _room: OwnedSemaphorePermit,
    },
    /// The source ended (or failed): shut the destination's write side at
    /// `due`.
    End { due: Instant },
}

/// Forwards `from` to `to`, each byte `one_way` later than it was read.
async fn delay_line(from: OwnedReadHalf, to: OwnedWriteHalf, one_way: Duration) {
    let room = Arc::new(Semaphore::new(IN_FLIGHT));
    // Unbounded in segments, bounded in bytes by `room`.
    let (queue, segments) = mpsc::unbounded_channel();
    tokio::join!(
        read_side(from, queue, room, one_way),
        write_side(to, segments)
    );
}

async fn read_side(
    mut from: OwnedReadHalf,
    queue: mpsc::UnboundedSender<Segment>,
    room: Arc<Semaphore>,
    one_way: Duration,
) {
    let mut buf = BytesMut::new();
    loop {
        // Wait for room for a whole segment before reading it, so a full
        // queue leaves the bytes in the sender's socket.
        let Ok(mut permit) = room.clone().acquire_many_owned(SEGMENT as u32).await else {
            break;
        };
        buf.reserve(SEGMENT);
        let read = from.read_buf(&mut (&mut buf).limit(SEGMENT)).await;
        let due = Instant::now() + one_way;
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Keep only the room the bytes read take.
        if n < SEGMENT {
            drop(permit.split(SEGMENT - n));
        }
        let bytes = buf.split().freeze();
        let segment = Segment::Data {
            due,
            bytes,
            _room: permit,
        };
        if queue.send(segment).is_err() {
            return;
        }
    }
    let _ = queue.send(Segment::End {
        due: Instant::now() + one_way,
    });
}

async fn write_side(mut to: OwnedWriteHalf, mut segments: mpsc::UnboundedReceiver<Segment>) {
    while let Some(segment) = segments.recv().await {
        match segment {
            Segment::Data { due, bytes, _room } => {
                tokio::time::sleep_until(due).await;
                if to.write_all(&bytes).await.is_err() {
                    // The destination is gone: stop taking bytes so the
                    // reader's queue fills and it stops too.
                    segments.close();
                    return;
                }
            }
            Segment::End { due } => {
                tokio::time::sleep_until(due).await;
                let _ = to.shutdown().await;
                return;
            }
        }
    }
}
