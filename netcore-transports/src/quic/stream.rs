//! [`QuicStream`]: one bidirectional QUIC stream as a Netcore
//! [`Transport`], keeping its connection (and endpoint) alive.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use netcore_pipe::{Transport, TransportRead, TransportWrite};
use quinn::{Connection, Endpoint, ReadError, RecvStream, SendStream, StoppedError, WriteError};

use super::error::connection_lost;

/// What both halves hold so the connection outlives whichever half goes
/// first: the connection handle, and the endpoint whose socket and driver
/// carry it.
#[derive(Debug)]
struct Link {
    connection: Connection,
    _endpoint: Option<Endpoint>,
}

/// One bidirectional QUIC stream as a byte link: a Netcore [`Transport`].
///
/// [`connect_stream`](super::QuicConnector::connect_stream) and
/// [`accept_stream`](super::QuicListener::accept_stream) hand these out; give
/// one to [`Pipe::new`](netcore_pipe::Pipe::new), or use it raw. It keeps
/// the [`quinn::Connection`] (and the endpoint) alive for as long as either
/// half lives, so the connection is never torn down under a pipe that is
/// still flushing.
///
/// Close semantics of the halves:
///
/// - [`TransportWrite::close`] finishes the stream (the peer reads end of
///   stream after the last byte) and waits until the peer has acknowledged
///   every byte, so nothing written is lost when the connection goes next.
/// - The reader returns `Ok(0)` at the peer's finish, and after it.
/// - A reader dropped before the peer's finish keeps reading (and
///   discarding) in the background until the finish arrives, the connection
///   ends, or the [linger](QuicStream::set_linger) time passes. So the peer
///   is never told to stop sending (its late writes — a last CREDIT or PING —
///   do not fail) and the connection stays up until the peer's side is done
///   too: a graceful close ends cleanly on both sides.
/// - When both halves (and every other handle to the connection) are gone,
///   quinn closes the connection.
///
/// Errors are [`io::Error`]s that keep the QUIC reason:
/// [`connection_error`](super::connection_error) finds it inside a
/// [`ConnectionError`](netcore_pipe::ConnectionError).
#[derive(Debug)]
pub struct QuicStream {
    send: SendStream,
    recv: RecvStream,
    link: Arc<Link>,
    linger: Duration,
}

/// How long a dropped reader keeps draining by default.
pub(crate) const DEFAULT_LINGER: Duration = Duration::from_secs(10);

impl QuicStream {
    /// A transport over a stream of `connection`.
    ///
    /// Pass the endpoint if nothing else keeps it alive (quinn keeps driving
    /// an endpoint with live connections either way; holding it also keeps
    /// its socket bound for the stream's lifetime).
    pub fn new(
        connection: Connection,
        send: SendStream,
        recv: RecvStream,
        endpoint: Option<Endpoint>,
    ) -> QuicStream {
        QuicStream {
            send,
            recv,
            link: Arc::new(Link {
                connection,
                _endpoint: endpoint,
            }),
            linger: DEFAULT_LINGER,
        }
    }

    /// How long a reader dropped before the peer's finish keeps draining the
    /// stream (and so keeps the connection up) waiting for it. Default 10 s.
    pub fn set_linger(&mut self, linger: Duration) {
        self.linger = linger;
    }

    /// The QUIC connection the stream belongs to (for statistics, the peer's
    /// certificates, more streams, or closing it with a code).
    pub fn connection(&self) -> &Connection {
        &self.link.connection
    }

    /// The peer's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.link.connection.remote_address()
    }

    /// The quinn parts: connection, send stream, receive stream.
    pub fn into_parts(self) -> (Connection, SendStream, RecvStream) {
        (self.link.connection.clone(), self.send, self.recv)
    }
}

impl Transport for QuicStream {
    type Reader = QuicReader;
    type Writer = QuicWriter;

    fn split(self) -> (QuicReader, QuicWriter) {
        (
            QuicReader {
                recv: Some(self.recv),
                finished: false,
                linger: self.linger,
                link: self.link.clone(),
            },
            QuicWriter {
                send: self.send,
                gather: BytesMut::new(),
                _link: self.link,
            },
        )
    }
}

/// The reading half of a [`QuicStream`].
#[derive(Debug)]
pub struct QuicReader {
    /// Always `Some` until dropped.
    recv: Option<RecvStream>,
    /// The peer's finish was read.
    finished: bool,
    linger: Duration,
    link: Arc<Link>,
}

impl TransportRead for QuicReader {
    /// Reads what the stream has; `Ok(0)` at the peer's finish.
    ///
    /// Cancel safe: quinn hands out data only when the read completes.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(recv) = self.recv.as_mut() else {
            return Ok(0);
        };
        if buf.is_empty() || self.finished {
            return Ok(0);
        }
        match recv.read(buf).await {
            Ok(Some(n)) => Ok(n),
            Ok(None) => {
                self.finished = true;
                Ok(0)
            }
            Err(error) => Err(read_error(error)),
        }
    }
}

impl Drop for QuicReader {
    fn drop(&mut self) {
        let Some(recv) = self.recv.take() else {
            return;
        };
        if self.finished || self.link.connection.close_reason().is_some() {
            return;
        }
        // Outside a runtime there is nothing to drain with: quinn tells the
        // peer to stop sending instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(recv, self.link.clone(), self.linger));
        }
    }
}

/// Reads and discards until the peer's finish, the connection's end or the
/// linger time, holding the connection up meanwhile.
async fn drain(mut recv: RecvStream, link: Arc<Link>, linger: Duration) {
    let drained = tokio::time::timeout(linger, async {
        let mut discarded = 0u64;
        loop {
            match recv.read_chunk(usize::MAX, true).await {
                Ok(Some(chunk)) => discarded += chunk.bytes.len() as u64,
                Ok(None) => return Ok(discarded),
                Err(error) => return Err(error),
            }
        }
    })
    .await;
    let peer = link.connection.remote_address();
    match drained {
        Ok(Ok(discarded)) => tracing::trace!(%peer, discarded, "QUIC stream drained to its end"),
        Ok(Err(error)) => tracing::trace!(%peer, %error, "QUIC stream ended while draining"),
        Err(_) => {
            tracing::debug!(%peer, ?linger, "the peer did not finish its QUIC stream in time")
        }
    }
}

/// The writing half of a [`QuicStream`].
#[derive(Debug)]
pub struct QuicWriter {
    send: SendStream,
    /// Where a gathered write is assembled: quinn takes owned `Bytes`, so one
    /// copy here spares it copying each piece. Its memory is reused once
    /// quinn has sent (and dropped) the previous batch.
    gather: BytesMut,
    _link: Arc<Link>,
}

impl TransportWrite for QuicWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send.write_all(buf).await.map_err(write_error)
    }

    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        if total == 0 {
            return Ok(());
        }
        self.gather.reserve(total);
        for buf in bufs {
            self.gather.extend_from_slice(buf);
        }
        let mut chunk = [self.gather.split().freeze()];
        self.send
            .write_all_chunks(&mut chunk)
            .await
            .map_err(write_error)
    }

    /// Finishes the stream and waits until the peer has acknowledged every
    /// byte of it (or stopped reading, or the connection ended).
    async fn close(&mut self) -> io::Result<()> {
        // An error only means the stream was already finished or reset.
        let _ = self.send.finish();
        match self.send.stopped().await {
            Ok(None) => Ok(()),
            // The peer stopped reading; code 0 is what quinn sends for a
            // receive stream dropped after its data was taken.
            Ok(Some(code)) if code.into_inner() == 0 => Ok(()),
            Ok(Some(code)) => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                format!("the peer stopped reading the QUIC stream (code {code})"),
            )),
            Err(StoppedError::ConnectionLost(error)) => Err(connection_lost(error)),
            Err(error) => Err(io::Error::new(io::ErrorKind::NotConnected, error)),
        }
    }
}

fn read_error(error: ReadError) -> io::Error {
    match error {
        ReadError::ConnectionLost(error) => connection_lost(error),
        ReadError::Reset(code) => io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("the peer reset the QUIC stream (code {code})"),
        ),
        error => io::Error::from(error),
    }
}

fn write_error(error: WriteError) -> io::Error {
    match error {
        WriteError::ConnectionLost(error) => connection_lost(error),
        WriteError::Stopped(code) => io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("the peer stopped reading the QUIC stream (code {code})"),
        ),
        error => io::Error::from(error),
    }
}
