//! Reading a request body whole into memory, within the connection's
//! [`BodyBudget`]: the room comes first, then the bytes (see
//! [`crate::body_budget`] for how bodies of announced and unannounced
//! length take their room).

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use netcore_pipe::{BodyStream, ReceiveError};

use crate::body_budget::{BodyBudget, GrowRefused, Reservation};

/// The first room a body of unannounced length takes; it doubles from
/// there (never past the budget).
const FIRST_ROOM: u64 = 64 << 10;

/// Bytes copied between yields to the scheduler, so that one large body
/// does not hold a worker thread for its whole copy.
const COPY_SLICE: usize = 256 << 10;

/// Why a body was not collected.
#[derive(Debug)]
pub(crate) enum NotCollected {
    /// Larger than the whole budget: `len` is the announced length, or
    /// `None` for a body of unannounced length that grew past it.
    TooLarge { len: Option<u64>, limit: u64 },
    /// Of unannounced length, it needed more room while other requests
    /// held the rest and another body already waited for room.
    Contended { limit: u64 },
    /// More bytes came than the peer announced.
    LongerThanAnnounced { announced: u64 },
    /// The body failed (cancelled by the peer, the connection ended…).
    Failed(ReceiveError),
}

impl std::fmt::Display for NotCollected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCollected::TooLarge {
                len: Some(len),
                limit,
            } => write!(
                f,
                "the request body ({len} bytes) is larger than this connection's max_buffered_request_bytes ({limit} bytes)"
            ),
            NotCollected::TooLarge { len: None, limit } => write!(
                f,
                "the request body (of unannounced length) grew larger than this connection's max_buffered_request_bytes ({limit} bytes)"
            ),
            NotCollected::Contended { limit } => write!(
                f,
                "the request body (of unannounced length) needed more room while other requests held the rest of this connection's max_buffered_request_bytes ({limit} bytes) and another body waited for room; retry, or announce the body's length"
            ),
            NotCollected::LongerThanAnnounced { announced } => write!(
                f,
                "the request body is longer than its announced {announced} bytes"
            ),
            NotCollected::Failed(error) => write!(f, "the request body failed: {error}"),
        }
    }
}

/// A body whose announced length is over the whole budget: refused before
/// anything is read or waited for.
pub(crate) fn refused_at_once(total_len: Option<u64>, budget: &BodyBudget) -> Option<NotCollected> {
    let len = total_len?;
    (len > budget.limit()).then_some(NotCollected::TooLarge {
        len: Some(len),
        limit: budget.limit(),
    })
}

/// Reads `body` whole, holding a reservation of `budget` for the memory it
/// takes (returned with the bytes: keep it as long as they are held).
///
/// A body of announced length waits for its whole room before its first
/// byte is read (so flow control holds its sender meanwhile); one of
/// unannounced length takes room as its bytes arrive. The waits end only
/// when room is free: callers bound them with the call's deadline, its
/// cancel and the connection's end.
pub(crate) async fn collect(
    body: &mut BodyStream,
    total_len: Option<u64>,
    budget: &Arc<BodyBudget>,
) -> Result<(Bytes, Reservation), NotCollected> {
    if let Some(refusal) = refused_at_once(total_len, budget) {
        return Err(refusal);
    }
    let limit = budget.limit();
    let (mut buffer, mut reservation) = match total_len {
        Some(len) => {
            // (A length this machine cannot address is over any budget.)
            let capacity = usize::try_from(len).map_err(|_| NotCollected::TooLarge {
                len: Some(len),
                limit,
            })?;
            let reservation = budget.reserve(len).await;
            // Room for all of it was reserved: no growing, no re-copying.
            (Vec::with_capacity(capacity), reservation)
        }
        None => (Vec::new(), budget.empty()),
    };
    let mut since_yield = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(NotCollected::Failed)?;
        let need = buffer.len() as u64 + chunk.len() as u64;
        match total_len {
            Some(announced) if need > announced => {
                return Err(NotCollected::LongerThanAnnounced { announced });
            }
            Some(_) => {}
            None if need > buffer.capacity() as u64 => {
                let room = make_room(&mut reservation, need, buffer.capacity() as u64, limit)
                    .await
                    .map_err(|refused| match refused {
                        GrowRefused::TooLarge => NotCollected::TooLarge { len: None, limit },
                        GrowRefused::Contended => NotCollected::Contended { limit },
                    })?;
                let room = usize::try_from(room)
                    .map_err(|_| NotCollected::TooLarge { len: None, limit })?;
                buffer.reserve_exact(room - buffer.len());
            }
            None => {}
        }
        buffer.extend_from_slice(&chunk);
        since_yield += chunk.len();
        if since_yield >= COPY_SLICE {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
    Ok((Bytes::from(buffer), reservation))
}

/// Grows `reservation` to hold at least `need` bytes, returning the room
/// it now holds: double the buffer's `capacity` if that is free now (fewer
/// re-copies), else exactly `need`, waiting for it if need be.
async fn make_room(
    reservation: &mut Reservation,
    need: u64,
    capacity: u64,
    limit: u64,
) -> Result<u64, GrowRefused> {
    if need > limit {
        return Err(GrowRefused::TooLarge);
    }
    let held = reservation.bytes();
    let generous = need
        .max(capacity.saturating_mul(2))
        .max(FIRST_ROOM)
        .min(limit);
    if generous > held && reservation.try_grow(generous - held) {
        return Ok(generous);
    }
    if need > held {
        reservation.grow(need - held).await?;
    }
    Ok(reservation.bytes().max(need))
}
