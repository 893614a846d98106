//! [`QuicError`]: what went wrong while configuring, binding, connecting or
//! accepting — and [`connection_error`], which finds the QUIC reason inside a
//! pipe's [`ConnectionError`](netcore_pipe::ConnectionError) once the pipe
//! is running.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use quinn::{ConnectionError, TransportErrorCode};
use rustls::pki_types::pem;

/// The TLS alert `no_application_protocol` (RFC 7301): no common ALPN protocol.
const ALERT_NO_APPLICATION_PROTOCOL: u8 = 120;

/// What went wrong while configuring TLS, binding an endpoint, connecting or
/// accepting a QUIC connection.
///
/// Once a [`Pipe`](netcore_pipe::Pipe) runs over the connection, failures
/// reach the application as
/// [`netcore_pipe::ConnectionError::Transport`] instead;
/// [`connection_error`] recovers the QUIC reason from those.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// A certificate or key file could not be read.
    #[error("cannot read the {what} file {}: {source}", path.display())]
    ReadFile {
        /// What the file should hold ("certificate chain", "private key", "trust roots").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// PEM text is malformed.
    #[error("bad PEM in the {what} from {origin}: {source}")]
    Pem {
        /// What the PEM should hold.
        what: &'static str,
        /// Where it came from (a file path, or "memory").
        origin: String,
        /// What is wrong with it.
        #[source]
        source: pem::Error,
    },
    /// PEM text holds no item of the expected kind (for example a key file
    /// with only certificates in it).
    #[error("no {what} found in {origin}")]
    NoPemItem {
        /// What was looked for.
        what: &'static str,
        /// Where it was looked for (a file path, or "memory").
        origin: String,
    },
    /// A certificate chain with no certificate in it.
    #[error("the certificate chain is empty")]
    EmptyCertificateChain,
    /// Generating a development certificate failed.
    #[error("cannot generate a certificate: {0}")]
    CertificateGeneration(#[from] rcgen::Error),
    /// A trust root certificate was rejected (not a parsable X.509 certificate).
    #[error("cannot use a trust root certificate: {0}")]
    TrustRoot(#[source] rustls::Error),
    /// The TLS configuration is invalid (for example the private key does not
    /// match the certificate).
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built (for example no
    /// trust roots were given).
    #[error("cannot verify client certificates: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// The TLS configuration cannot be used for QUIC (it lacks a TLS 1.3 cipher suite).
    #[error("the TLS configuration cannot be used for QUIC: {0}")]
    NotQuicCapable(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    /// The UDP socket could not be bound.
    #[error("cannot bind a UDP socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: io::Error,
    },
    /// The connection could not even be started (bad server name, no
    /// client configuration, endpoint stopping, …).
    #[error("cannot connect to {addr} as {server_name:?}: {source}")]
    Connect {
        /// The server address.
        addr: SocketAddr,
        /// The name the server's certificate was to be checked against.
        server_name: String,
        /// Why.
        #[source]
        source: quinn::ConnectError,
    },
    /// The peer did not answer in time (handshake or idle timeout).
    #[error("no answer from {addr} in time: {source}")]
    Timeout {
        /// The peer.
        addr: SocketAddr,
        /// The QUIC error (`TimedOut`).
        #[source]
        source: ConnectionError,
    },
    /// This side refused the peer during the TLS handshake: its certificate is
    /// not trusted, does not match the server name, or is missing.
    #[error(
        "TLS handshake with {addr} failed on our side: {source}{}",
        alert_name(source)
    )]
    TlsRejected {
        /// The peer.
        addr: SocketAddr,
        /// The QUIC error, with rustls's reason.
        #[source]
        source: ConnectionError,
    },
    /// The peer refused the connection: it closed it during the handshake or
    /// before the stream opened (for example a server that requires a client
    /// certificate, or does not trust ours).
    #[error("{addr} refused the connection: {source}{}", alert_name(source))]
    Refused {
        /// The peer.
        addr: SocketAddr,
        /// The close the peer sent.
        #[source]
        source: ConnectionError,
    },
    /// The peer speaks none of our application protocols (ALPN).
    #[error("{addr} speaks none of our application protocols (ALPN); we offer {offered}")]
    AlpnMismatch {
        /// The peer.
        addr: SocketAddr,
        /// What this side offered, for the message.
        offered: String,
        /// The QUIC error.
        #[source]
        source: ConnectionError,
    },
    /// The connection failed for another reason.
    #[error("the QUIC connection with {addr} failed: {source}")]
    Connection {
        /// The peer.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: ConnectionError,
    },
    /// The endpoint was closed: no more connections.
    #[error("the QUIC endpoint is closed")]
    EndpointClosed,
}

impl QuicError {
    /// Sorts a connection failure during set-up by what the user should fix.
    pub(crate) fn from_connection(
        addr: SocketAddr,
        error: ConnectionError,
        alpn: &[Vec<u8>],
    ) -> QuicError {
        let no_alpn = TransportErrorCode::crypto(ALERT_NO_APPLICATION_PROTOCOL);
        match &error {
            ConnectionError::TransportError(local) if local.code == no_alpn => {
                QuicError::AlpnMismatch {
                    addr,
                    offered: describe_alpn(alpn),
                    source: error,
                }
            }
            ConnectionError::ConnectionClosed(close) if close.error_code == no_alpn => {
                QuicError::AlpnMismatch {
                    addr,
                    offered: describe_alpn(alpn),
                    source: error,
                }
            }
            ConnectionError::TransportError(local) if crypto_alert(local.code).is_some() => {
                QuicError::TlsRejected {
                    addr,
                    source: error,
                }
            }
            ConnectionError::ConnectionClosed(_)
            | ConnectionError::ApplicationClosed(_)
            | ConnectionError::Reset => QuicError::Refused {
                addr,
                source: error,
            },
            ConnectionError::TimedOut => QuicError::Timeout {
                addr,
                source: error,
            },
            ConnectionError::LocallyClosed => QuicError::EndpointClosed,
            _ => QuicError::Connection {
                addr,
                source: error,
            },
        }
    }

    /// The QUIC connection error behind this one, if there is one.
    pub fn connection_error(&self) -> Option<&ConnectionError> {
        match self {
            QuicError::Timeout { source, .. }
            | QuicError::TlsRejected { source, .. }
            | QuicError::Refused { source, .. }
            | QuicError::AlpnMismatch { source, .. }
            | QuicError::Connection { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The TLS alert behind this error, if the handshake failed with one
    /// (for example `CertificateRequired` when a server wants a client
    /// certificate, `UnknownCA`/`BadCertificate` for an untrusted one).
    pub fn tls_alert(&self) -> Option<rustls::AlertDescription> {
        self.connection_error().and_then(tls_alert)
    }
}

/// The QUIC connection error inside a pipe's connection error, if the pipe
/// failed because its QUIC connection did.
///
/// A [`Pipe`](netcore_pipe::Pipe) over a [`QuicStream`](super::QuicStream)
/// reports transport failures as
/// [`netcore_pipe::ConnectionError::Transport`]; this digs the QUIC
/// [`ConnectionError`] (peer closed, timed out, TLS refused after the
/// handshake as with a missing client certificate, …) back out of it. A
/// failed send or receive hands its connection's error over through
/// [`SendError::connection`](netcore_pipe::SendError::connection) and
/// [`ReceiveError::connection`](netcore_pipe::ReceiveError::connection).
///
/// ```
/// use netcore_transports::quic::connection_error;
///
/// let closed = netcore_pipe::ConnectionError::PeerClosed;
/// assert!(connection_error(&closed).is_none());
/// let lost = std::io::Error::other(quinn::ConnectionError::TimedOut);
/// assert_eq!(
///     connection_error(&netcore_pipe::ConnectionError::transport(lost)),
///     Some(quinn::ConnectionError::TimedOut),
/// );
/// ```
pub fn connection_error(error: &netcore_pipe::ConnectionError) -> Option<ConnectionError> {
    let netcore_pipe::ConnectionError::Transport(io) = error else {
        return None;
    };
    let inner = io.get_ref()?;
    if let Some(error) = inner.downcast_ref::<ConnectionError>() {
        return Some(error.clone());
    }
    if let Some(quinn::ReadError::ConnectionLost(error)) = inner.downcast_ref::<quinn::ReadError>()
    {
        return Some(error.clone());
    }
    if let Some(quinn::WriteError::ConnectionLost(error)) =
        inner.downcast_ref::<quinn::WriteError>()
    {
        return Some(error.clone());
    }
    if let Some(quinn::StoppedError::ConnectionLost(error)) =
        inner.downcast_ref::<quinn::StoppedError>()
    {
        return Some(error.clone());
    }
    None
}

/// The TLS alert a connection error carries, if any (sent by either side).
pub fn tls_alert(error: &ConnectionError) -> Option<rustls::AlertDescription> {
    match error {
        ConnectionError::TransportError(local) => crypto_alert(local.code),
        ConnectionError::ConnectionClosed(close) => crypto_alert(close.error_code),
        _ => None,
    }
}

/// The alert of a crypto transport error code (0x100–0x1ff).
fn crypto_alert(code: TransportErrorCode) -> Option<rustls::AlertDescription> {
    let code = u64::from(code);
    (0x100..0x200)
        .contains(&code)
        .then(|| rustls::AlertDescription::from((code & 0xff) as u8))
}

/// " (TLS alert X)" for messages, or nothing.
fn alert_name(error: &ConnectionError) -> String {
    tls_alert(error)
        .map(|alert| format!(" (TLS alert {alert:?})"))
        .unwrap_or_default()
}

/// `"netcore/2", "other"` for messages.
fn describe_alpn(alpn: &[Vec<u8>]) -> String {
    if alpn.is_empty() {
        return "nothing".to_owned();
    }
    alpn.iter()
        .map(|protocol| format!("{:?}", String::from_utf8_lossy(protocol)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An I/O error for a stream failure that keeps the QUIC reason findable by
/// [`connection_error`] and readable in the message.
pub(crate) fn connection_lost(error: ConnectionError) -> io::Error {
    let kind = match &error {
        ConnectionError::TimedOut => io::ErrorKind::TimedOut,
        ConnectionError::Reset => io::ErrorKind::ConnectionReset,
        ConnectionError::LocallyClosed => io::ErrorKind::NotConnected,
        _ => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, error)
}
