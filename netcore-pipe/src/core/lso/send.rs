//! Outgoing messages and the send scheduler: strict priority tiers, deficit
//! round robin by bytes inside a tier.
//!
//! An outgoing message has two states of its own, each an enum:
//!
//! ```text
//!   Stage:  AwaitingOpen(headers) ──OPEN framed──▶ Opened ──last frame──▶ (removed)
//!
//!   Turn:   Parked ──credit, body or open──▶ Queued{deficit}
//!             ▲                                 │ its turn at the head of the tier
//!             │ nothing it can send             ▼
//!             └────────────────────────── Active{deficit}
//!                                               │ quantum used up
//!                                               └──▶ Queued{deficit} (back of the tier)
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

use bytes::Bytes;
use netcore_protocol::{Data, End, Frame, Headers, Open, Priority};

use crate::error::SendError;

/// An outgoing message as the scheduler sees it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) priority: Priority,
    stage: Stage,
    pub(crate) total_len: Option<u64>,
    /// Body bytes supplied but not yet framed.
    body: VecDeque<Bytes>,
    pub(crate) buffered: u64,
    /// No more body will be supplied.
    body_finished: bool,
    /// Body bytes framed so far (the next DATA offset).
    pub(crate) sent: u64,
    /// The peer's absolute send limit for this message.
    pub(crate) limit: u64,
    turn: Turn,
}

/// How far the message's framing got.
#[derive(Debug)]
enum Stage {
    /// The OPEN is not framed yet; it will carry these headers.
    AwaitingOpen(Headers),
    /// The OPEN is framed: the peer knows the message.
    Opened,
}

/// The message's place in its tier's rotation (deficit round robin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Out of the rotation: it can send nothing until its credit, its body
    /// or the peer's concurrency limit changes.
    Parked,
    /// In the rotation, waiting for its turn, with the deficit (bytes) left
    /// from its last turn.
    Queued { deficit: usize },
    /// At the head of its tier: its quantum was added to the deficit.
    Active { deficit: usize },
}

impl Outgoing {
    pub(crate) fn opened(&self) -> bool {
        matches!(self.stage, Stage::Opened)
    }

    fn queued(&self) -> bool {
        self.turn != Turn::Parked
    }
}

/// What a message can do next.
enum Next {
    /// Frame the OPEN, with this many inline body bytes.
    Open(usize),
    /// Frame a DATA chunk of this many bytes.
    Data(usize),
    /// Frame the END.
    End,
    /// Blocked on something only this message's progress can change (its own
    /// credit, its body source): leave the rotation until that changes.
    Parked,
    /// Blocked on something shared (connection credit, the peer's concurrency
    /// limit): stay in the rotation.
    Waiting,
}

/// A frame chosen by the scheduler, with what the driver needs to know.
#[derive(Debug)]
pub(crate) struct Chosen {
    pub(crate) frame: Frame,
    pub(crate) message_id: u64,
    pub(crate) body_len: usize,
    /// This frame completes the message.
    pub(crate) last: bool,
}

/// Shared sending budget, from the peer's HELLO and CREDIT frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Largest body chunk in one frame.
    pub(crate) chunk: usize,
    /// Largest payload the peer accepts in one frame.
    pub(crate) max_payload: usize,
    /// Connection-level body bytes still allowed (u64::MAX: unlimited).
    pub(crate) connection: u64,
    /// The part of `connection` only messages of [`Priority::HIGH`] and
    /// above may use: bulk below them cannot take the last of the
    /// connection's credit, so a small urgent message never waits a round
    /// trip for CREDIT behind it.
    pub(crate) reserve: u64,
    /// More messages may be opened at the peer.
    pub(crate) can_open: bool,
}

/// All outgoing messages and their scheduling.
#[derive(Debug, Default)]
pub(crate) struct SendSide {
    pub(crate) messages: HashMap<u64, Outgoing>,
    /// Priority tiers, highest first; each a rotation of message ids.
    tiers: BTreeMap<Reverse<Priority>, VecDeque<u64>>,
    next_id: u64,
    /// Messages OPENed at the peer and not yet finished or cancelled.
    pub(crate) open_at_peer: usize,
}

impl SendSide {
    /// The id the next message would get.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id + 1
    }

    /// Registers a new message under `id` (unused, ≥ 1).
    pub(crate) fn open(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
        initial_limit: u64,
    ) -> u64 {
        self.next_id = self.next_id.max(id);
        self.messages.insert(
            id,
            Outgoing {
                priority,
                stage: Stage::AwaitingOpen(headers),
                total_len,
                body: VecDeque::new(),
                buffered: 0,
                body_finished: total_len == Some(0),
                sent: 0,
                limit: initial_limit,
                turn: Turn::Parked,
            },
        );
        self.enqueue(id);
        id
    }

    /// Adds body bytes to message `id`; [`SendError::Cancelled`] if it is
    /// no longer pending (it was cancelled, failed, or the connection
    /// ended).
    pub(crate) fn push(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError> {
        let Some(message) = self.messages.get_mut(&id) else {
            return Err(SendError::Cancelled);
        };
        if message.body_finished {
            if chunk.is_empty() && finish {
                return Ok(()); // finishing twice is harmless
            }
            return Err(SendError::LengthMismatch {
                announced: message.sent + message.buffered,
                supplied: message.sent + message.buffered + chunk.len() as u64,
            });
        }
        let supplied = message.sent + message.buffered + chunk.len() as u64;
        if let Some(total) = message.total_len
            && (supplied > total || (finish && supplied < total))
        {
            return Err(SendError::LengthMismatch {
                announced: total,
                supplied,
            });
        }
        message.buffered += chunk.len() as u64;
        if !chunk.is_empty() {
            message.body.push_back(chunk);
        }
        message.body_finished = finish || message.total_len == Some(supplied);
        self.enqueue(id);
        Ok(())
    }

    /// Body bytes supplied so far for message `id` of unannounced length
    /// (`None` if it is not pending or its length was announced).
    pub(crate) fn supplied_unannounced(&self, id: u64) -> Option<u64> {
        self.messages
            .get(&id)
            .filter(|m| m.total_len.is_none())
            .map(|m| m.sent + m.buffered)
    }

    /// Body bytes buffered for message `id`, if it exists.
    pub(crate) fn buffered(&self, id: u64) -> Option<u64> {
        self.messages.get(&id).map(|m| m.buffered)
    }

    /// Raises message `id`'s send limit.
    pub(crate) fn raise_limit(&mut self, id: u64, limit: u64) {
        if let Some(message) = self.messages.get_mut(&id)
            && limit > message.limit
        {
            message.limit = limit;
            self.enqueue(id);
        }
    }

    /// Removes message `id`; returns whether it existed.
    pub(crate) fn remove(&mut self, id: u64) -> Option<Outgoing> {
        let message = self.messages.remove(&id)?;
        if message.opened() {
            self.open_at_peer -= 1;
        }
        if message.queued()
            && let Some(tier) = self.tiers.get_mut(&Reverse(message.priority))
        {
            tier.retain(|queued| *queued != id);
        }
        Some(message)
    }

    /// Puts message `id` into its tier's rotation, if it is not there.
    fn enqueue(&mut self, id: u64) {
        if let Some(message) = self.messages.get_mut(&id)
            && !message.queued()
        {
            message.turn = Turn::Queued { deficit: 0 };
            self.tiers
                .entry(Reverse(message.priority))
                .or_default()
                .push_back(id);
        }
    }

    /// Chooses the next data-lane frame, if any message can send.
    pub(crate) fn next_frame(&mut self, budget: &Budget) -> Option<Chosen> {
        let quantum = budget.chunk.max(1);
        // Tiers highest first, without collecting their keys (this runs once
        // per frame): the next key is looked up before this tier changes.
        let mut next_tier = self.tiers.keys().next().copied();
        while let Some(priority) = next_tier {
            next_tier = self
                .tiers
                .range((Bound::Excluded(priority), Bound::Unbounded))
                .next()
                .map(|(key, _)| *key);
            let budget = &if priority.0 >= Priority::HIGH {
                *budget
            } else {
                Budget {
                    connection: budget.connection.saturating_sub(budget.reserve),
                    ..*budget
                }
            };
            let Some(rounds) = self.tiers.get(&priority).map(VecDeque::len) else {
                continue;
            };
            // Two passes: a message whose turn just ran out gets its next
            // quantum on the second, so a tier with anything sendable is never
            // passed over for a lower one (strict priority).
            for _ in 0..2 * rounds {
                let Some(&id) = self.tiers.get(&priority).and_then(VecDeque::front) else {
                    break;
                };
                let Some(message) = self.messages.get_mut(&id) else {
                    self.pop_front(priority);
                    continue;
                };
                match next_step(message, budget) {
                    Next::Parked => {
                        message.turn = Turn::Parked;
                        self.pop_front(priority);
                    }
                    Next::Waiting => self.rotate(priority),
                    step => {
                        let deficit = match message.turn {
                            Turn::Active { deficit } => deficit,
                            Turn::Queued { deficit } => deficit + quantum,
                            Turn::Parked => quantum,
                        };
                        let cost = match step {
                            Next::Open(inline) => inline,
                            Next::Data(len) => len,
                            _ => 0,
                        };
                        if cost > deficit {
                            // Turn over: the rest waits for the next round.
                            message.turn = Turn::Queued { deficit };
                            self.rotate(priority);
                            continue;
                        }
                        message.turn = Turn::Active {
                            deficit: deficit - cost,
                        };
                        let chosen = build(id, message, step);
                        if matches!(chosen.frame, Frame::Open(_)) {
                            self.open_at_peer += 1;
                        }
                        if chosen.last {
                            self.remove(id);
                        }
                        return Some(chosen);
                    }
                }
            }
        }
        self.tiers.retain(|_, tier| !tier.is_empty());
        None
    }

    fn pop_front(&mut self, priority: Reverse<Priority>) {
        if let Some(tier) = self.tiers.get_mut(&priority) {
            tier.pop_front();
        }
    }

    fn rotate(&mut self, priority: Reverse<Priority>) {
        if let Some(tier) = self.tiers.get_mut(&priority)
            && let Some(id) = tier.pop_front()
        {
            tier.push_back(id);
        }
    }
}

/// Builds the frame for `step` of message `id` and updates its state.
fn build(id: u64, message: &mut Outgoing, step: Next) -> Chosen {
    let (frame, body_len) = match step {
        Next::Open(inline) => {
            let body = take(message, inline);
            let frame = Frame::Open(Open {
                message_id: id,
                priority: message.priority,
                total_len: message.total_len,
                headers: match std::mem::replace(&mut message.stage, Stage::Opened) {
                    Stage::AwaitingOpen(headers) => headers,
                    Stage::Opened => Headers::new(),
                },
                body,
            });
            (frame, inline)
        }
        Next::Data(len) => {
            let offset = message.sent;
            let payload = take(message, len);
            let frame = Frame::Data(Data {
                message_id: id,
                offset,
                payload,
            });
            (frame, len)
        }
        Next::End | Next::Parked | Next::Waiting => (
            Frame::End(End {
                message_id: id,
                total_len: message.sent,
            }),
            0,
        ),
    };
    let last = match (&frame, message.total_len) {
        (Frame::End(_), _) => true,
        (_, Some(total)) => message.sent == total && message.body_finished,
        (_, None) => false,
    };
    Chosen {
        frame,
        message_id: id,
        body_len,
        last,
    }
}

/// What message `m` can send now.
fn next_step(m: &Outgoing, budget: &Budget) -> Next {
    let credit = m.limit.saturating_sub(m.sent).min(budget.connection);
    let sendable = |room: usize| -> usize {
        let front = m.body.front().map_or(0, Bytes::len);
        (front as u64).min(credit).min(room as u64) as usize
    };
    if let Stage::AwaitingOpen(headers) = &m.stage {
        if !budget.can_open {
            return Next::Waiting;
        }
        // OPEN's fixed fields (11 bytes) and header block come first.
        let room = budget
            .max_payload
            .saturating_sub(11 + headers.encoded_len())
            .min(budget.chunk);
        return Next::Open(sendable(room));
    }
    if m.buffered > 0 {
        return match sendable(budget.chunk) {
            0 if budget.connection == 0 => Next::Waiting,
            0 => Next::Parked,
            len => Next::Data(len),
        };
    }
    if m.body_finished && m.total_len.is_none() {
        return Next::End;
    }
    Next::Parked
}

/// Takes `len` bytes from the front of the body (`len` ≤ the front chunk).
fn take(m: &mut Outgoing, len: usize) -> Bytes {
    if len == 0 {
        return Bytes::new();
    }
    let out = match m.body.front_mut() {
        Some(front) if front.len() > len => front.split_to(len),
        Some(_) => m.body.pop_front().unwrap_or_default(),
        None => Bytes::new(),
    };
    m.buffered -= out.len() as u64;
    m.sent += out.len() as u64;
    out
}
