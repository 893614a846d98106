//! [`Listener`]: a source of incoming connections, each of which becomes a
//! pipe.

use std::future::Future;
use std::io;

use crate::IntoPipe;

/// Where a server gets its connections: TCP, Unix and QUIC listeners (those
/// of `netcore-transports` with their per-medium tuning, and tokio's own
/// here), or your own medium.
///
/// Each accepted connection comes with a printable peer address, for logs
/// and events. It is anything that becomes a [`Pipe`](crate::Pipe): usually
/// a tuned [`Transport`](crate::Transport), over which the server starts a
/// pipe with its own settings.
///
/// # Errors
///
/// `accept` fails with an [`io::Error`]. Errors that concern one
/// connection (`ConnectionAborted`, `ConnectionReset`, `Interrupted`,
/// `WouldBlock`, or "too many open files") let a server carry on accepting;
/// any other ends its accept loop. Implementations map their own
/// per-connection failures to one of those kinds.
///
/// ```
/// use std::io;
/// use netcore_pipe::{Listener, transport::{MemoryTransport, memory_pair}};
/// use tokio::sync::mpsc;
///
/// /// Connections handed over a channel, as a test harness might.
/// struct Handed(mpsc::Receiver<MemoryTransport>);
///
/// impl Listener for Handed {
///     type Io = MemoryTransport;
///
///     async fn accept(&mut self) -> io::Result<(MemoryTransport, String)> {
///         match self.0.recv().await {
///             Some(link) => Ok((link, "memory".to_owned())),
///             None => Err(io::Error::new(io::ErrorKind::NotConnected, "no more connections")),
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> io::Result<()> {
/// let (tx, rx) = mpsc::channel(1);
/// let mut listener = Handed(rx);
/// let (_client, server_end) = memory_pair(1024);
/// tx.send(server_end).await.map_err(|_| io::ErrorKind::BrokenPipe)?;
/// let (_link, address) = listener.accept().await?;
/// assert_eq!(address, "memory");
/// # Ok(())
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Listener` a server can accept connections from",
    note = "use `netcore_transports::tcp::Listener` (or `unix::Listener`, `quic::QuicListener`), `tokio::net::TcpListener`, or implement `Listener` for your medium"
)]
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Io: IntoPipe + Send + 'static;

    /// Waits for the next connection; returns it with a printable peer
    /// address.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, String)>> + Send;
}

/// Accepts plain tokio TCP connections with `TCP_NODELAY` set and nothing
/// else; `netcore_transports::tcp::Listener` also bounds the kernel's send
/// queue (`TCP_NOTSENT_LOWAT`), which keeps small calls fast beside bulk
/// transfers, and sets keepalive.
impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, String)> {
        let (stream, address) = tokio::net::TcpListener::accept(self).await?;
        // Small messages must not wait for Nagle. A connection that cannot
        // be set so (reset already, say) is dropped: that one only.
        if let Err(error) = stream.set_nodelay(true) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("cannot set TCP_NODELAY on the connection from {address}: {error}"),
            ));
        }
        Ok((stream, address.to_string()))
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, String)> {
        let (stream, address) = tokio::net::UnixListener::accept(self).await?;
        let name = address.as_pathname().map_or_else(
            || "unix:unnamed".to_owned(),
            |p| format!("unix:{}", p.display()),
        );
        Ok((stream, name))
    }
}
