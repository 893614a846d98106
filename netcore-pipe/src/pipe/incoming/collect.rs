//! [`Collect`]: how [`ReceiveMode::Complete`](crate::ReceiveMode::Complete)
//! collects each incoming body whole, within the receive buffer and the
//! spill budget.
//!
//! The rules (documented for users on `PipeConfig` and `ReceiveMode`):
//!
//! - A body of announced length `len` reserves all of it before reading a
//!   byte. Up to `spill_threshold` it goes to memory (the receive buffer);
//!   when the receive buffer is short it goes to a spill file instead if the
//!   spill budget has room now. Longer bodies go to a spill file (the spill
//!   budget). While no budget it may use has room, the collector waits
//!   without reading, so no flow-control credit goes back and the sender
//!   stops; it takes whichever budget frees first. A body larger than every
//!   budget it may use fails at once ([`ReceiveError::TooLarge`]); the
//!   connection goes on.
//! - A body of unknown length reserves `spill_threshold` of the receive
//!   buffer, collects in memory, and gives back what it did not use. If it
//!   grows past the threshold it moves to a spill file and reserves the
//!   spill budget as it grows, one such body at a time.
//! - What a message reserved it holds until the application drops it.
//!
//! Deadlock-free among collectors: every collector either holds all it will
//! ever need or nothing while it waits, except the one growing spill of
//! unknown length, which waits only for the spill budget (never for the
//! receive buffer) while it holds it. Spilling when memory is short keeps
//! messages moving: a waiting message still holds its flow-control window
//! of the connection's (see `PipeConfig::receive_buffer`), so waiting only
//! once both budgets are full keeps collections in progress from being
//! starved of connection credit in all but extreme loads.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use tokio::sync::Mutex;

use super::budget::{Budget, Reservation};
use super::spill::SpillWriter;
use super::{BodyStream, Incoming, Pacer, Received, ReceivedBody};
use crate::error::ReceiveError;
use crate::pipe::config::PipeConfig;

/// The collector settings and budgets of one pipe, shared by its collectors.
#[derive(Debug, Clone)]
pub(crate) struct Collect {
    /// Bodies longer than this go to a spill file (the receive buffer's
    /// size when spilling is off).
    threshold: u64,
    dir: Option<PathBuf>,
    memory: Arc<Budget>,
    /// `None` when spilling is off (`spill_budget == 0`).
    disk: Option<Arc<Budget>>,
    /// Held by the one body of unknown length growing on disk.
    growing_spill: Arc<Mutex<()>>,
}

fn spill_error(error: std::io::Error) -> ReceiveError {
    ReceiveError::Spill(Arc::new(error))
}

/// Where a body is collected, with its reservation.
enum Place {
    Memory(Reservation),
    Disk(Reservation),
}

/// `future`'s output, unless the message fails first (the peer cancels it,
/// the connection ends): waiting for a budget ends either way.
async fn unless_failed<T>(
    future: impl Future<Output = T>,
    body: &mut BodyStream,
) -> Result<T, ReceiveError> {
    tokio::select! {
        biased;
        error = body.failure() => Err(error),
        output = future => Ok(output),
    }
}

impl Collect {
    /// The collector of a pipe built with `config`.
    pub(crate) fn new(config: &PipeConfig) -> Collect {
        let memory = Arc::new(Budget::new(config.receive_buffer));
        let disk = (config.spill_budget > 0).then(|| Arc::new(Budget::new(config.spill_budget)));
        let threshold = match disk {
            Some(_) => config.spill_threshold.min(memory.limit()),
            None => memory.limit(),
        };
        Collect {
            threshold,
            dir: config.spill_dir.clone(),
            memory,
            disk,
            growing_spill: Arc::new(Mutex::new(())),
        }
    }

    /// Collects `incoming` whole (see the module docs for where and how it
    /// waits).
    pub(crate) async fn run(self, incoming: Incoming) -> Result<Received, ReceiveError> {
        let Incoming {
            id,
            headers,
            priority,
            total_len,
            opened_at,
            mut body,
        } = incoming;
        let (body, memory) = match total_len {
            Some(len) if len <= self.threshold => match self.place(len, id, &mut body).await? {
                Place::Memory(memory) => {
                    let bytes = read_to_memory(&mut body, len).await?;
                    (ReceivedBody::Memory(bytes), memory)
                }
                Place::Disk(disk) => {
                    let file = self.read_to_file(&mut body, len, disk).await?;
                    (ReceivedBody::File(file), Reservation::default())
                }
            },
            Some(len) => {
                let disk = self.disk_for(len)?;
                let reservation = self.reserve(disk, len, id, &mut body).await?;
                let file = self.read_to_file(&mut body, len, reservation).await?;
                (ReceivedBody::File(file), Reservation::default())
            }
            None => self.collect_unsized(id, &mut body).await?,
        };
        Ok(Received {
            id,
            headers,
            priority,
            opened_at,
            body,
            _memory: memory,
        })
    }

    /// Where a body of `len` bytes (at most the threshold) goes: memory if
    /// the receive buffer has room, else a spill file if the spill budget
    /// has room, else whichever frees first.
    async fn place(&self, len: u64, id: u64, body: &mut BodyStream) -> Result<Place, ReceiveError> {
        if let Some(memory) = self.memory.try_reserve(len) {
            return Ok(Place::Memory(memory));
        }
        let disk = self.disk.as_deref().filter(|disk| len <= disk.limit());
        if let Some(reservation) = disk.and_then(|disk| disk.try_reserve(len)) {
            tracing::trace!(msg.id = id, len, "receive buffer full: the body spills");
            return Ok(Place::Disk(reservation));
        }
        tracing::debug!(
            message = id,
            len,
            "receive budgets full: collection waits until the application drops received messages"
        );
        let either = async {
            match disk {
                None => Place::Memory(self.memory.reserve(len).await),
                Some(disk) => tokio::select! {
                    memory = self.memory.reserve(len) => Place::Memory(memory),
                    reservation = disk.reserve(len) => Place::Disk(reservation),
                },
            }
        };
        unless_failed(either, body).await
    }

    /// Writes a body announced as `len` bytes (reserved already) to a spill
    /// file.
    async fn read_to_file(
        &self,
        body: &mut BodyStream,
        len: u64,
        reservation: Reservation,
    ) -> Result<super::SpilledFile, ReceiveError> {
        let mut file = SpillWriter::create(self.dir.clone())
            .await
            .map_err(spill_error)?;
        let mut pacer = Pacer::default();
        while let Some(chunk) = next_for_file(body, &mut file).await {
            let chunk = chunk?;
            check_announced(file.written() + chunk.len() as u64, len)?;
            pacer.copied(chunk.len()).await;
            file.write(chunk).await.map_err(spill_error)?;
        }
        file.finish(reservation).await.map_err(spill_error)
    }

    /// The spill budget, if a body of `len` bytes fits it.
    fn disk_for(&self, len: u64) -> Result<&Arc<Budget>, ReceiveError> {
        match &self.disk {
            None => Err(ReceiveError::TooLarge {
                limit: "receive_buffer",
                len,
                max: self.threshold,
            }),
            Some(disk) if len > disk.limit() => Err(ReceiveError::TooLarge {
                limit: "spill_budget",
                len,
                max: disk.limit(),
            }),
            Some(disk) => Ok(disk),
        }
    }

    /// Reserves `bytes` of `budget` for message `id`, waiting (without
    /// reading its body) while the budget is short.
    async fn reserve(
        &self,
        budget: &Budget,
        bytes: u64,
        id: u64,
        body: &mut BodyStream,
    ) -> Result<Reservation, ReceiveError> {
        if budget.held().saturating_add(bytes) > budget.limit() {
            tracing::debug!(
                message = id,
                bytes,
                held = budget.held(),
                limit = budget.limit(),
                "budget full: collection waits until the application drops received messages"
            );
        }
        unless_failed(budget.reserve(bytes), body).await
    }

    /// Collects a body of unknown length: in memory up to the threshold,
    /// then in a spill file.
    async fn collect_unsized(
        &self,
        id: u64,
        body: &mut BodyStream,
    ) -> Result<(ReceivedBody, Reservation), ReceiveError> {
        let mut memory = self.reserve(&self.memory, self.threshold, id, body).await?;
        let mut parts: Vec<Bytes> = Vec::new();
        let mut len = 0u64;
        let mut pacer = Pacer::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if len + chunk.len() as u64 > self.threshold {
                let disk = self.disk_for(len + chunk.len() as u64)?;
                let file = self
                    .spill_unsized(id, body, disk, parts, chunk, memory)
                    .await?;
                return Ok((ReceivedBody::File(file), Reservation::default()));
            }
            pacer.copied(chunk.len()).await;
            len += chunk.len() as u64;
            parts.push(chunk);
        }
        memory.shrink_to(len);
        Ok((ReceivedBody::Memory(join(parts, len)), memory))
    }

    /// Moves a body of unknown length that outgrew the threshold to a spill
    /// file, and collects the rest of it there.
    async fn spill_unsized(
        &self,
        id: u64,
        body: &mut BodyStream,
        disk: &Budget,
        parts: Vec<Bytes>,
        chunk: Bytes,
        memory: Reservation,
    ) -> Result<super::SpilledFile, ReceiveError> {
        // One at a time: the only collector that waits while holding part
        // of what it needs.
        let _growing = unless_failed(self.growing_spill.lock(), body).await?;
        let in_memory: u64 = parts.iter().map(|part| part.len() as u64).sum();
        let mut len = in_memory + chunk.len() as u64;
        let mut reservation = self.reserve(disk, len, id, body).await?;
        let mut file = SpillWriter::create(self.dir.clone())
            .await
            .map_err(spill_error)?;
        for part in parts.iter().chain(std::iter::once(&chunk)) {
            file.write(part.clone()).await.map_err(spill_error)?;
        }
        // On disk before their memory share goes back.
        file.settle().await.map_err(spill_error)?;
        drop(parts);
        drop(memory);
        let mut pacer = Pacer::default();
        while let Some(chunk) = next_for_file(body, &mut file).await {
            let chunk = chunk?;
            let n = chunk.len() as u64;
            if len + n > disk.limit() {
                return Err(ReceiveError::TooLarge {
                    limit: "spill_budget",
                    len: len + n,
                    max: disk.limit(),
                });
            }
            reservation.merge(self.reserve(disk, n, id, body).await?);
            pacer.copied(chunk.len()).await;
            file.write(chunk).await.map_err(spill_error)?;
            len += n;
        }
        file.finish(reservation).await.map_err(spill_error)
    }
}

/// The next chunk of a body going to `file`; when none is ready yet, what
/// `file` gathered goes to disk before waiting (see `SpillWriter::idle`).
async fn next_for_file(
    body: &mut BodyStream,
    file: &mut SpillWriter,
) -> Option<Result<Bytes, ReceiveError>> {
    if let Some(ready) = body.next().now_or_never() {
        return ready;
    }
    if let Err(error) = file.idle().await {
        return Some(Err(spill_error(error)));
    }
    body.next().await
}

/// Reads a body announced as `len` bytes (reserved already) into memory.
async fn read_to_memory(body: &mut BodyStream, len: u64) -> Result<Bytes, ReceiveError> {
    let mut parts: Vec<Bytes> = Vec::new();
    let mut got = 0u64;
    let mut pacer = Pacer::default();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        check_announced(got + chunk.len() as u64, len)?;
        pacer.copied(chunk.len()).await;
        got += chunk.len() as u64;
        parts.push(chunk);
    }
    Ok(join(parts, got))
}

/// A body must not outgrow its announced length (the budget reserved for
/// it); LSO v2 checks this on the wire already.
fn check_announced(got: u64, announced: u64) -> Result<(), ReceiveError> {
    if got > announced {
        return Err(ReceiveError::TooLarge {
            limit: "announced length",
            len: got,
            max: announced,
        });
    }
    Ok(())
}

/// The parts as one `Bytes` (one part as it came: no copy).
fn join(mut parts: Vec<Bytes>, len: u64) -> Bytes {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let mut joined = BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
    for part in &parts {
        joined.extend_from_slice(part);
    }
    joined.freeze()
}
