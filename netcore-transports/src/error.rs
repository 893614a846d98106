//! The one error type of the connect, listen and open helpers.

use std::fmt;
use std::io;
#[cfg(all(feature = "unix", unix))]
use std::path::PathBuf;

/// Where a connection was going, or a listener was listening: named in every
/// [`Error`] so the message says *which* address failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Address {
    /// A TCP address as the caller gave it (`"example.com:4000"`,
    /// `127.0.0.1:4000`), or as the socket reports it.
    Tcp(String),
    /// A Unix domain socket path.
    #[cfg(all(feature = "unix", unix))]
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(address) => write!(f, "TCP {address}"),
            #[cfg(all(feature = "unix", unix))]
            Address::Unix(path) => write!(f, "Unix socket {}", path.display()),
        }
    }
}

/// Why a transport could not be set up: what was being done, on which
/// address, port or path, and the underlying cause.
///
/// The message names everything needed to act on it:
///
/// ```text
/// cannot connect to TCP 127.0.0.1:9: Connection refused (os error 111)
/// cannot listen on Unix socket /run/app.sock: Address already in use (os error 98)
/// cannot open serial port /dev/ttyUSB0 at 115200 baud: No such file or directory
/// ```
///
/// The cause is part of the message (as in [`ConnectionError`](netcore_pipe::ConnectionError)),
/// so printing the error with `{}` is enough; [`Error::kind`] classifies it
/// for code that must react (retry on `ConnectionRefused`, give up on
/// `NotFound`, …), and an `Error` converts into an [`io::Error`] of that
/// kind for code that speaks `io::Result`.
///
/// Errors *after* setup — the link failing, the peer going away — are not
/// this type: they are reported by the [`Pipe`](netcore_pipe::Pipe) as
/// [`ConnectionError`](netcore_pipe::ConnectionError)s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting failed: refused, unreachable, timed out, or the name did
    /// not resolve.
    #[error("cannot connect to {peer}: {cause}")]
    Connect {
        /// Where to.
        peer: Address,
        /// Why.
        cause: io::Error,
    },
    /// Binding a listener failed (address in use, no permission, …).
    #[error("cannot listen on {local}: {cause}")]
    Bind {
        /// The address or path to listen on.
        local: Address,
        /// Why.
        cause: io::Error,
    },
    /// Accepting a connection failed. Most causes concern that one connection
    /// (the peer gave up, too many open files for now): an accept loop should
    /// log them and carry on.
    #[error("cannot accept a connection on {local}: {cause}")]
    Accept {
        /// The listener's address or path.
        local: Address,
        /// Why.
        cause: io::Error,
    },
    /// Applying a socket option to a connection failed.
    #[error("cannot set {option} on the connection to {peer}: {cause}")]
    Configure {
        /// The option (`TCP_NODELAY`, `SO_KEEPALIVE`, `TCP_NOTSENT_LOWAT`).
        option: &'static str,
        /// The connection's peer.
        peer: Address,
        /// Why.
        cause: io::Error,
    },
    /// Opening or setting up a serial port failed (no such device, busy,
    /// permission denied, unsupported setting).
    #[cfg(feature = "serial")]
    #[error("cannot open serial port {path} at {baud_rate} baud: {cause}")]
    SerialOpen {
        /// The port's path (`/dev/ttyUSB0`, `COM3`).
        path: String,
        /// The baud rate asked for.
        baud_rate: u32,
        /// Why.
        cause: tokio_serial::Error,
    },
    /// Creating a pseudo-terminal pair failed.
    #[cfg(all(feature = "serial", unix))]
    #[error("cannot create a pseudo-terminal pair: {cause}")]
    SerialPair {
        /// Why.
        cause: tokio_serial::Error,
    },
}

impl Error {
    /// The kind of the underlying I/O error, for code that must react to the
    /// cause (retry on [`io::ErrorKind::ConnectionRefused`], …).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Connect { cause, .. }
            | Error::Bind { cause, .. }
            | Error::Accept { cause, .. }
            | Error::Configure { cause, .. } => cause.kind(),
            #[cfg(feature = "serial")]
            Error::SerialOpen { cause, .. } => serial_kind(cause),
            #[cfg(all(feature = "serial", unix))]
            Error::SerialPair { cause } => serial_kind(cause),
        }
    }
}

#[cfg(feature = "serial")]
fn serial_kind(error: &tokio_serial::Error) -> io::ErrorKind {
    match error.kind() {
        tokio_serial::ErrorKind::NoDevice => io::ErrorKind::NotFound,
        tokio_serial::ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
        tokio_serial::ErrorKind::Io(kind) => kind,
        tokio_serial::ErrorKind::Unknown => io::ErrorKind::Other,
    }
}

/// An [`Error`] as an [`io::Error`] of the same [kind](Error::kind), the
/// `Error` itself as its inner error (so its message is kept whole).
impl From<Error> for io::Error {
    fn from(error: Error) -> io::Error {
        io::Error::new(error.kind(), error)
    }
}

impl Error {
    /// This accept error as a [`Listener`](netcore_pipe::Listener) reports
    /// it: a connection that could not be tuned was dropped, which concerns
    /// that connection only (`ConnectionAborted`), so a server keeps
    /// accepting; a failed `accept` is the system's own error, raw OS code
    /// kept (a server tells "too many open files" by it).
    #[cfg(any(feature = "tcp", all(feature = "unix", unix)))]
    pub(crate) fn into_accept_io(self) -> io::Error {
        tracing::debug!(error = %self, "accept failed");
        match self {
            Error::Configure { .. } => io::Error::new(io::ErrorKind::ConnectionAborted, self),
            Error::Accept { cause, .. } => cause,
            other => other.into(),
        }
    }
}
