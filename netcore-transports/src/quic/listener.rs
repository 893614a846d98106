//! [`QuicListener`]: a server endpoint that hands out one pipe (or raw
//! stream) per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netcore_pipe::{Pipe, PipeConfig};
use quinn::{Endpoint, Incoming};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use super::error::QuicError;
use super::server::QuicServerConfig;
use super::stream::QuicStream;

/// Connections that finished their handshake and opened their stream, not
/// yet taken by `accept`. Further handshakes wait when it is full.
const READY_QUEUE: usize = 64;

/// What the background task hands `accept`.
type Ready = (QuicStream, SocketAddr);

/// A QUIC server endpoint: [`accept`](QuicListener::accept) yields a ready
/// [`Pipe`] per client connection, running over the first bidirectional
/// stream the client opens.
///
/// Handshakes run concurrently in the background, each bounded by
/// [`QuicOptions::accept_timeout`](super::QuicOptions::accept_timeout), so a
/// slow or silent client never holds up the others. Connections that fail
/// (untrusted or missing client certificate, wrong ALPN, timeout) are logged
/// with `tracing` and skipped: `accept` only returns working connections, or
/// [`QuicError::EndpointClosed`] once the listener is closed.
///
/// Dropping the listener stops accepting (new clients are refused at once)
/// but leaves the connections already accepted running.
#[derive(Debug)]
pub struct QuicListener {
    endpoint: Endpoint,
    ready: Mutex<mpsc::Receiver<Ready>>,
    acceptor: JoinHandle<()>,
    pipe_config: PipeConfig,
}

impl QuicListener {
    /// Binds a UDP socket on `addr` and starts accepting connections with
    /// `config`. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// TLS configuration errors (see [`QuicServerConfig::to_rustls`]) and
    /// [`QuicError::Bind`].
    pub fn bind(addr: SocketAddr, config: &QuicServerConfig) -> Result<QuicListener, QuicError> {
        let endpoint = Endpoint::server(config.to_quinn()?, addr)
            .map_err(|source| QuicError::Bind { addr, source })?;
        let (ready_tx, ready) = mpsc::channel(READY_QUEUE);
        let settings = Arc::new(Settings {
            alpn: config.alpn().to_vec(),
            accept_timeout: config.quic_options().accept_timeout,
            endpoint: endpoint.clone(),
        });
        let acceptor = tokio::spawn(accept_loop(settings, ready_tx));
        if let Ok(local) = endpoint.local_addr() {
            tracing::debug!(%local, "QUIC listener bound");
        }
        Ok(QuicListener {
            endpoint,
            ready: Mutex::new(ready),
            acceptor,
            pipe_config: PipeConfig::default(),
        })
    }

    /// The [`PipeConfig`] of the pipes [`accept`](QuicListener::accept)
    /// builds (default: [`PipeConfig::default`]).
    pub fn with_pipe_config(mut self, pipe_config: PipeConfig) -> QuicListener {
        self.pipe_config = pipe_config;
        self
    }

    /// The address the listener is bound to (with the actual port when bound
    /// to port 0).
    ///
    /// # Errors
    ///
    /// The socket's error, if it cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// The next client connection as a ready [`Pipe`], with the client's address.
    ///
    /// Waits for a client whose handshake succeeded and whose first
    /// bidirectional stream arrived (a Netcore client's pipe opens it with
    /// its HELLO at once).
    ///
    /// # Errors
    ///
    /// [`QuicError::EndpointClosed`] once the listener is closed; failed
    /// connections are skipped, not returned.
    pub async fn accept(&self) -> Result<(Pipe, SocketAddr), QuicError> {
        let (stream, peer) = self.accept_stream().await?;
        Ok((Pipe::new(stream, self.pipe_config.clone()), peer))
    }

    /// Like [`accept`](QuicListener::accept), returning the raw
    /// [`QuicStream`] (for a custom [`PipeConfig`] per connection, access to
    /// the connection, or no pipe at all). The client must have sent data on
    /// the stream for it to arrive.
    ///
    /// # Errors
    ///
    /// [`QuicError::EndpointClosed`] once the listener is closed.
    pub async fn accept_stream(&self) -> Result<(QuicStream, SocketAddr), QuicError> {
        self.ready
            .lock()
            .await
            .recv()
            .await
            .ok_or(QuicError::EndpointClosed)
    }

    /// Stops accepting and closes every connection of this endpoint at once
    /// (application error code 0, reason "listener closed"). To stop
    /// accepting but let accepted connections run, drop the listener instead.
    pub fn close(&self) {
        self.acceptor.abort();
        self.endpoint.close(0u32.into(), b"listener closed");
    }

    /// The quinn endpoint (statistics, rebinding, waiting until idle).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// A server's listener: each accepted connection's stream is a
/// [`QuicStream`], over which the server starts a pipe with its own
/// settings (the pipe config of [`with_pipe_config`](QuicListener::with_pipe_config)
/// is not used here). Failed handshakes are skipped, not returned; the only
/// error is the listener closing (`NotConnected`), which ends the server's
/// accept loop.
impl netcore_pipe::Listener for QuicListener {
    type Io = QuicStream;

    async fn accept(&mut self) -> std::io::Result<(QuicStream, String)> {
        match self.accept_stream().await {
            Ok((stream, peer)) => Ok((stream, peer.to_string())),
            Err(error) => Err(std::io::Error::new(std::io::ErrorKind::NotConnected, error)),
        }
    }
}

impl Drop for QuicListener {
    fn drop(&mut self) {
        self.acceptor.abort();
        // New connection attempts are refused from now on; accepted
        // connections keep the endpoint alive and running.
        self.endpoint.set_server_config(None);
    }
}

/// What every handshake task needs.
#[derive(Debug)]
struct Settings {
    alpn: Vec<Vec<u8>>,
    accept_timeout: Duration,
    endpoint: Endpoint,
}

/// Accepts connection attempts until the endpoint closes, each handshake in
/// its own task.
async fn accept_loop(settings: Arc<Settings>, ready: mpsc::Sender<Ready>) {
    while let Some(incoming) = settings.endpoint.accept().await {
        let settings = settings.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let peer = incoming.remote_address();
            let accepted =
                tokio::time::timeout(settings.accept_timeout, establish(incoming, &settings)).await;
            match accepted {
                Ok(Ok(stream)) => {
                    tracing::debug!(%peer, "QUIC connection accepted");
                    // The listener may be gone; the connection goes with it.
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::info!(%peer, %error, "QUIC connection refused"),
                Err(_) => tracing::debug!(
                    %peer,
                    timeout = ?settings.accept_timeout,
                    "QUIC connection dropped: no handshake and stream in time"
                ),
            }
        });
    }
    tracing::debug!("QUIC listener stopped accepting");
}

/// The handshake, then the client's first bidirectional stream.
async fn establish(incoming: Incoming, settings: &Settings) -> Result<QuicStream, QuicError> {
    let peer = incoming.remote_address();
    let connection = incoming
        .await
        .map_err(|error| QuicError::from_connection(peer, error, &settings.alpn))?;
    let (send, recv) = connection
        .accept_bi()
        .await
        .map_err(|error| QuicError::from_connection(peer, error, &settings.alpn))?;
    Ok(QuicStream::new(
        connection,
        send,
        recv,
        Some(settings.endpoint.clone()),
    ))
}
