//! Unix domain sockets: connect, listen and accept by path, each giving a
//! ready [`Pipe`]. Unix platforms only.
//!
//! ```no_run
//! use netcore_transports::unix;
//! use netcore_transports::pipe::{Message, PipeConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = unix::Listener::bind("/tmp/app.sock", PipeConfig::default())?;
//! tokio::spawn(async move {
//!     while let Ok((pipe, _peer)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             while let Ok(message) = pipe.recv().await {
//!                 tracing::info!("got {} bytes", message.body.len());
//!             }
//!         });
//!     }
//! });
//!
//! let pipe = unix::connect("/tmp/app.sock", &PipeConfig::default()).await?;
//! pipe.send(Message::new("hello"))?.await?;
//! pipe.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Options
//!
//! Only the [`PipeConfig`]: a Unix socket has no Nagle algorithm and no
//! keepalive to tune, and its send buffer (about 200 KiB on Linux) drains
//! at memory speed, so a small message never waits behind bulk data in the
//! kernel for long.
//!
//! # The socket file
//!
//! [`Listener::bind`] creates the socket file and fails if the path exists
//! (a stale file from a crashed process included: remove it first if you know
//! it is stale). The listener removes the file when dropped.

use std::path::{Path, PathBuf};

use netcore_pipe::transport::Transport;
use netcore_pipe::{Pipe, PipeConfig};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf, SocketAddr};

use crate::error::{Address, Error};

/// Connects to the socket at `path` and starts a [`Pipe`] over it.
///
/// # Errors
///
/// [`Error::Connect`] naming `path` (no such file, nobody listening,
/// permission denied).
///
/// ```no_run
/// use netcore_transports::{pipe::PipeConfig, unix};
/// # async fn run() -> Result<(), netcore_transports::Error> {
/// let pipe = unix::connect("/run/app.sock", &PipeConfig::default()).await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect(path: impl AsRef<Path>, config: &PipeConfig) -> Result<Pipe, Error> {
    let stream = connect_stream(path).await?;
    Ok(from_stream(stream, config))
}

/// Connects to the socket at `path` and returns the stream itself, without
/// a pipe.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_stream(path: impl AsRef<Path>) -> Result<UnixStream, Error> {
    let path = path.as_ref();
    let stream = UnixStream::connect(path)
        .await
        .map_err(|cause| Error::Connect {
            peer: Address::Unix(path.to_owned()),
            cause,
        })?;
    tracing::debug!(path = %path.display(), "Unix socket connected");
    Ok(stream)
}

/// Starts a [`Pipe`] over a stream made elsewhere (for instance one end of
/// [`UnixStream::pair`]).
pub fn from_stream(stream: UnixStream, config: &PipeConfig) -> Pipe {
    Pipe::new(UnixTransport::new(stream), config.clone())
}

/// A Unix stream as a [`Transport`], split into tokio's owned halves (no
/// lock shared by the reading and writing tasks, unlike the generic split).
///
/// Closing the pipe's write side shuts down the write direction of the
/// socket (the peer reads end of stream); the socket is closed when both
/// halves are dropped.
#[derive(Debug)]
pub struct UnixTransport {
    stream: UnixStream,
}

impl UnixTransport {
    /// Wraps `stream`.
    pub fn new(stream: UnixStream) -> Self {
        UnixTransport { stream }
    }

    /// The stream, to query it.
    pub fn get_ref(&self) -> &UnixStream {
        &self.stream
    }

    /// The stream back.
    pub fn into_inner(self) -> UnixStream {
        self.stream
    }
}

impl From<UnixStream> for UnixTransport {
    fn from(stream: UnixStream) -> Self {
        UnixTransport::new(stream)
    }
}

impl Transport for UnixTransport {
    type Reader = OwnedReadHalf;
    type Writer = OwnedWriteHalf;

    fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.stream.into_split()
    }
}

/// A Unix socket listener whose connections come out as ready [`Pipe`]s.
///
/// It removes its socket file when dropped (if it created it: see
/// [`Listener::bind`]).
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::UnixListener,
    path: Option<PathBuf>,
    /// Remove `path` on drop: only when `bind` created it.
    owns_file: bool,
    config: PipeConfig,
}

impl Listener {
    /// Creates the socket file at `path` and listens on it; accepted
    /// connections get pipes with `config`. Must be called inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] naming `path` (it exists already, its directory does
    /// not, permission denied).
    pub fn bind(path: impl AsRef<Path>, config: PipeConfig) -> Result<Listener, Error> {
        let path = path.as_ref();
        let inner = tokio::net::UnixListener::bind(path).map_err(|cause| Error::Bind {
            local: Address::Unix(path.to_owned()),
            cause,
        })?;
        tracing::debug!(path = %path.display(), "Unix socket listening");
        Ok(Listener {
            inner,
            path: Some(path.to_owned()),
            owns_file: true,
            config,
        })
    }

    /// Wraps a listener bound elsewhere (its socket file is left alone on
    /// drop); accepted connections get pipes with `config`.
    pub fn from_tokio(listener: tokio::net::UnixListener, config: PipeConfig) -> Listener {
        let path = listener
            .local_addr()
            .ok()
            .and_then(|local| local.as_pathname().map(Path::to_owned));
        Listener {
            inner: listener,
            path,
            owns_file: false,
            config,
        }
    }

    /// Waits for the next connection and starts a [`Pipe`] over it; also
    /// returns the peer's address (usually unnamed: a connecting Unix socket
    /// rarely binds a path).
    ///
    /// # Errors
    ///
    /// [`Error::Accept`]; it concerns one connection, so an accept loop
    /// should carry on after it.
    pub async fn accept(&self) -> Result<(Pipe, SocketAddr), Error> {
        let (stream, peer) = self.accept_stream().await?;
        Ok((from_stream(stream, &self.config), peer))
    }

    /// Waits for the next connection and returns the stream itself and the
    /// peer's address, without a pipe.
    ///
    /// # Errors
    ///
    /// As [`accept`](Listener::accept).
    pub async fn accept_stream(&self) -> Result<(UnixStream, SocketAddr), Error> {
        let accepted = self.inner.accept().await.map_err(|cause| Error::Accept {
            local: Address::Unix(self.path.clone().unwrap_or_default()),
            cause,
        })?;
        tracing::debug!(path = ?self.path, "Unix socket accepted");
        Ok(accepted)
    }

    /// The path listened on, if the socket has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The pipe settings accepted connections get.
    pub fn config(&self) -> &PipeConfig {
        &self.config
    }
}

/// A server's listener: each connection becomes a [`UnixTransport`], over
/// which the server starts a pipe with its own settings
/// ([`Listener::config`] is not used here).
impl netcore_pipe::Listener for Listener {
    type Io = UnixTransport;

    async fn accept(&mut self) -> std::io::Result<(UnixTransport, String)> {
        match self.accept_stream().await {
            Ok((stream, peer)) => {
                let name = peer.as_pathname().map_or_else(
                    || "unix:unnamed".to_owned(),
                    |path| format!("unix:{}", path.display()),
                );
                Ok((UnixTransport::new(stream), name))
            }
            Err(error) => Err(error.into_accept_io()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let (true, Some(path)) = (self.owns_file, &self.path)
            && let Err(error) = std::fs::remove_file(path)
        {
            tracing::debug!(path = %path.display(), %error, "could not remove the socket file");
        }
    }
}
