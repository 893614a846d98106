//! [`QuicOptions`]: the QUIC transport settings both sides use.

use std::time::Duration;

use quinn::{IdleTimeout, TransportConfig, VarInt};

/// QUIC transport settings of a [`QuicServerConfig`](super::QuicServerConfig)
/// or [`QuicClientConfig`](super::QuicClientConfig).
///
/// The defaults suit one pipe per connection on a LAN or the internet. All
/// pipe traffic rides one QUIC stream, so that stream's window is the
/// connection's window: it is larger than quinn's default so a single stream
/// can fill a fast path with some latency (throughput ≤ window / RTT).
///
/// ```
/// use std::time::Duration;
/// use netcore_transports::quic::QuicOptions;
///
/// let options = QuicOptions {
///     idle_timeout: Duration::from_secs(5),
///     ..QuicOptions::default()
/// };
/// assert_eq!(options.stream_receive_window, 16 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicOptions {
    /// The connection fails when nothing arrives for this long (the smaller
    /// of both sides' values applies). It also bounds how long a connection
    /// attempt to a silent address waits. Default 30 s. The Pipe's own
    /// keepalive PINGs (every 10 s by default) keep a healthy but quiet
    /// connection from timing out.
    pub idle_timeout: Duration,
    /// Send QUIC keep-alive packets this often, if set. Default `None`: the
    /// Pipe's PINGs already do it; set it for raw [`QuicStream`](super::QuicStream)
    /// use or to keep NAT bindings warm.
    pub keep_alive_interval: Option<Duration>,
    /// Bytes the peer may send on the pipe's stream ahead of what this side
    /// has read. Default 16 MiB.
    pub stream_receive_window: u32,
    /// Bytes the peer may send on all streams together ahead of what this
    /// side has read. Default 16 MiB.
    pub receive_window: u32,
    /// Bytes this side buffers for sending before writes wait. Default 16 MiB.
    pub send_window: u64,
    /// Server side: how long a new connection may take to finish its
    /// handshake and open its stream before it is dropped, so a slow or
    /// silent client cannot hold a slot. Default 10 s.
    pub accept_timeout: Duration,
}

impl Default for QuicOptions {
    fn default() -> QuicOptions {
        QuicOptions {
            idle_timeout: Duration::from_secs(30),
            keep_alive_interval: None,
            stream_receive_window: 16 << 20,
            receive_window: 16 << 20,
            send_window: 16 << 20,
            accept_timeout: Duration::from_secs(10),
        }
    }
}

impl QuicOptions {
    /// The quinn transport configuration these options describe.
    pub fn to_transport_config(&self) -> TransportConfig {
        let mut config = TransportConfig::default();
        // Larger than 2^62 ms cannot be encoded: treat it as "no idle timeout".
        config.max_idle_timeout(IdleTimeout::try_from(self.idle_timeout).ok());
        config.keep_alive_interval(self.keep_alive_interval);
        config.stream_receive_window(VarInt::from_u32(self.stream_receive_window));
        config.receive_window(VarInt::from_u32(self.receive_window));
        config.send_window(self.send_window);
        config
    }
}
