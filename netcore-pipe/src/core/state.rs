//! Where a connection is in its life, the same words for every wire format.

/// Where a connection is in its life, the same words for every wire format.
///
/// ```text
///                 new()
///                   │
///                   ▼
///          ┌────────────────┐  peer's HELLO   ┌──────────┐
///          │ AwaitingHello  │────────────────▶│   Open   │
///          └────────────────┘                 └──────────┘
///                   │ close() / peer GOAWAY         │ close() / peer GOAWAY
///                   └──────────────┬────────────────┘
///                                  ▼
///                           ┌────────────┐  our messages all framed:
///                           │  Closing   │  GOAWAY goes out
///                           └────────────┘
///                                  │
///                                  ▼
///                           ┌────────────┐  both GOAWAYs said and
///                           │  Draining  │  nothing in flight
///                           └────────────┘
///                                  │
///                                  ▼
///                           ┌────────────┐
///   any state ─────────────▶│   Closed   │
///   (abort, error, EOF)     └────────────┘
/// ```
///
/// A format without a handshake (Python 0.1.3) starts `Open`; one without a
/// close message goes from `Closing` to `Closed` once its messages are out.
/// A connection that is `Closing` or `Draining` before the peer's HELLO came
/// reports the closing state: the handshake matters only to an open
/// connection.
///
/// More states will come (a handshake deadline, a link being resumed), so
/// the enum is `#[non_exhaustive]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Our HELLO is out; the peer's has not come. Messages may be queued,
    /// none is framed yet.
    AwaitingHello,
    /// Messages flow both ways.
    Open,
    /// A graceful close was asked for (by this side or the peer's GOAWAY):
    /// no new messages; ours are still being framed.
    Closing,
    /// Our GOAWAY is out: messages in flight both ways finish.
    Draining,
    /// Over: [`Event::Closed`](super::Event::Closed) was emitted.
    Closed,
}

impl ConnectionState {
    /// Whether new outgoing messages may still be opened.
    pub fn accepts_messages(self) -> bool {
        matches!(self, ConnectionState::AwaitingHello | ConnectionState::Open)
    }
}
