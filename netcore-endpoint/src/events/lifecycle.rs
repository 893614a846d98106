//! The lifecycle events an endpoint or a server reports: [`LifecycleEvent`]
//! and its data-free [`LifecycleKind`].

use std::fmt;

use crate::PeerId;

/// Something that happened to an endpoint or a server, reported to the
/// listeners of [`Lifecycle`](super::Lifecycle) and of the event's [`LifecycleKind`].
///
/// The enum is `#[non_exhaustive]`: new kinds may be added, so a `match` on
/// it needs a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleEvent {
    /// The endpoint or server started serving.
    Started,
    /// The endpoint or server stopped; no further events follow.
    Stopped,
    /// A peer connected (for a server: a connection was accepted).
    PeerConnected {
        /// The new connection.
        peer: PeerId,
    },
    /// A peer's connection ended.
    PeerDisconnected {
        /// The connection that ended.
        peer: PeerId,
        /// Why, when known (a transport error, GOAWAY, …); `None` for a
        /// clean close.
        reason: Option<String>,
    },
    /// A peer's request arrived and is about to be handled.
    Request {
        /// Who asked.
        peer: PeerId,
        /// The route the request names.
        route: String,
        /// The request's message id on that connection.
        message_id: u64,
    },
    /// A reply to a peer's request was sent.
    Reply {
        /// Who asked.
        peer: PeerId,
        /// The route that was asked.
        route: String,
        /// The request's message id on that connection.
        message_id: u64,
        /// `true` for a successful reply, `false` for an error reply.
        ok: bool,
    },
    /// A message was cancelled (by the peer, a deadline or a dropped call).
    MessageCancelled {
        /// The connection the message belonged to.
        peer: PeerId,
        /// The cancelled message.
        message_id: u64,
    },
    /// A connection's transport failed.
    TransportError {
        /// The failing connection.
        peer: PeerId,
        /// The error, rendered as text.
        error: String,
    },
}

impl LifecycleEvent {
    /// The event's kind, the key [`LifecycleKind`] topics filter on.
    ///
    /// ```
    /// use netcore_endpoint::events::{LifecycleEvent, LifecycleKind};
    /// assert_eq!(LifecycleEvent::Started.kind(), LifecycleKind::Started);
    /// ```
    pub fn kind(&self) -> LifecycleKind {
        match self {
            LifecycleEvent::Started => LifecycleKind::Started,
            LifecycleEvent::Stopped => LifecycleKind::Stopped,
            LifecycleEvent::PeerConnected { .. } => LifecycleKind::PeerConnected,
            LifecycleEvent::PeerDisconnected { .. } => LifecycleKind::PeerDisconnected,
            LifecycleEvent::Request { .. } => LifecycleKind::Request,
            LifecycleEvent::Reply { .. } => LifecycleKind::Reply,
            LifecycleEvent::MessageCancelled { .. } => LifecycleKind::MessageCancelled,
            LifecycleEvent::TransportError { .. } => LifecycleKind::TransportError,
        }
    }

    /// The connection the event concerns, if it concerns one.
    ///
    /// ```
    /// use netcore_endpoint::PeerId;
    /// use netcore_endpoint::events::LifecycleEvent;
    /// let event = LifecycleEvent::PeerConnected { peer: PeerId(3) };
    /// assert_eq!(event.peer(), Some(PeerId(3)));
    /// assert_eq!(LifecycleEvent::Stopped.peer(), None);
    /// ```
    pub fn peer(&self) -> Option<PeerId> {
        match self {
            LifecycleEvent::Started | LifecycleEvent::Stopped => None,
            LifecycleEvent::PeerConnected { peer }
            | LifecycleEvent::PeerDisconnected { peer, .. }
            | LifecycleEvent::Request { peer, .. }
            | LifecycleEvent::Reply { peer, .. }
            | LifecycleEvent::MessageCancelled { peer, .. }
            | LifecycleEvent::TransportError { peer, .. } => Some(*peer),
        }
    }
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleEvent::Started => f.write_str("started"),
            LifecycleEvent::Stopped => f.write_str("stopped"),
            LifecycleEvent::PeerConnected { peer } => write!(f, "{peer} connected"),
            LifecycleEvent::PeerDisconnected { peer, reason: None } => {
                write!(f, "{peer} disconnected")
            }
            LifecycleEvent::PeerDisconnected {
                peer,
                reason: Some(reason),
            } => write!(f, "{peer} disconnected: {reason}"),
            LifecycleEvent::Request {
                peer,
                route,
                message_id,
            } => write!(f, "{peer} request #{message_id} {route}"),
            LifecycleEvent::Reply {
                peer,
                route,
                message_id,
                ok,
            } => {
                let outcome = if *ok { "ok" } else { "error" };
                write!(f, "{peer} reply #{message_id} {route}: {outcome}")
            }
            LifecycleEvent::MessageCancelled { peer, message_id } => {
                write!(f, "{peer} message #{message_id} cancelled")
            }
            LifecycleEvent::TransportError { peer, error } => {
                write!(f, "{peer} transport error: {error}")
            }
        }
    }
}

/// The kind of a [`LifecycleEvent`], without its data. As a [`Topic`](super::Topic) it
/// selects the lifecycle events of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LifecycleKind {
    /// [`LifecycleEvent::Started`].
    Started,
    /// [`LifecycleEvent::Stopped`].
    Stopped,
    /// [`LifecycleEvent::PeerConnected`].
    PeerConnected,
    /// [`LifecycleEvent::PeerDisconnected`].
    PeerDisconnected,
    /// [`LifecycleEvent::Request`].
    Request,
    /// [`LifecycleEvent::Reply`].
    Reply,
    /// [`LifecycleEvent::MessageCancelled`].
    MessageCancelled,
    /// [`LifecycleEvent::TransportError`].
    TransportError,
}

impl LifecycleKind {
    /// Every kind, in declaration order.
    pub const ALL: [LifecycleKind; 8] = [
        LifecycleKind::Started,
        LifecycleKind::Stopped,
        LifecycleKind::PeerConnected,
        LifecycleKind::PeerDisconnected,
        LifecycleKind::Request,
        LifecycleKind::Reply,
        LifecycleKind::MessageCancelled,
        LifecycleKind::TransportError,
    ];

    /// The kind's `snake_case` name, as used in logs.
    ///
    /// ```
    /// use netcore_endpoint::events::LifecycleKind;
    /// assert_eq!(LifecycleKind::PeerConnected.name(), "peer_connected");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            LifecycleKind::Started => "started",
            LifecycleKind::Stopped => "stopped",
            LifecycleKind::PeerConnected => "peer_connected",
            LifecycleKind::PeerDisconnected => "peer_disconnected",
            LifecycleKind::Request => "request",
            LifecycleKind::Reply => "reply",
            LifecycleKind::MessageCancelled => "message_cancelled",
            LifecycleKind::TransportError => "transport_error",
        }
    }
}

impl fmt::Display for LifecycleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
