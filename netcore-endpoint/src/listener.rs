//! [`Listener`]: where a [`Server`](crate::Server) gets its connections.

use std::future::Future;
use std::io;

use netcore_pipe::Transport;

/// A source of incoming connections: TCP and Unix listeners here, QUIC and
/// others by implementing it.
pub trait Listener: Send + 'static {
    /// The transport of one accepted connection.
    type Io: Transport;

    /// Waits for the next connection; returns it with a printable peer address.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, String)>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, String)> {
        let (stream, address) = tokio::net::TcpListener::accept(self).await?;
        // Small messages must not wait for Nagle.
        stream.set_nodelay(true)?;
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
