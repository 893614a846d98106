//! The receive limits each side advertises in its HELLO.
//!
//! Each side announces the limits *it* enforces on what it receives. A sender
//! builds its [`Encoder`](crate::Encoder) from the peer's limits and so never
//! sends what the peer would refuse; a receiver builds its
//! [`Decoder`](crate::Decoder) and [`InboundTracker`](crate::InboundTracker)
//! from its own, and checks every length against them before it allocates.

/// Receive limits, advertised in HELLO and enforced on receive.
///
/// Its fields are the HELLO's, fixed by the wire format, so it can be built
/// literally; the `with_*` setters change one field of a preset.
///
/// ```
/// use netcore_protocol::Limits;
/// let serial = Limits::default().with_max_frame_payload(1024);
/// assert!(serial.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, getset::WithSetters)]
#[getset(set_with = "pub")]
pub struct Limits {
    /// Largest frame payload accepted, in bytes
    /// ([`Limits::MIN_FRAME_PAYLOAD`] to [`Limits::MAX_FRAME_PAYLOAD`]).
    pub max_frame_payload: u32,
    /// Largest message accepted, in bytes, whether its length is announced or not.
    pub max_message_size: u64,
    /// Largest header block (the encoded key/value headers of one OPEN or
    /// HELLO); at least [`Limits::MIN_HEADER_BYTES`].
    pub max_header_bytes: u16,
    /// Most incoming messages that may be open (OPENed, not yet complete) at once.
    pub max_concurrent_messages: u32,
}

impl Limits {
    /// Smallest `max_frame_payload` a peer may advertise: enough for any
    /// control frame and a useful chunk on the slowest link.
    pub const MIN_FRAME_PAYLOAD: u32 = 256;
    /// Largest `max_frame_payload` this implementation accepts (16 MiB); larger
    /// advertised values are clamped to it.
    pub const MAX_FRAME_PAYLOAD: u32 = 16 << 20;
    /// Smallest `max_header_bytes` a peer may advertise: room for the
    /// headers a reply needs (its call id, a status, a short error text),
    /// so a peer cannot leave this side unable to answer it.
    pub const MIN_HEADER_BYTES: u16 = 256;
    /// Default `max_frame_payload`: 1 MiB.
    pub const DEFAULT_FRAME_PAYLOAD: u32 = 1 << 20;
    /// Default `max_message_size`: 4 GiB.
    pub const DEFAULT_MESSAGE_SIZE: u64 = 4 << 30;
    /// Default `max_header_bytes`: 16 KiB.
    pub const DEFAULT_HEADER_BYTES: u16 = 16 << 10;
    /// Default `max_concurrent_messages`: 4096.
    pub const DEFAULT_CONCURRENT_MESSAGES: u32 = 4096;

    /// Checks the limits against the protocol minimums.
    pub fn validate(&self) -> Result<(), crate::Malformation> {
        let below = |field, value: u64, min: u64| {
            (value < min).then_some(crate::Malformation::LimitBelowMinimum { field, value, min })
        };
        let problem = below(
            "max_frame_payload",
            self.max_frame_payload.into(),
            Self::MIN_FRAME_PAYLOAD.into(),
        )
        .or_else(|| {
            below(
                "max_header_bytes",
                self.max_header_bytes.into(),
                Self::MIN_HEADER_BYTES.into(),
            )
        })
        .or_else(|| {
            below(
                "max_concurrent_messages",
                self.max_concurrent_messages.into(),
                1,
            )
        });
        match problem {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// The frame payload limit actually enforced: `max_frame_payload` clamped to
    /// [`Limits::MAX_FRAME_PAYLOAD`].
    pub fn frame_payload_limit(&self) -> u32 {
        self.max_frame_payload.min(Self::MAX_FRAME_PAYLOAD)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_payload: Self::DEFAULT_FRAME_PAYLOAD,
            max_message_size: Self::DEFAULT_MESSAGE_SIZE,
            max_header_bytes: Self::DEFAULT_HEADER_BYTES,
            max_concurrent_messages: Self::DEFAULT_CONCURRENT_MESSAGES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Malformation;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Limits::default().validate(), Ok(()));
    }

    #[test]
    fn tiny_frame_limit_is_refused() {
        let limits = Limits {
            max_frame_payload: 255,
            ..Limits::default()
        };
        assert_eq!(
            limits.validate(),
            Err(Malformation::LimitBelowMinimum {
                field: "max_frame_payload",
                value: 255,
                min: 256
            })
        );
    }

    #[test]
    fn zero_concurrency_is_refused() {
        let limits = Limits {
            max_concurrent_messages: 0,
            ..Limits::default()
        };
        assert!(limits.validate().is_err());
    }

    #[test]
    fn huge_frame_limit_is_clamped() {
        let limits = Limits {
            max_frame_payload: u32::MAX,
            ..Limits::default()
        };
        assert_eq!(limits.frame_payload_limit(), Limits::MAX_FRAME_PAYLOAD);
    }
}
