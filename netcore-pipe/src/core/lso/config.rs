//! Settings of the sans-IO connection core.

use std::time::Duration;

use netcore_protocol::{DecodeMode, Limits};

use super::{HeaderBudget, WindowBudget};

/// How a [`Connection`](super::Connection) behaves. The defaults suit a fast
/// reliable stream (TCP, QUIC); [`CoreConfig::lossy_link`] suits serial lines.
///
/// ```
/// use netcore_pipe::core::CoreConfig;
/// let serial = CoreConfig::lossy_link();
/// assert!(serial.chunk_size <= 1024);
/// ```
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct CoreConfig {
    /// Receive limits advertised to the peer and enforced.
    pub limits: Limits,
    /// Strict for reliable streams, resync for lossy ones.
    pub decode_mode: DecodeMode,
    /// Largest body chunk per frame (clamped to what the peer accepts).
    pub chunk_size: usize,
    /// Initial receive window of each incoming message, in bytes.
    pub message_window: u32,
    /// Initial receive window of the connection, in bytes (ignored in resync
    /// mode, where bytes lost on the link would make it drift). The part
    /// above [`min_connection_window`](Self::min_connection_window) — the
    /// floor the HELLO grants — is taken from the
    /// [`window_budget`](Self::window_budget) once the peer's HELLO has
    /// come, and granted by CREDIT; with the budget spent, the window stays
    /// nearer that floor.
    pub connection_window: u32,
    /// The part of `connection_window` every connection gets whatever the
    /// budget holds: the floor a connection's window starts from when many
    /// connections (a server's, hostile ones included) have spent the
    /// [`window_budget`](Self::window_budget). With it, the unread bodies of
    /// all connections made from this configuration stay under
    /// `connections × min_connection_window + budget`.
    pub min_connection_window: u32,
    /// Largest a message's receive window may grow to by auto-tuning (see
    /// the growth rule in the crate docs: a window grows towards twice the
    /// bytes the path delivers per round trip, so long fat paths get the
    /// bandwidth-delay product; paths with a round trip under 1 ms, such as
    /// loopback or a LAN, keep the initial window).
    pub max_window: u64,
    /// Largest the connection's receive window may grow to by auto-tuning:
    /// the most unread body bytes the peer can make this connection hold.
    /// It bounds what all messages have in flight together, so it is at
    /// least `max_window`.
    pub max_connection_window: u64,
    /// Where connection windows take their initial part above
    /// `min_connection_window`, and their growth, from: shared by every
    /// connection made from clones of this configuration (a server's), so
    /// their unread bodies together stay under `connections ×
    /// min_connection_window + budget`. See [`WindowBudget`].
    pub window_budget: WindowBudget,
    /// How often to PING the peer (keepalive and RTT); `None` disables.
    pub keepalive: Option<Duration>,
    /// End the connection ([`ConnectionError::KeepaliveTimeout`]) when a PING
    /// goes unanswered this long: the path is blackholed (sockets open,
    /// nothing arrives) or the peer is wedged. `None` disables. With
    /// `keepalive: None` only the first PING (sent at the start, for the
    /// round-trip estimate) is timed.
    ///
    /// [`ConnectionError::KeepaliveTimeout`]: crate::ConnectionError::KeepaliveTimeout
    pub keepalive_timeout: Option<Duration>,
    /// End the connection ([`ConnectionError::IdleTimeout`]) when no message
    /// frame (OPEN, DATA, END) went either way for this long. Keepalive
    /// PINGs, CREDIT and bytes that never complete a frame do not count, so
    /// a peer cannot hold a connection for ever by trickling. `None`
    /// disables. A call whose handler runs longer than this without traffic
    /// loses its connection: raise it for such routes.
    ///
    /// [`ConnectionError::IdleTimeout`]: crate::ConnectionError::IdleTimeout
    pub idle_timeout: Option<Duration>,
    /// End the connection ([`ConnectionError::HandshakeTimeout`]) when the
    /// peer's HELLO has not arrived this long after the start: a peer that
    /// connects and says nothing, or half a HELLO, costs a bounded time.
    /// `None` disables.
    ///
    /// [`ConnectionError::HandshakeTimeout`]: crate::ConnectionError::HandshakeTimeout
    pub handshake_timeout: Option<Duration>,
    /// Header bytes (encoded blocks) of incoming messages that are open —
    /// opened, body not yet all arrived and read — that this connection
    /// holds of its own. Past it, an OPEN's headers are taken from the
    /// [`shared_header_budget`](Self::shared_header_budget); an OPEN that
    /// finds no room in either is refused (a receiver CANCEL with code
    /// `REFUSED`: the message was not processed, the sender may retry) and
    /// the connection goes on. So a peer cannot make this side hold
    /// `max_concurrent_messages × max_header_bytes` of headers, and many
    /// peers together hold at most `connections × header_budget + shared`.
    /// Default 64 KiB: four blocks of the largest default size, hundreds of
    /// typical ones.
    pub header_budget: usize,
    /// Where open headers past a connection's own
    /// [`header_budget`](Self::header_budget) come from: shared by every
    /// connection made from clones of this configuration. See
    /// [`HeaderBudget`].
    pub shared_header_budget: HeaderBudget,
    /// The `agent` header of our HELLO.
    pub agent: String,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            limits: Limits::default(),
            decode_mode: DecodeMode::Strict,
            chunk_size: 64 << 10,
            // Small windows keep little data in flight ahead of a new small
            // message (latency under bulk); they grow when the link needs
            // more (see `max_window`). Measured on loopback: 512 KiB / 4 MiB
            // gives the best throughput *and* a p99 under 1 ms.
            message_window: 512 << 10,
            connection_window: 4 << 20,
            // 1024 connections that spent the budget hold 256 MiB at most
            // beside it; one that gets only the floor still moves 256 KiB
            // per round trip (250 MB/s at 1 ms) and grows from the budget
            // as others give theirs back.
            min_connection_window: 256 << 10,
            // 128 MiB per message holds the bandwidth-delay product of
            // 1 GB/s over 100 ms (with the quarter of credit not yet
            // returned); the connection, twice that for several. Measured
            // through a 56 ms delay (docs/wan.md): 64 MiB capped one
            // transfer at 0.64× raw TCP, 128 MiB gives 0.84×.
            max_window: 128 << 20,
            max_connection_window: 256 << 20,
            window_budget: WindowBudget::default(),
            keepalive: Some(Duration::from_secs(10)),
            // Two PINGs missed, and a third one late.
            keepalive_timeout: Some(Duration::from_secs(25)),
            idle_timeout: Some(Duration::from_secs(300)),
            handshake_timeout: Some(Duration::from_secs(10)),
            header_budget: 64 << 10,
            shared_header_budget: HeaderBudget::default(),
            agent: concat!("netcore-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl CoreConfig {
    /// Whether these settings are for a lossy link: the decoder resyncs
    /// ([`DecodeMode::Resync`]), and the core repeats what loss could
    /// swallow (HELLO, CREDIT) and keeps no connection window. One idea,
    /// one name: "lossy link" for the setting, "resync" for what the
    /// decoder does about it.
    pub fn is_lossy_link(&self) -> bool {
        self.decode_mode == DecodeMode::Resync
    }

    /// Settings for a slow, lossy byte stream: resync decoding, 512-byte
    /// chunks, small windows.
    pub fn lossy_link() -> CoreConfig {
        CoreConfig {
            decode_mode: DecodeMode::Resync,
            chunk_size: 512,
            message_window: 16 << 10,
            connection_window: 256 << 10,
            max_window: 1 << 20,
            max_connection_window: 1 << 20,
            keepalive: Some(Duration::from_secs(2)),
            ..CoreConfig::default()
        }
    }
}
