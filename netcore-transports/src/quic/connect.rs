//! The client side: [`QuicConnector`] (one endpoint, many connections) and
//! [`connect`] (one connection, one call).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use netcore_pipe::{Pipe, PipeConfig};
use quinn::Endpoint;

use super::client::QuicClientConfig;
use super::error::QuicError;
use super::stream::QuicStream;

/// A client endpoint (one UDP socket) that opens connections to servers,
/// each carrying one pipe.
///
/// Reuse one connector for many connections; [`connect`] makes a connector
/// for a single connection.
#[derive(Debug, Clone)]
pub struct QuicConnector {
    endpoint: Endpoint,
    config: quinn::ClientConfig,
    alpn: Vec<Vec<u8>>,
}

impl QuicConnector {
    /// A connector on an ephemeral UDP port of the unspecified address of
    /// `family_of`'s family (`0.0.0.0:0` for IPv4 servers, `[::]:0` for
    /// IPv6). Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// TLS configuration errors (see [`QuicClientConfig::to_rustls`]) and
    /// [`QuicError::Bind`].
    pub fn new(
        config: &QuicClientConfig,
        family_of: SocketAddr,
    ) -> Result<QuicConnector, QuicError> {
        let local = match family_of {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        QuicConnector::bind(local, config)
    }

    /// A connector on the UDP address `local`. Must be called inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// TLS configuration errors and [`QuicError::Bind`].
    pub fn bind(local: SocketAddr, config: &QuicClientConfig) -> Result<QuicConnector, QuicError> {
        let quinn_config = config.to_quinn()?;
        let endpoint = Endpoint::client(local).map_err(|source| QuicError::Bind {
            addr: local,
            source,
        })?;
        Ok(QuicConnector {
            endpoint,
            config: quinn_config,
            alpn: config.alpn().to_vec(),
        })
    }

    /// Connects to `addr`, checking its certificate against `server_name`,
    /// and runs a [`Pipe`] over a new bidirectional stream.
    ///
    /// The pipe says HELLO at once, which is what announces the stream to
    /// the server.
    ///
    /// A server that requires a client certificate and does not like ours
    /// (or gets none) decides after our side of the handshake is complete,
    /// so its refusal may surface either here ([`QuicError::Refused`]) or as
    /// the pipe's first error ([`ConnectionError::Transport`], whose QUIC reason
    /// [`connection_error`](super::connection_error) finds).
    ///
    /// [`ConnectionError::Transport`]: netcore_pipe::ConnectionError::Transport
    ///
    /// # Errors
    ///
    /// [`QuicError::Connect`] (bad server name, …), [`QuicError::TlsRejected`]
    /// (the server's certificate is not trusted or not valid for
    /// `server_name`), [`QuicError::Refused`], [`QuicError::AlpnMismatch`],
    /// [`QuicError::Timeout`] (no answer within the idle timeout).
    pub async fn connect(
        &self,
        addr: SocketAddr,
        server_name: &str,
        pipe_config: PipeConfig,
    ) -> Result<Pipe, QuicError> {
        let stream = self.connect_stream(addr, server_name).await?;
        Ok(Pipe::new(stream, pipe_config))
    }

    /// Like [`connect`](QuicConnector::connect), returning the raw
    /// [`QuicStream`]. The server sees the stream only once something is
    /// written to it.
    ///
    /// # Errors
    ///
    /// As [`connect`](QuicConnector::connect).
    pub async fn connect_stream(
        &self,
        addr: SocketAddr,
        server_name: &str,
    ) -> Result<QuicStream, QuicError> {
        let connecting = self
            .endpoint
            .connect_with(self.config.clone(), addr, server_name)
            .map_err(|source| QuicError::Connect {
                addr,
                server_name: server_name.to_owned(),
                source,
            })?;
        let connection = connecting
            .await
            .map_err(|error| QuicError::from_connection(addr, error, &self.alpn))?;
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|error| QuicError::from_connection(addr, error, &self.alpn))?;
        tracing::debug!(%addr, server_name, "QUIC connection established");
        Ok(QuicStream::new(
            connection,
            send,
            recv,
            Some(self.endpoint.clone()),
        ))
    }

    /// The local address of the connector's socket.
    ///
    /// # Errors
    ///
    /// The socket's error, if it cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// The quinn endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// Connects to the server at `addr` (checking its certificate against
/// `server_name`) and returns a ready [`Pipe`] over one bidirectional stream.
///
/// A one-off [`QuicConnector`]: its endpoint lives as long as the connection.
///
/// # Errors
///
/// As [`QuicConnector::new`] and [`QuicConnector::connect`].
pub async fn connect(
    addr: SocketAddr,
    server_name: &str,
    config: &QuicClientConfig,
    pipe_config: PipeConfig,
) -> Result<Pipe, QuicError> {
    QuicConnector::new(config, addr)?
        .connect(addr, server_name, pipe_config)
        .await
}
