//! The receiving half: reassembly of missions from heads and data chunks
//! (`docs/python-013-wire-format.md` §8), tolerant of everything a Python
//! sender does — chunks before their head (§7.3), cancels for unknown or
//! finished missions, heads between chunks, missions reusing an id (§5.4).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use netcore_protocol::py013::{Data, Head, Info};
use netcore_protocol::{ErrorCode, Headers, Priority};

use super::config::Py013Config;
use super::error::Py013Error;
use crate::core::Event;
use crate::error::ReceiveError;

/// How many finished, dropped or refused mission ids are remembered, so that
/// their stray chunks are dropped rather than held as early chunks.
const REMEMBERED_IDS: usize = 4096;

/// A mission whose head arrived and whose body is arriving.
#[derive(Debug)]
struct Partial {
    id: u64,
    length: u64,
    received: u64,
}

/// Chunks of a mission whose head has not arrived yet.
#[derive(Debug, Default)]
struct Early {
    chunks: Vec<Bytes>,
    bytes: usize,
}

/// A bounded set of ids, the oldest forgotten first.
#[derive(Debug, Default)]
struct RecentIds {
    /// Each id with the generation it was last inserted at.
    set: HashMap<String, u64>,
    order: VecDeque<(String, u64)>,
    generation: u64,
}

impl RecentIds {
    fn insert(&mut self, id: &str) {
        self.generation += 1;
        self.set.insert(id.to_owned(), self.generation);
        self.order.push_back((id.to_owned(), self.generation));
        while self.order.len() > REMEMBERED_IDS {
            if let Some((old, generation)) = self.order.pop_front()
                // Only the entry of its latest insertion forgets it.
                && self.set.get(&old) == Some(&generation)
            {
                self.set.remove(&old);
            }
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        self.set.remove(id).is_some()
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains_key(id)
    }
}

/// What an early chunk costs against [`Py013Config::early_buffer`] beyond its
/// bytes, so that a flood of tiny chunks is bounded too.
const EARLY_CHUNK_OVERHEAD: usize = 64;

/// Counters of the receiving half.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvStats {
    /// Data chunks that arrived before their head and were held.
    pub early_chunks: u64,
    /// Missions dropped: over a limit, their early chunks over the bound, or
    /// headers that could not be read.
    pub missions_dropped: u64,
    /// Chunks dropped for missions finished, cancelled or dropped.
    pub stray_chunks: u64,
    /// Cancels for missions not (or no longer) arriving.
    pub stray_cancels: u64,
}

#[derive(Debug)]
pub(super) struct RecvSide {
    config: Py013Config,
    partial: HashMap<String, Partial>,
    /// The extension of each message still arriving.
    arriving: HashMap<u64, String>,
    early: HashMap<String, Early>,
    early_bytes: usize,
    /// Missions whose later chunks are dropped (finished, cancelled, failed).
    finished: RecentIds,
    /// Missions refused before their head came (their early chunks went over
    /// the bound): their head is ignored when it comes.
    refused: RecentIds,
    /// Body bytes delivered and not yet read, per message.
    unread: HashMap<u64, u64>,
    unread_total: u64,
    next_id: u64,
    pub(super) stats: RecvStats,
}

impl RecvSide {
    pub(super) fn new(config: Py013Config) -> RecvSide {
        RecvSide {
            config,
            partial: HashMap::new(),
            arriving: HashMap::new(),
            early: HashMap::new(),
            early_bytes: 0,
            finished: RecentIds::default(),
            refused: RecentIds::default(),
            unread: HashMap::new(),
            unread_total: 0,
            next_id: 1,
            stats: RecvStats::default(),
        }
    }

    /// Whether more input may be read (the application keeps up).
    pub(super) fn wants_input(&self) -> bool {
        self.unread_total < self.config.receive_window
    }

    pub(super) fn len(&self) -> usize {
        self.partial.len()
    }

    pub(super) fn on_head(&mut self, head: Head, events: &mut VecDeque<Event>) {
        let Head {
            extension,
            length,
            info,
        } = head;
        let early = self.early.remove(&extension);
        if let Some(early) = &early {
            self.early_bytes -= early.bytes;
        }
        if self.refused.remove(&extension) {
            tracing::warn!(
                extension,
                "mission dropped: too many of its chunks came before its head"
            );
            self.finished.insert(&extension);
            return;
        }
        self.finished.remove(&extension);
        if let Some(old) = self.remove_partial(&extension) {
            // A Python receiver keeps only the later mission (§5.4).
            self.fail(
                old.id,
                ReceiveError::Py013(Py013Error::Replaced {
                    extension: extension.clone(),
                }),
                events,
            );
        }
        if self.partial.len() >= self.config.max_incoming {
            self.drop_mission(&extension, &"too many missions arriving at once");
            return;
        }
        let headers = match info_to_headers(&info) {
            Ok(headers) => headers,
            Err(error) => {
                self.drop_mission(&extension, &error);
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        events.push_back(Event::IncomingOpened {
            id,
            priority: Priority::NORMAL,
            headers,
            total_len: Some(length),
        });
        if length == 0 {
            // A Python receiver never completes these (§9.3); delivering the
            // empty message is the useful choice.
            events.push_back(Event::IncomingFinished { id });
            self.finished.insert(&extension);
            return;
        }
        self.unread.insert(id, 0);
        self.arriving.insert(id, extension.clone());
        self.partial.insert(
            extension.clone(),
            Partial {
                id,
                length,
                received: 0,
            },
        );
        for chunk in early.into_iter().flat_map(|early| early.chunks) {
            self.on_data(
                Data {
                    extension: extension.clone(),
                    chunk,
                },
                events,
            );
        }
    }

    pub(super) fn on_data(&mut self, data: Data, events: &mut VecDeque<Event>) {
        let Data { extension, chunk } = data;
        let Some(partial) = self.partial.get_mut(&extension) else {
            self.hold_early(extension, chunk);
            return;
        };
        partial.received += chunk.len() as u64;
        let (id, length, received) = (partial.id, partial.length, partial.received);
        if received > length {
            self.remove_partial(&extension);
            self.finished.insert(&extension);
            let error = Py013Error::Overlong {
                extension,
                length,
                received,
            };
            self.fail(id, ReceiveError::Py013(error), events);
            return;
        }
        if !chunk.is_empty() {
            if let Some(unread) = self.unread.get_mut(&id) {
                *unread += chunk.len() as u64;
                self.unread_total += chunk.len() as u64;
            }
            events.push_back(Event::IncomingData { id, bytes: chunk });
        }
        if received == length {
            self.remove_partial(&extension);
            self.finished.insert(&extension);
            if self.unread.get(&id) == Some(&0) {
                self.unread.remove(&id);
            }
            events.push_back(Event::IncomingFinished { id });
        }
    }

    /// Holds a chunk whose mission is unknown until its head arrives, within
    /// the bounds; drops chunks of missions already over.
    fn hold_early(&mut self, extension: String, chunk: Bytes) {
        // An empty chunk adds nothing to a mission: nothing to hold.
        if chunk.is_empty()
            || self.finished.contains(&extension)
            || self.refused.contains(&extension)
        {
            self.stats.stray_chunks += 1;
            return;
        }
        let cost = chunk.len() + EARLY_CHUNK_OVERHEAD;
        let known = self.early.contains_key(&extension);
        let over_bytes = self.early_bytes + cost > self.config.early_buffer;
        let over_missions = !known && self.early.len() >= self.config.max_early_missions;
        if over_bytes || over_missions {
            if let Some(early) = self.early.remove(&extension) {
                self.early_bytes -= early.bytes;
            }
            tracing::warn!(
                extension,
                "chunks before their head exceed the early-chunk bound; the mission will be dropped"
            );
            self.stats.missions_dropped += 1;
            self.refused.insert(&extension);
            return;
        }
        self.stats.early_chunks += 1;
        self.early_bytes += cost;
        let early = self.early.entry(extension).or_default();
        early.bytes += cost;
        // A copy: a slice would keep the whole read buffer it came from alive.
        early.chunks.push(Bytes::copy_from_slice(&chunk));
    }

    pub(super) fn on_cancel(&mut self, extension: &str, events: &mut VecDeque<Event>) {
        if let Some(early) = self.early.remove(extension) {
            // Its head may still come (a Python sender can put it late): the
            // chunks are gone, so that mission is refused.
            self.early_bytes -= early.bytes;
            self.refused.insert(extension);
            return;
        }
        let Some(partial) = self.remove_partial(extension) else {
            // Unknown or finished: Python tolerates it, so do we (§10.2).
            self.stats.stray_cancels += 1;
            return;
        };
        self.finished.insert(extension);
        let error = ReceiveError::CancelledByPeer {
            code: ErrorCode::CANCELLED,
            reason: "the Python peer cancelled the mission".to_owned(),
        };
        self.fail(partial.id, error, events);
    }

    fn drop_mission(&mut self, extension: &str, why: &dyn std::fmt::Display) {
        tracing::warn!(extension, %why, "incoming mission dropped");
        self.stats.missions_dropped += 1;
        self.finished.insert(extension);
    }

    fn fail(&mut self, id: u64, error: ReceiveError, events: &mut VecDeque<Event>) {
        self.release(id);
        events.push_back(Event::IncomingFailed { id, error });
    }

    /// The application read `n` bytes of message `id`.
    pub(super) fn consumed(&mut self, id: u64, n: u64) {
        let still_arriving = self.arriving.contains_key(&id);
        let Some(unread) = self.unread.get_mut(&id) else {
            return;
        };
        let n = n.min(*unread);
        *unread -= n;
        self.unread_total -= n;
        if *unread == 0 && !still_arriving {
            self.unread.remove(&id);
        }
    }

    /// The application dropped message `id`: its unread bytes are released
    /// and the rest of it, if still arriving, is dropped as it comes (the
    /// format cannot tell a sender to stop). Returns whether it was known.
    pub(super) fn cancel(&mut self, id: u64) -> bool {
        let arriving = self.arriving.get(&id).cloned();
        if let Some(extension) = &arriving {
            self.remove_partial(extension);
            self.finished.insert(extension);
        }
        self.release(id) || arriving.is_some()
    }

    fn remove_partial(&mut self, extension: &str) -> Option<Partial> {
        let partial = self.partial.remove(extension)?;
        self.arriving.remove(&partial.id);
        Some(partial)
    }

    fn release(&mut self, id: u64) -> bool {
        match self.unread.remove(&id) {
            Some(unread) => {
                self.unread_total -= unread;
                true
            }
            None => false,
        }
    }

    /// Every mission still arriving, removed (the connection is over).
    pub(super) fn drain(&mut self) -> Vec<u64> {
        self.early.clear();
        self.early_bytes = 0;
        self.partial
            .drain()
            .map(|(_, partial)| partial.id)
            .collect()
    }
}

/// The pipe's headers of an incoming mission: each key of its info becomes
/// one header whose value is the JSON text of that key's value.
pub(super) fn info_to_headers(info: &Info) -> Result<Headers, String> {
    let mut headers = Headers::new();
    for (name, value) in info.as_object().iter() {
        let text = value
            .to_python_string()
            .map_err(|error| error.to_string())?;
        headers
            .append(name, text)
            .map_err(|error| format!("info key {name:?}: {error}"))?;
    }
    Ok(headers)
}
