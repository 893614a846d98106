//! Message-level checks on the frames a peer sends: which messages are open,
//! how many, how far each has got, and whether each frame fits.
//!
//! The [`Decoder`](crate::Decoder) judges frames one at a time; the
//! [`InboundTracker`] judges them as a sequence, against the limits that need
//! memory of earlier frames (concurrent messages, a message's growing size).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::code::ErrorCode;
use crate::frame::Frame;
use crate::header::FrameKind;
use crate::limits::Limits;

/// A peer's frame broke the message rules. Each is a protocol violation that
/// calls for a GOAWAY carrying [`InboundError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// An OPEN reuses the id of a message that is still open.
    #[error("message {message_id} opened twice")]
    DuplicateMessage {
        /// The id.
        message_id: u64,
    },
    /// An OPEN would exceed the number of concurrent incoming messages allowed.
    #[error("message {message_id} would be open message number {} but the limit is {max}", max + 1)]
    TooManyMessages {
        /// The refused message.
        message_id: u64,
        /// The limit in force.
        max: u32,
    },
    /// DATA or END for a message that was never opened (or already finished).
    #[error("{kind} frame for message {message_id}, which is not open")]
    UnknownMessage {
        /// The frame kind.
        kind: FrameKind,
        /// The id.
        message_id: u64,
    },
    /// A DATA frame does not start where the previous one ended: a chunk was lost.
    #[error("DATA for message {message_id} at offset {offset}, expected offset {expected}")]
    OffsetMismatch {
        /// The id.
        message_id: u64,
        /// The next offset the receiver expected.
        expected: u64,
        /// The offset the frame carried.
        offset: u64,
    },
    /// More body bytes arrived than the OPEN announced.
    #[error("message {message_id} announced {total} bytes but got at least {reached}")]
    LengthExceeded {
        /// The id.
        message_id: u64,
        /// The announced total.
        total: u64,
        /// Bytes received so far, this frame included.
        reached: u64,
    },
    /// A message of unannounced length grew past the maximum message size.
    #[error("message {message_id} grew to {reached} bytes, over the limit of {max}")]
    MessageTooLarge {
        /// The id.
        message_id: u64,
        /// Bytes received so far, this frame included.
        reached: u64,
        /// The limit in force.
        max: u64,
    },
    /// END for a message whose OPEN announced its length (it ends by itself).
    #[error("END for message {message_id}, whose length was announced")]
    UnexpectedEnd {
        /// The id.
        message_id: u64,
    },
    /// END states a total other than what arrived: data was lost.
    #[error("END for message {message_id} says {announced} bytes, {received} arrived")]
    EndLengthMismatch {
        /// The id.
        message_id: u64,
        /// Total stated by END.
        announced: u64,
        /// Bytes that arrived.
        received: u64,
    },
}

impl InboundError {
    /// The code to put in the GOAWAY this error calls for.
    pub fn code(&self) -> ErrorCode {
        match self {
            InboundError::TooManyMessages { .. } | InboundError::MessageTooLarge { .. } => {
                ErrorCode::LIMIT_EXCEEDED
            }
            InboundError::OffsetMismatch { .. } | InboundError::EndLengthMismatch { .. } => {
                ErrorCode::DAMAGED
            }
            _ => ErrorCode::PROTOCOL_ERROR,
        }
    }

    /// The message the error concerns.
    pub fn message_id(&self) -> u64 {
        match *self {
            InboundError::DuplicateMessage { message_id }
            | InboundError::TooManyMessages { message_id, .. }
            | InboundError::UnknownMessage { message_id, .. }
            | InboundError::OffsetMismatch { message_id, .. }
            | InboundError::LengthExceeded { message_id, .. }
            | InboundError::MessageTooLarge { message_id, .. }
            | InboundError::UnexpectedEnd { message_id }
            | InboundError::EndLengthMismatch { message_id, .. } => message_id,
        }
    }
}

/// What a frame did to the peer's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// The frame is not about an incoming message body (HELLO, CREDIT, PING,
    /// PONG, GOAWAY, or a CANCEL of one of our own messages).
    Control,
    /// Body bytes of message `message_id` arrived (possibly none, for an
    /// OPEN); `complete` once the message is whole, after which it is
    /// forgotten.
    Progress {
        /// The message.
        message_id: u64,
        /// Body bytes received so far.
        received: u64,
        /// Whether the message is now complete.
        complete: bool,
    },
    /// The peer abandoned message `message_id`; it is forgotten.
    Cancelled {
        /// The message.
        message_id: u64,
    },
    /// A late frame for a message this side cancelled, or a CANCEL for a
    /// message that is no longer open; drop it.
    Ignored {
        /// The message.
        message_id: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Progress {
    total: Option<u64>,
    received: u64,
}

/// Tracks the peer's open messages and checks each of its frames against
/// [`Limits`] that span frames.
///
/// ```
/// use bytes::Bytes;
/// use netcore_protocol::{Data, Frame, Inbound, InboundTracker, Limits, Open};
///
/// let mut tracker = InboundTracker::new(Limits::default());
/// tracker.on_frame(&Frame::Open(Open::new(1, Some(5))))?;
/// let chunk = Data { message_id: 1, offset: 0, payload: Bytes::from_static(b"hello") };
/// assert_eq!(
///     tracker.on_frame(&Frame::Data(chunk))?,
///     Inbound::Progress { message_id: 1, received: 5, complete: true },
/// );
/// # Ok::<(), netcore_protocol::InboundError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InboundTracker {
    limits: Limits,
    open: HashMap<u64, Progress>,
    /// Messages this side cancelled recently, whose frames may still be in
    /// flight; bounded to `max_concurrent_messages` entries.
    cancelled: HashSet<u64>,
    cancelled_order: VecDeque<u64>,
}

impl InboundTracker {
    /// A tracker enforcing `limits` (this side's own receive limits).
    pub fn new(limits: Limits) -> InboundTracker {
        InboundTracker {
            limits,
            open: HashMap::new(),
            cancelled: HashSet::new(),
            cancelled_order: VecDeque::new(),
        }
    }

    /// Number of incoming messages open now.
    pub fn open_messages(&self) -> usize {
        self.open.len()
    }

    /// Whether message `message_id` is open.
    pub fn is_open(&self, message_id: u64) -> bool {
        self.open.contains_key(&message_id)
    }

    /// Checks one frame from the peer and updates the state.
    pub fn on_frame(&mut self, frame: &Frame) -> Result<Inbound, InboundError> {
        match frame {
            Frame::Open(open) => {
                let message_id = open.message_id;
                if self.open.contains_key(&message_id) {
                    return Err(InboundError::DuplicateMessage { message_id });
                }
                let max = self.limits.max_concurrent_messages;
                if self.open.len() >= max as usize {
                    return Err(InboundError::TooManyMessages { message_id, max });
                }
                self.forget_cancelled(message_id);
                self.open.insert(
                    message_id,
                    Progress {
                        total: open.total_len,
                        received: 0,
                    },
                );
                self.add(message_id, open.body.len() as u64)
            }
            Frame::Data(data) => {
                let message_id = data.message_id;
                let Some(progress) = self.open.get(&message_id) else {
                    return self.unknown(FrameKind::Data, message_id);
                };
                if data.offset != progress.received {
                    return Err(InboundError::OffsetMismatch {
                        message_id,
                        expected: progress.received,
                        offset: data.offset,
                    });
                }
                self.add(message_id, data.payload.len() as u64)
            }
            Frame::End(end) => {
                let message_id = end.message_id;
                let Some(progress) = self.open.get(&message_id).copied() else {
                    return self.unknown(FrameKind::End, message_id);
                };
                if progress.total.is_some() {
                    return Err(InboundError::UnexpectedEnd { message_id });
                }
                if end.total_len != progress.received {
                    return Err(InboundError::EndLengthMismatch {
                        message_id,
                        announced: end.total_len,
                        received: progress.received,
                    });
                }
                self.open.remove(&message_id);
                Ok(Inbound::Progress {
                    message_id,
                    received: progress.received,
                    complete: true,
                })
            }
            Frame::Cancel(cancel) if !cancel.by_receiver => {
                let message_id = cancel.message_id;
                if self.open.remove(&message_id).is_some() {
                    Ok(Inbound::Cancelled { message_id })
                } else {
                    // Already complete, or cancelled here too: nothing to undo.
                    Ok(Inbound::Ignored { message_id })
                }
            }
            _ => Ok(Inbound::Control),
        }
    }

    /// This side abandons incoming message `message_id` (and sends the peer a
    /// CANCEL): it is forgotten, and frames of it still in flight are
    /// [`Inbound::Ignored`] rather than errors — also when it was never seen
    /// open (its OPEN was damaged on a lossy link). Returns whether it was open.
    pub fn cancel(&mut self, message_id: u64) -> bool {
        let was_open = self.open.remove(&message_id).is_some();
        if self.cancelled.insert(message_id) {
            self.cancelled_order.push_back(message_id);
            let bound = self.limits.max_concurrent_messages.max(1) as usize;
            while self.cancelled_order.len() > bound {
                if let Some(oldest) = self.cancelled_order.pop_front() {
                    self.cancelled.remove(&oldest);
                }
            }
        }
        was_open
    }

    /// Forgets every open message (the connection is closing); returns their ids.
    pub fn clear(&mut self) -> Vec<u64> {
        self.cancelled.clear();
        self.cancelled_order.clear();
        self.open.drain().map(|(id, _)| id).collect()
    }

    fn forget_cancelled(&mut self, message_id: u64) {
        if self.cancelled.remove(&message_id) {
            self.cancelled_order.retain(|id| *id != message_id);
        }
    }

    fn unknown(&self, kind: FrameKind, message_id: u64) -> Result<Inbound, InboundError> {
        if self.cancelled.contains(&message_id) {
            Ok(Inbound::Ignored { message_id })
        } else {
            Err(InboundError::UnknownMessage { kind, message_id })
        }
    }

    /// Adds `len` body bytes to open message `message_id`.
    fn add(&mut self, message_id: u64, len: u64) -> Result<Inbound, InboundError> {
        let max = self.limits.max_message_size;
        let Some(progress) = self.open.get_mut(&message_id) else {
            return Err(InboundError::UnknownMessage {
                kind: FrameKind::Data,
                message_id,
            });
        };
        let reached = progress.received.saturating_add(len);
        match progress.total {
            Some(total) if reached > total => {
                return Err(InboundError::LengthExceeded {
                    message_id,
                    total,
                    reached,
                });
            }
            None if reached > max => {
                return Err(InboundError::MessageTooLarge {
                    message_id,
                    reached,
                    max,
                });
            }
            _ => {}
        }
        progress.received = reached;
        let complete = progress.total == Some(reached);
        if complete {
            self.open.remove(&message_id);
        }
        Ok(Inbound::Progress {
            message_id,
            received: reached,
            complete,
        })
    }
}
