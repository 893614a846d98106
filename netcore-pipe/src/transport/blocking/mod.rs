//! The blocking adapter: a transport from two blocking functions, each run on
//! a dedicated thread.

mod read;
mod write;

use std::io;

pub use read::BlockingReader;
pub use write::BlockingWriter;

use super::Transport;

/// Size of the buffer handed to the read function, and the largest chunk a
/// write is cut into on its way to the write function.
const CHUNK: usize = 64 * 1024;

/// How many chunks each direction's channel holds. With [`CHUNK`], each
/// direction buffers at most `(DEPTH + 1) * CHUNK` bytes between the async
/// side and its thread.
const DEPTH: usize = 4;

/// Builds a [`Transport`] from two *blocking* functions, for device drivers,
/// FFI calls and other I/O that has no async interface.
///
/// Each function runs on its own dedicated thread (`netcore-blocking-read`,
/// `netcore-blocking-write`), started here, so a read blocked waiting for the
/// device never holds up writes, and neither blocks the async runtime. The
/// threads talk to the async halves through bounded channels a few chunks
/// deep: at most a few hundred KiB are buffered per direction, and a slow
/// device slows its writer down instead of filling memory.
///
/// # Reading
///
/// - `read(buf)` is called with a 64 KiB buffer and should block until at least
///   one byte is available, returning how many it placed at the start of `buf`.
///   `Ok(0)` means end of stream: the async reader returns `Ok(0)` from then on.
/// - An error ends the read thread and is returned by the async reader, then
///   returned again (same kind and message) by every later read. Two kinds are
///   not errors: [`io::ErrorKind::Interrupted`] and [`io::ErrorKind::TimedOut`]
///   just mean "call again", so drivers with a read timeout (serial ports
///   typically report one as `TimedOut`) work unchanged.
/// - The thread reads ahead only while the channel has room.
/// - When the async reader is dropped, the thread ends **after its current
///   call to `read` returns**: a blocking call cannot be interrupted from
///   outside. A driver with a read timeout makes that prompt; otherwise the
///   thread (and whatever `read` captured) lives until the device delivers a
///   byte, reports end of stream, or fails.
///
/// # Writing
///
/// - `write(buf)` must write all of `buf` (at most 64 KiB per call; bigger
///   writes are cut into several calls, a gathered write is joined into as few
///   calls as possible).
/// - An async [`write`](super::TransportWrite::write) returns once its bytes
///   are queued for the thread, not once `write` has run; so a failure of the
///   write function is reported by a **later** async `write`, `flush` or
///   `close`. [`flush`](super::TransportWrite::flush) waits until every byte
///   written before it has been passed to the write function, and so reports
///   any failure for them. After a failure the thread ends, and every later
///   operation fails again with the same kind and message.
/// - [`close`](super::TransportWrite::close) waits for the queued bytes to be
///   written, then ends the thread, dropping the write function (and whatever
///   it captured, which may signal end of stream to the peer). Later writes
///   fail with [`io::ErrorKind::BrokenPipe`]; closing again is a no-op.
/// - When the async writer is dropped without `close`, the thread still writes
///   the bytes already queued, then ends and drops the write function.
///
/// A panic in either function ends its thread; the async half then fails with
/// an error saying the thread ended unexpectedly. If a thread cannot be
/// started at all, its half fails on first use with the reason.
///
/// # Example
///
/// A blocking Unix socket, as a stand-in for a device:
///
/// ```
/// # #[cfg(unix)] {
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use netcore_pipe::transport::{blocking, Transport, TransportRead, TransportWrite};
///
/// let (ours, mut theirs) = UnixStream::pair()?;
/// let mut for_reading = ours.try_clone()?;
/// let mut for_writing = ours;
/// let link = blocking(
///     move |buf: &mut [u8]| for_reading.read(buf),
///     move |buf: &[u8]| for_writing.write_all(buf),
/// );
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (mut reader, mut writer) = link.split();
/// writer.write(b"ping").await?;
/// writer.flush().await?; // "ping" has reached the socket
/// let mut got = [0u8; 4];
/// theirs.read_exact(&mut got)?;
/// assert_eq!(&got, b"ping");
///
/// theirs.write_all(b"pong")?;
/// let mut buf = [0u8; 16];
/// let n = reader.read(&mut buf).await?;
/// assert_eq!(&buf[..n], &b"pong"[..n]);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn blocking<R, W>(read: R, write: W) -> BlockingTransport
where
    R: FnMut(&mut [u8]) -> io::Result<usize> + Send + 'static,
    W: FnMut(&[u8]) -> io::Result<()> + Send + 'static,
{
    BlockingTransport {
        reader: BlockingReader::spawn(read),
        writer: BlockingWriter::spawn(write),
    }
}

/// A [`Transport`] made of two blocking functions; see [`blocking`].
#[derive(Debug)]
pub struct BlockingTransport {
    reader: BlockingReader,
    writer: BlockingWriter,
}

impl Transport for BlockingTransport {
    type Reader = BlockingReader;
    type Writer = BlockingWriter;

    fn split(self) -> (BlockingReader, BlockingWriter) {
        (self.reader, self.writer)
    }
}

/// An error remembered so it can be reported again (`io::Error` is not
/// `Clone`): its kind and message.
#[derive(Debug, Clone)]
struct Failure {
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    /// Remembers `error`.
    fn of(error: &io::Error) -> Self {
        Self {
            kind: error.kind(),
            message: error.to_string(),
        }
    }

    /// A failure to start the thread named `name`.
    fn spawn(name: &str, error: &io::Error) -> Self {
        Self {
            kind: error.kind(),
            message: format!("cannot start the {name} thread: {error}"),
        }
    }

    /// A fresh `io::Error` with the remembered kind and message.
    fn to_error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}
