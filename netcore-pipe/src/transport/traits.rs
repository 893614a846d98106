//! The three traits: [`Transport`] and its two halves.

use std::future::Future;
use std::io::{self, IoSlice};

/// A byte link, as two halves so reading and writing proceed concurrently.
///
/// This is the one thing to provide to run Netcore over a new medium. Most
/// users never implement it by hand:
///
/// - every [`tokio::io::AsyncRead`] + [`tokio::io::AsyncWrite`] type (TCP and
///   Unix sockets, serial ports with an async driver, [`MemoryTransport`], …)
///   already is a `Transport`, split with [`tokio::io::split`];
/// - two async closures become one with [`from_fns`];
/// - two *blocking* functions (a device driver, an FFI call) become one with
///   [`blocking`].
///
/// A link is a byte stream: the reader may see the bytes cut into pieces of any
/// size, but in the order they were written and without gaps (unless the link
/// itself damages them, as [`Faulty`] does on purpose).
///
/// # Implementing it by hand
///
/// ```
/// use std::io;
/// use netcore_pipe::transport::{Transport, TransportRead, TransportWrite};
///
/// /// A link that reads endless zeros and discards what is written.
/// struct Zeros;
/// struct ZeroReader;
/// struct Sink;
///
/// impl Transport for Zeros {
///     type Reader = ZeroReader;
///     type Writer = Sink;
///     fn split(self) -> (ZeroReader, Sink) {
///         (ZeroReader, Sink)
///     }
/// }
/// impl TransportRead for ZeroReader {
///     async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         buf.fill(0);
///         Ok(buf.len())
///     }
/// }
/// impl TransportWrite for Sink {
///     async fn write(&mut self, _buf: &[u8]) -> io::Result<()> {
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (mut reader, mut writer) = Zeros.split();
/// writer.write(b"into the void").await?;
/// let mut buf = [1u8; 4];
/// assert_eq!(reader.read(&mut buf).await?, 4);
/// assert_eq!(buf, [0; 4]);
/// # Ok::<(), io::Error>(())
/// # })?;
/// # Ok::<(), io::Error>(())
/// ```
///
/// (Writing `async fn` in the impl is fine: the compiler checks that the
/// futures are `Send`, as the trait requires.)
///
/// [`MemoryTransport`]: super::MemoryTransport
/// [`from_fns`]: super::from_fns
/// [`blocking`]: super::blocking
#[cfg_attr(feature = "test-util", doc = "[`Faulty`]: super::Faulty")]
#[cfg_attr(not(feature = "test-util"), doc = "[`Faulty`]: super#test-utilities")]
pub trait Transport: Send + 'static {
    /// The reading half.
    type Reader: TransportRead;
    /// The writing half.
    type Writer: TransportWrite;

    /// Splits the link into its reading and writing halves.
    fn split(self) -> (Self::Reader, Self::Writer);
}

/// The reading half of a [`Transport`].
///
/// # Cancel safety
///
/// A `read` future may be dropped before it completes (the Pipe driver races
/// reads against other events). Implementations should then lose no bytes:
/// bytes are either returned by the completed `read`, or left for the next one.
/// All readers of this module are cancel safe in that sense, given that the
/// things they wrap are (tokio's I/O types and channels are).
pub trait TransportRead: Send + 'static {
    /// Reads some bytes into `buf`; Ok(0) means the link was closed by the peer (EOF).
    ///
    /// Returns the number of bytes placed at the start of `buf`, at least 1
    /// unless `buf` is empty or the link is at end of stream. Waits until at
    /// least one byte is available. After EOF, further reads should keep
    /// returning `Ok(0)` (all adapters of this module do).
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Reads some bytes into the spare capacity of `buf` (at most `max`),
    /// appending them; Ok(0) means end of stream. The pipe reads this way.
    ///
    /// The default zeroes the room and calls [`read`](TransportRead::read);
    /// readers that can fill uninitialised memory safely (every tokio
    /// `AsyncRead`, through `read_buf`) override it and save that work.
    fn read_buf(
        &mut self,
        buf: &mut bytes::BytesMut,
        max: usize,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        async move {
            let start = buf.len();
            buf.resize(start + max, 0);
            let result = self.read(&mut buf[start..]).await;
            let n = *result.as_ref().unwrap_or(&0);
            buf.truncate(start + n);
            result
        }
    }
}

/// The writing half of a [`Transport`].
///
/// Only [`write`](TransportWrite::write) is required; the other methods have
/// sensible defaults that implementations override when the medium can do
/// better (a real gathered write, a real flush, a half-close).
///
/// A write future that is dropped before it completes may have written part
/// of its bytes; the link is then in an unknown state and should be closed.
pub trait TransportWrite: Send + 'static {
    /// Writes all of `buf`.
    ///
    /// Returns once every byte has been handed to the link (which may still
    /// buffer them: see [`flush`](TransportWrite::flush)).
    fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Writes all bytes of `bufs` in order (gathered write). Default: `write` each in turn.
    ///
    /// The Pipe uses this to send a frame header and its payload without first
    /// copying them into one buffer. Empty slices are skipped.
    fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<()>> + Send {
        async move {
            for buf in bufs.iter().filter(|buf| !buf.is_empty()) {
                self.write(buf).await?;
            }
            Ok(())
        }
    }

    /// Flushes buffered bytes. Default: Ok(()).
    ///
    /// When this returns `Ok`, every byte written so far has left this side's
    /// buffers, and any error in delivering them has been reported.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Closes the write direction (the peer's reader then sees EOF). Default: Ok(()).
    ///
    /// Buffered bytes are flushed first. Writing after `close` is an error for
    /// the adapters of this module.
    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        std::future::ready(Ok(()))
    }
}
