//! Who is to blame for an error ([`Fault`]), and which flow-control window
//! a peer overran ([`FlowScope`]).

/// Who is to blame for an error of the pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// This side: it closed the pipe, cancelled the message, supplied a
    /// body that broke its announced length, or misused the API.
    Local,
    /// The peer: it closed the link, went away, refused or cancelled the
    /// message, or broke the wire format or the message rules.
    Peer,
    /// The link between: the transport failed or was cut, or bytes were
    /// damaged.
    Link,
    /// A limit: the message breaks what the peer accepts (its size, its
    /// headers). The error names the limit.
    Limit,
    /// Nobody can tell: nothing came in time (a slow or dead peer, a slow
    /// or dead link, or a timeout too short).
    Timeout,
}

/// Which flow-control window the peer overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlowScope {
    /// The connection's window (all messages together).
    Connection,
    /// One message's window.
    Message(u64),
}

impl std::fmt::Display for FlowScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowScope::Connection => f.write_str("the connection"),
            FlowScope::Message(id) => write!(f, "message {id}"),
        }
    }
}
