//! QUIC: a [`Pipe`](netcore_pipe::Pipe) over one bidirectional QUIC stream,
//! with TLS 1.3 (rustls, ring provider) and ALPN `netcore/2` (quinn).
//!
//! | you want | use |
//! |---|---|
//! | a server handing out one pipe per client | [`QuicListener::bind`] + [`QuicListener::accept`] |
//! | a client pipe | [`connect`], or a reusable [`QuicConnector`] |
//! | the server's certificate from PEM files | [`QuicServerConfig::from_pem_files`] |
//! | a development certificate | [`QuicServerConfig::self_signed`], [`Identity::self_signed`], [`DevCa`] |
//! | whom the client trusts | [`TrustRoots`] in [`QuicClientConfig::new`] |
//! | mutual TLS | [`QuicServerConfig::require_client_certificates`] + [`QuicClientConfig::client_certificate`] |
//! | the raw byte link | [`QuicStream`] (from [`QuicListener::accept_stream`] / [`QuicConnector::connect_stream`]) |
//! | quinn configs for your own endpoint | [`QuicServerConfig::to_quinn`], [`QuicClientConfig::to_quinn`] |
//! | why a running pipe's QUIC connection failed | [`connection_error`] |
//!
//! ## Example
//!
//! A server with a fresh self-signed certificate, and a client that trusts
//! only that certificate, over loopback:
//!
//! ```
//! use netcore_pipe::{Message, PipeConfig};
//! use netcore_transports::quic::{self, QuicClientConfig, QuicListener, QuicServerConfig, TrustRoots};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server_config = QuicServerConfig::self_signed(&["localhost"])?;
//! let listener = QuicListener::bind("127.0.0.1:0".parse()?, &server_config)?;
//! let addr = listener.local_addr()?;
//!
//! let roots = TrustRoots::new().add_der(server_config.certificate_der().clone())?;
//! let client_config = QuicClientConfig::new(roots);
//! let client = quic::connect(addr, "localhost", &client_config, PipeConfig::default()).await?;
//! let (server, _client_addr) = listener.accept().await?;
//!
//! client.send(Message::new("hello over QUIC"))?.await?;
//! assert_eq!(server.recv().await?.body.to_bytes().await?, "hello over QUIC");
//!
//! client.close().await?;
//! server.closed().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Certificates
//!
//! A server presents an [`Identity`] (certificate chain and key): from PEM
//! files in production, generated at run time for development. Clients
//! trust explicit [`TrustRoots`] — a CA, or the server's self-signed
//! certificate; there is no built-in web PKI. For mutual TLS the server
//! names the roots client certificates must chain to, and each client
//! presents its own identity; a [`DevCa`] issues both sides' certificates in
//! tests. Every error says what to fix: [`QuicError`] names the PEM file at
//! fault, the address that refused, or the TLS alert.
//!
//! With TLS 1.3 a client finishes its handshake before the server has
//! checked the client certificate, so a refused client certificate may
//! surface from [`connect`] or as the pipe's first error; either way it
//! surfaces promptly, as an error.
//!
//! ## Closing
//!
//! [`Pipe::close`](netcore_pipe::Pipe::close) works as on any transport:
//! GOAWAY both ways, messages in flight finish, then each side finishes its
//! send stream. A [`QuicStream`] makes that safe on QUIC, where dropping
//! the last handle of a connection closes it at once: the writer's close
//! waits until the peer has acknowledged every byte, both halves keep the
//! connection (and its endpoint) alive, and a reader dropped early drains
//! the stream until the peer's finish instead of telling it to stop. A peer
//! that vanishes is noticed by QUIC's idle timeout ([`QuicOptions`]) or the
//! pipe's own keepalive, whichever comes first; a peer that closes the
//! connection is noticed at once. Either way every pending operation ends
//! with an error, never a hang.
//!
//! ## One stream, or a QUIC stream per message?
//!
//! This module runs the whole pipe over **one bidirectional QUIC stream**:
//! QUIC is just a secure, congestion-controlled byte link, and the pipe does
//! what it does everywhere else.
//!
//! - *For it:* the pipe's own scheduling applies unchanged — strict priority
//!   tiers, deficit round robin by bytes inside a tier, a control lane ahead
//!   of all data — and so do its per-message and per-connection flow control,
//!   cancellation, keepalive and limits. Behaviour is identical on TCP, QUIC,
//!   serial or a custom link, and one stream costs one flow-control window.
//! - *Against it:* one ordered byte stream has **head-of-line blocking at the
//!   transport**: a single lost packet stalls every message behind it until
//!   the retransmission arrives, even messages whose own bytes all got
//!   through. On a lossy path (Wi-Fi, mobile) that hurts tail latency, much
//!   as it does on TCP.
//!
//! The alternative maps **each message onto a native QUIC stream**:
//!
//! - *For it:* no transport head-of-line blocking between messages (a loss
//!   stalls only the message it hit), QUIC's own per-stream and
//!   per-connection flow control, and cancellation as a stream reset.
//! - *Against it:* priorities and fairness are left to quinn's stream
//!   scheduler (per-stream integer priorities, round robin within a level),
//!   not the pipe's tiers and byte-fair DRR; the LSO v2 framing would carry
//!   only headers (OPEN, END, CANCEL as stream events), so a second code path
//!   with its own tests; and stream-count limits become a second concurrency
//!   limit to negotiate.
//!
//! The native-streams mode is **future work**: the pipe's sans-IO core
//! assumes one ordered byte stream, and the one-stream mode already meets
//! the "every medium, one line to use" goal. The raw [`QuicStream`] and
//! [`QuicStream::connection`] leave room to experiment with more streams
//! today.

mod client;
mod connect;
mod dev;
mod error;
mod identity;
mod listener;
mod options;
mod pem;
mod server;
mod stream;
mod trust;

use std::sync::{Arc, OnceLock};

pub use client::QuicClientConfig;
pub use connect::{QuicConnector, connect};
pub use dev::DevCa;
pub use error::{QuicError, connection_error, tls_alert};
pub use identity::Identity;
pub use listener::QuicListener;
pub use options::QuicOptions;
pub use server::QuicServerConfig;
pub use stream::{QuicReader, QuicStream, QuicWriter};
pub use trust::TrustRoots;

/// The ALPN protocol both sides offer: `netcore/2` (LSO v2).
pub const ALPN: &[u8] = b"netcore/2";

/// The one crypto provider of this module: ring, passed explicitly, so no
/// process-wide default has to be installed (and another provider compiled
/// in elsewhere cannot make a builder panic).
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}
