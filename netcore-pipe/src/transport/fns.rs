//! The closure adapter: a transport from an async `recv` and an async `send`.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};

use bytes::{BufMut, Bytes, BytesMut};

use super::leftover::Leftover;
use super::{Transport, TransportRead, TransportWrite};

/// Builds a [`Transport`] from two async functions: `recv` for the next chunk
/// of received bytes, `send` to send a chunk.
///
/// This is the "give it only send and recv functions" promise: any medium
/// that can move chunks of bytes (a message queue, a websocket, a radio
/// driver, a test harness) becomes a Netcore link.
///
/// - `recv()` resolves to the next chunk, of any size. **An empty `Bytes` means
///   end of stream**: the reader returns `Ok(0)` from then on and `recv` is
///   not called again. Errors are passed to the reader's caller unchanged
///   (`recv` may be called again afterwards, if the caller reads again). A
///   chunk bigger than the caller's read buffer is served over several reads.
/// - `send(chunk)` sends one chunk, never an empty one: empty writes are
///   skipped. Each [`write`](TransportWrite::write) copies its bytes into one
///   `Bytes` for `send`; a [`write_vectored`](TransportWrite::write_vectored)
///   gathers its slices into a single chunk, so a frame header and its payload
///   reach `send` together.
/// - [`close`](TransportWrite::close) drops `send` (and whatever it captured,
///   such as a channel sender, so the peer sees the end of the stream); later
///   writes fail with [`io::ErrorKind::BrokenPipe`]. Dropping the writer does
///   the same.
///
/// The reader is cancel safe as long as the `recv` future is (dropping it
/// loses no chunk), as with tokio's channel receivers.
///
/// # Example
///
/// A link over two tokio channels, one per direction. Each call must return a
/// future that owns what it uses (the closure's `FnMut` state cannot be
/// borrowed by it), so the receiver is shared through an async mutex and the
/// sender is cloned:
///
/// ```
/// use std::io;
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use netcore_pipe::transport::{from_fns, Transport, TransportRead, TransportWrite};
/// use tokio::sync::{mpsc, Mutex};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (to_peer, mut from_us) = mpsc::channel::<Bytes>(8);
/// let (to_us, from_peer) = mpsc::channel::<Bytes>(8);
/// let from_peer = Arc::new(Mutex::new(from_peer));
///
/// let link = from_fns(
///     move || {
///         let from_peer = Arc::clone(&from_peer);
///         // A closed channel (None) becomes the empty chunk: end of stream.
///         async move { Ok(from_peer.lock().await.recv().await.unwrap_or_default()) }
///     },
///     move |chunk: Bytes| {
///         let to_peer = to_peer.clone();
///         async move {
///             to_peer.send(chunk).await.map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
///         }
///     },
/// );
/// let (mut reader, mut writer) = link.split();
///
/// writer.write(b"hello").await?;
/// assert_eq!(from_us.recv().await.as_deref(), Some(&b"hello"[..]));
///
/// to_us.send(Bytes::from_static(b"world")).await.expect("reader alive");
/// drop(to_us);
/// let mut buf = [0u8; 3]; // smaller than the chunk: the rest waits for the next read
/// assert_eq!(reader.read(&mut buf).await?, 3);
/// assert_eq!(&buf, b"wor");
/// assert_eq!(reader.read(&mut buf).await?, 2);
/// assert_eq!(&buf[..2], b"ld");
/// assert_eq!(reader.read(&mut buf).await?, 0); // end of stream
/// # Ok::<(), io::Error>(())
/// # })?;
/// # Ok::<(), io::Error>(())
/// ```
pub fn from_fns<R, RF, W, WF>(recv: R, send: W) -> FnTransport<R, W>
where
    R: FnMut() -> RF + Send + 'static,
    RF: Future<Output = io::Result<Bytes>> + Send,
    W: FnMut(Bytes) -> WF + Send + 'static,
    WF: Future<Output = io::Result<()>> + Send,
{
    FnTransport {
        reader: FnReader {
            recv,
            leftover: Leftover::default(),
            eof: false,
        },
        writer: FnWriter { send: Some(send) },
    }
}

/// A [`Transport`] made of two async functions; see [`from_fns`].
pub struct FnTransport<R, W> {
    reader: FnReader<R>,
    writer: FnWriter<W>,
}

impl<R, W> fmt::Debug for FnTransport<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTransport")
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}

impl<R, RF, W, WF> Transport for FnTransport<R, W>
where
    R: FnMut() -> RF + Send + 'static,
    RF: Future<Output = io::Result<Bytes>> + Send,
    W: FnMut(Bytes) -> WF + Send + 'static,
    WF: Future<Output = io::Result<()>> + Send,
{
    type Reader = FnReader<R>;
    type Writer = FnWriter<W>;

    fn split(self) -> (FnReader<R>, FnWriter<W>) {
        (self.reader, self.writer)
    }
}

/// The reading half of an [`FnTransport`]: calls `recv` for chunks and serves
/// them to reads of any buffer size.
pub struct FnReader<R> {
    recv: R,
    leftover: Leftover,
    eof: bool,
}

impl<R> fmt::Debug for FnReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnReader")
            .field("leftover", &self.leftover.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<R, RF> TransportRead for FnReader<R>
where
    R: FnMut() -> RF + Send + 'static,
    RF: Future<Output = io::Result<Bytes>> + Send,
{
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.leftover.is_empty() {
            return Ok(self.leftover.take_into(buf));
        }
        if self.eof {
            return Ok(0);
        }
        let chunk = (self.recv)().await?;
        if chunk.is_empty() {
            tracing::trace!("from_fns: recv returned an empty chunk: end of stream");
            self.eof = true;
            return Ok(0);
        }
        Ok(self.leftover.serve(chunk, buf))
    }
}

/// The writing half of an [`FnTransport`]: hands each write to `send` as one
/// `Bytes`.
pub struct FnWriter<W> {
    /// `None` once closed.
    send: Option<W>,
}

impl<W> fmt::Debug for FnWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnWriter")
            .field("closed", &self.send.is_none())
            .finish_non_exhaustive()
    }
}

impl<W, WF> FnWriter<W>
where
    W: FnMut(Bytes) -> WF,
{
    /// Calls `send` with `chunk` (unless it is empty), or fails if closed.
    ///
    /// The call happens now; the returned future borrows nothing.
    fn start_send(
        &mut self,
        chunk: impl FnOnce() -> Bytes,
        is_empty: bool,
    ) -> io::Result<Option<WF>> {
        let send = self.send.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "from_fns writer is closed")
        })?;
        Ok((!is_empty).then(|| send(chunk())))
    }
}

impl<W, WF> TransportWrite for FnWriter<W>
where
    W: FnMut(Bytes) -> WF + Send + 'static,
    WF: Future<Output = io::Result<()>> + Send,
{
    fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        let started = self.start_send(|| Bytes::copy_from_slice(buf), buf.is_empty());
        async move {
            match started? {
                Some(sending) => sending.await,
                None => Ok(()),
            }
        }
    }

    fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<()>> + Send {
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        let gather = || {
            let mut chunk = BytesMut::with_capacity(total);
            for buf in bufs {
                chunk.put_slice(buf);
            }
            chunk.freeze()
        };
        let started = self.start_send(gather, total == 0);
        async move {
            match started? {
                Some(sending) => sending.await,
                None => Ok(()),
            }
        }
    }

    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        if self.send.take().is_some() {
            tracing::trace!("from_fns: writer closed, send function dropped");
        }
        std::future::ready(Ok(()))
    }
}
