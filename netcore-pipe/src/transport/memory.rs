//! An in-memory pair of connected transports.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// Creates two connected in-memory transports: what one writes, the other
/// reads.
///
/// Each direction buffers up to `buffer` bytes; a writer waits while its
/// direction is full, exactly as a socket whose kernel buffer is full, so
/// flow-control and deadlock bugs show up in tests as they would on a network.
/// Closing one side's writer, or dropping that side, gives the other side's
/// reader end of stream.
///
/// # Panics
///
/// Panics if `buffer` is 0.
///
/// # Example
///
/// ```
/// use netcore_pipe::transport::{memory_pair, Transport, TransportRead, TransportWrite};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (a, b) = memory_pair(64 * 1024);
/// let (_a_reader, mut a_writer) = a.split();
/// let (mut b_reader, _b_writer) = b.split();
///
/// a_writer.write(b"ping").await?;
/// a_writer.close().await?;
///
/// let mut buf = [0u8; 16];
/// assert_eq!(b_reader.read(&mut buf).await?, 4);
/// assert_eq!(&buf[..4], b"ping");
/// assert_eq!(b_reader.read(&mut buf).await?, 0); // end of stream
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn memory_pair(buffer: usize) -> (MemoryTransport, MemoryTransport) {
    let (a, b) = tokio::io::duplex(buffer);
    (MemoryTransport { inner: a }, MemoryTransport { inner: b })
}

/// One end of an in-memory link made by [`memory_pair`].
///
/// A thin wrapper around [`tokio::io::DuplexStream`]: it implements tokio's
/// `AsyncRead` and `AsyncWrite`, so it is a [`Transport`](super::Transport)
/// through the blanket implementation, and can also be used directly with
/// tokio's I/O utilities.
#[derive(Debug)]
pub struct MemoryTransport {
    inner: DuplexStream,
}

impl MemoryTransport {
    /// Returns the underlying tokio duplex stream.
    pub fn into_inner(self) -> DuplexStream {
        self.inner
    }
}

impl AsyncRead for MemoryTransport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemoryTransport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
