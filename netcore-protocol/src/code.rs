//! Numeric reason codes carried by CANCEL and GOAWAY frames.

/// A reason code in a CANCEL or GOAWAY frame.
///
/// Codes below `0x1_0000` are defined by the protocol; [`ErrorCode::application`]
/// builds codes for applications above that. Unknown codes are kept as they
/// are, so a peer with a newer code list still round-trips.
///
/// ```
/// use netcore_protocol::ErrorCode;
/// assert_eq!(ErrorCode::CANCELLED.to_string(), "CANCELLED");
/// assert_eq!(ErrorCode::application(7).to_string(), "APPLICATION(7)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Nothing went wrong (a graceful close).
    pub const NO_ERROR: ErrorCode = ErrorCode(0);
    /// The peer broke the protocol (bad kind, flags, ids or layout).
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(1);
    /// The peer broke a negotiated limit.
    pub const LIMIT_EXCEEDED: ErrorCode = ErrorCode(2);
    /// The peer sent beyond the credit it was granted.
    pub const FLOW_CONTROL: ErrorCode = ErrorCode(3);
    /// The message was cancelled by the side that sent this code.
    pub const CANCELLED: ErrorCode = ErrorCode(4);
    /// Something failed inside the side that sent this code.
    pub const INTERNAL: ErrorCode = ErrorCode(5);
    /// The connection was idle for too long.
    pub const IDLE_TIMEOUT: ErrorCode = ErrorCode(6);
    /// The side that sent this code is shutting down.
    pub const SHUTDOWN: ErrorCode = ErrorCode(7);
    /// The message was refused (for instance: too many concurrent messages).
    pub const REFUSED: ErrorCode = ErrorCode(8);
    /// Bytes were lost or damaged on the link.
    pub const DAMAGED: ErrorCode = ErrorCode(9);
    /// The peer speaks a wire-format version this side does not.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(10);
    /// First code available to applications.
    pub const APPLICATION_BASE: u32 = 0x1_0000;

    /// An application-defined code, `APPLICATION_BASE + n` (saturating).
    pub const fn application(n: u32) -> ErrorCode {
        ErrorCode(Self::APPLICATION_BASE.saturating_add(n))
    }

    /// The protocol name of this code, if it is one the protocol defines.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NO_ERROR",
            1 => "PROTOCOL_ERROR",
            2 => "LIMIT_EXCEEDED",
            3 => "FLOW_CONTROL",
            4 => "CANCELLED",
            5 => "INTERNAL",
            6 => "IDLE_TIMEOUT",
            7 => "SHUTDOWN",
            8 => "REFUSED",
            9 => "DAMAGED",
            10 => "UNSUPPORTED_VERSION",
            _ => return None,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None if self.0 >= Self::APPLICATION_BASE => {
                write!(f, "APPLICATION({})", self.0 - Self::APPLICATION_BASE)
            }
            None => write!(f, "UNKNOWN({:#x})", self.0),
        }
    }
}
