//! The sending half: missions announced by their head, then cut into
//! 4096-byte data chunks and sent one chunk per mission per round, as a
//! Python sender does (`docs/python-013-wire-format.md` §7).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{
    Cancel, Encoder, Head, Info, Json, Packet, data_prefix, python_reads_chunk_len,
};
use netcore_protocol::{Headers, Priority};

use super::error::Py013Error;
use crate::core::{Transmit, WireBytes};
use crate::error::SendError;

/// Characters of the extension ids, as Python draws them
/// (`docs/python-013-wire-format.md` §5.2).
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of Python's extension ids.
const ID_LEN: usize = 6;

/// One outgoing mission.
#[derive(Debug)]
struct Outgoing {
    extension: String,
    priority: Priority,
    announced: u64,
    /// Body bytes supplied so far.
    pushed: u64,
    /// The whole body was supplied.
    complete: bool,
    /// Supplied bytes not yet framed.
    queue: VecDeque<Bytes>,
    queued: u64,
    head_sent: bool,
    /// `ext_len | ext | meta_len` of a full chunk.
    full_prefix: Bytes,
}

impl Outgoing {
    /// A chunk can go: the head is out and a full chunk is there (or the
    /// rest of a complete body). Chunks are always `chunk_len` bytes but the
    /// last one or two.
    fn ready(&self, chunk_len: usize) -> bool {
        self.head_sent && (self.queued >= chunk_len as u64 || (self.complete && self.queued > 0))
    }

    /// Takes the next chunk, at most `chunk_len` bytes, gathering small
    /// pieces if needed. The rest of a body that a Python receiver would
    /// misread as one chunk (over 4096 bytes, not a multiple of 2048) goes as
    /// its multiple of 2048 first, then the few bytes left.
    fn take_chunk(&mut self, chunk_len: usize) -> Bytes {
        let mut want = self.queued.min(chunk_len as u64) as usize;
        if !python_reads_chunk_len(want) {
            want -= want % 2048;
        }
        self.queued -= want as u64;
        if let Some(front) = self.queue.front_mut()
            && front.len() >= want
        {
            let chunk = front.split_to(want);
            if front.is_empty() {
                self.queue.pop_front();
            }
            return chunk;
        }
        let mut chunk = BytesMut::with_capacity(want);
        while chunk.len() < want {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            let take = front.len().min(want - chunk.len());
            chunk.extend_from_slice(&front.split_to(take));
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
        chunk.freeze()
    }
}

/// What finished or failed while framing.
#[derive(Debug)]
pub(super) enum SendOutcome {
    Framed(u64),
    Failed(u64, SendError),
}

/// Every outgoing mission and the order they are served in.
#[derive(Debug)]
pub(super) struct SendSide {
    missions: HashMap<u64, Outgoing>,
    /// Round-robin order inside each priority tier, highest tier first.
    tiers: BTreeMap<Reverse<u8>, VecDeque<u64>>,
    /// Heads and cancels, in the order they were queued, ahead of data.
    control: VecDeque<(Option<u64>, Transmit)>,
    extensions: HashSet<String>,
    rng: fastrand::Rng,
    /// The size of data chunks, one a Python receiver reads.
    chunk_len: usize,
}

impl SendSide {
    /// A send side cutting bodies into `chunk_len`-byte chunks (already
    /// checked with [`python_reads_chunk_len`]).
    pub(super) fn new(chunk_len: usize) -> SendSide {
        SendSide {
            missions: HashMap::new(),
            tiers: BTreeMap::new(),
            control: VecDeque::new(),
            extensions: HashSet::new(),
            rng: fastrand::Rng::new(),
            chunk_len,
        }
    }

    pub(super) fn is_idle(&self) -> bool {
        self.missions.is_empty() && self.control.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.missions.len()
    }

    /// A fresh extension id, unique among the missions in flight.
    fn new_extension(&mut self) -> String {
        loop {
            let id: String = (0..ID_LEN)
                .map(|_| char::from(ID_ALPHABET[self.rng.usize(..ID_ALPHABET.len())]))
                .collect();
            if !self.extensions.contains(&id) {
                return id;
            }
        }
    }

    /// Announces mission `id`: its head is queued now, before any chunk.
    pub(super) fn open(
        &mut self,
        id: u64,
        priority: Priority,
        headers: &Headers,
        len: Option<u64>,
    ) -> Result<(), SendError> {
        let announced = len.ok_or(SendError::Py013(Py013Error::UnknownLength))?;
        let info = headers_to_info(headers).map_err(SendError::Py013)?;
        let extension = self.new_extension();
        let head = Packet::Head(Head {
            extension: extension.clone(),
            length: announced,
            info,
        });
        let encoder = Encoder::new();
        let head = encoder
            .encode(&head)
            .map_err(|error| SendError::Py013(Py013Error::Encode(error)))?;
        let full_prefix = data_prefix(&extension, self.chunk_len)
            .map_err(|error| SendError::Py013(Py013Error::Encode(error)))?;
        self.control.push_back((
            Some(id),
            Transmit {
                frame: WireBytes::from_parts(head, Bytes::new()),
                message_id: Some(id),
                body_len: 0,
                last: announced == 0,
            },
        ));
        self.extensions.insert(extension.clone());
        self.tiers
            .entry(Reverse(priority.0))
            .or_default()
            .push_back(id);
        self.missions.insert(
            id,
            Outgoing {
                extension,
                priority,
                announced,
                pushed: 0,
                complete: announced == 0,
                queue: VecDeque::new(),
                queued: 0,
                head_sent: false,
                full_prefix,
            },
        );
        Ok(())
    }

    /// Supplies body bytes of mission `id`.
    pub(super) fn push(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError> {
        let Some(mission) = self.missions.get_mut(&id) else {
            return Err(SendError::Cancelled);
        };
        mission.pushed += chunk.len() as u64;
        let mismatch =
            mission.pushed > mission.announced || (finish && mission.pushed < mission.announced);
        if mismatch {
            return Err(SendError::LengthMismatch {
                announced: mission.announced,
                supplied: mission.pushed,
            });
        }
        if !chunk.is_empty() {
            mission.queued += chunk.len() as u64;
            mission.queue.push_back(chunk);
        }
        // The length is known up front: the body is complete when it is all
        // there, so its last chunk is marked last even if `finish` comes later.
        mission.complete |= finish || mission.pushed == mission.announced;
        Ok(())
    }

    /// Body bytes supplied but not yet framed.
    pub(super) fn buffered(&self, id: u64) -> Option<u64> {
        self.missions.get(&id).map(|mission| mission.queued)
    }

    /// Drops mission `id`. If the peer has its head and not all its chunks,
    /// a cancel goes out (ahead of data); if its head has not gone yet,
    /// nothing does. Returns whether the mission was in flight.
    pub(super) fn cancel(&mut self, id: u64) -> bool {
        let Some(mission) = self.remove(id) else {
            return false;
        };
        if !mission.head_sent {
            self.control.retain(|(head_of, _)| *head_of != Some(id));
            return true;
        }
        let cancel = Packet::Cancel(Cancel {
            extension: mission.extension,
        });
        // The id was checked when the head was encoded: this cannot fail.
        if let Ok(bytes) = Encoder::new().encode(&cancel) {
            self.control.push_back((
                None,
                Transmit {
                    frame: WireBytes::from_parts(bytes, Bytes::new()),
                    message_id: None,
                    body_len: 0,
                    last: false,
                },
            ));
        }
        true
    }

    fn remove(&mut self, id: u64) -> Option<Outgoing> {
        let mission = self.missions.remove(&id)?;
        self.extensions.remove(&mission.extension);
        if let Some(tier) = self.tiers.get_mut(&Reverse(mission.priority.0)) {
            tier.retain(|queued| *queued != id);
        }
        Some(mission)
    }

    /// Every mission in flight, removed (the connection is over).
    pub(super) fn drain(&mut self) -> Vec<u64> {
        self.control.clear();
        self.tiers.clear();
        self.extensions.clear();
        self.missions.drain().map(|(id, _)| id).collect()
    }

    /// The next packet to write: heads and cancels first, then one chunk of
    /// the next ready mission of the highest tier, round robin.
    pub(super) fn poll_transmit(&mut self, outcomes: &mut Vec<SendOutcome>) -> Option<Transmit> {
        if let Some((head_of, transmit)) = self.control.pop_front() {
            if let Some(id) = head_of {
                let framed = match self.missions.get_mut(&id) {
                    Some(mission) => {
                        mission.head_sent = true;
                        mission.announced == 0
                    }
                    None => false,
                };
                if framed {
                    self.remove(id);
                    outcomes.push(SendOutcome::Framed(id));
                }
            }
            return Some(transmit);
        }
        let id = self.next_ready()?;
        let mission = self.missions.get_mut(&id)?;
        let chunk = mission.take_chunk(self.chunk_len);
        let prefix = if chunk.len() == self.chunk_len {
            Ok(mission.full_prefix.clone())
        } else {
            data_prefix(&mission.extension, chunk.len())
        };
        let last = mission.complete && mission.queued == 0;
        let transmit = Transmit {
            body_len: chunk.len(),
            message_id: Some(id),
            last,
            frame: match prefix {
                Ok(prefix) => WireBytes::from_parts(prefix, chunk),
                Err(error) => {
                    // Cannot happen: the id and the sizes were checked.
                    self.remove(id);
                    outcomes.push(SendOutcome::Failed(
                        id,
                        SendError::Py013(Py013Error::Encode(error)),
                    ));
                    return None;
                }
            },
        };
        if last {
            self.remove(id);
            outcomes.push(SendOutcome::Framed(id));
        }
        Some(transmit)
    }

    /// The next mission with a chunk ready, rotating its tier.
    fn next_ready(&mut self) -> Option<u64> {
        for tier in self.tiers.values_mut() {
            for _ in 0..tier.len() {
                let id = tier.pop_front()?;
                tier.push_back(id);
                if self
                    .missions
                    .get(&id)
                    .is_some_and(|mission| mission.ready(self.chunk_len))
                {
                    return Some(id);
                }
            }
        }
        None
    }
}

/// The info object of a mission from the pipe's headers: each header is one
/// key, its value the JSON text of that key's value.
pub(super) fn headers_to_info(headers: &Headers) -> Result<Info, Py013Error> {
    let mut info = Info::new();
    for (name, value) in headers.iter() {
        let json = Json::parse(value).map_err(|error| Py013Error::HeaderNotJson {
            name: name.to_owned(),
            reason: error.to_string(),
        })?;
        info.insert(name, json);
    }
    Ok(info)
}
