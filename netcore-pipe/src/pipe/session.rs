//! The connection state machine the driver owns: LSO v2 or, in
//! Python-compatible mode, netcore 0.1.3. Both take the same inputs and give
//! the same events, so the driver does not care which it runs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use netcore_protocol::{Decoded, ErrorCode, Headers, Priority};

use crate::core::{Connection, Event, Transmit, py013};
use crate::error::PipeError;

/// One decoded item from the read task.
#[derive(Debug)]
pub(crate) enum Inbound {
    Lso(Decoded),
    Py013(netcore_protocol::py013::Packet),
}

impl Inbound {
    /// Whether this is a whole frame or packet (not a damage report).
    pub(crate) fn is_frame(&self) -> bool {
        match self {
            Inbound::Lso(item) => matches!(item, Decoded::Frame(_)),
            Inbound::Py013(_) => true,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Session {
    Lso(Box<Connection>),
    Py013(Box<py013::Connection>),
}

impl Session {
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Session::Lso(core) => core.is_closed(),
            Session::Py013(core) => core.is_closed(),
        }
    }

    /// Whether the driver should take more input now.
    pub(crate) fn wants_input(&self) -> bool {
        match self {
            Session::Lso(_) => true,
            Session::Py013(core) => core.wants_input(),
        }
    }

    pub(crate) fn rtt(&self) -> Option<Duration> {
        match self {
            Session::Lso(core) => core.rtt(),
            Session::Py013(_) => None,
        }
    }

    pub(crate) fn handle_inbound(&mut self, item: Inbound, now: Instant) {
        match (self, item) {
            (Session::Lso(core), Inbound::Lso(item)) => core.handle_decoded(item, now),
            (Session::Py013(core), Inbound::Py013(packet)) => core.handle_packet(packet),
            // The read task decodes with the session's own format.
            _ => {}
        }
    }

    pub(crate) fn handle_eof(&mut self, now: Instant) {
        match self {
            Session::Lso(core) => core.handle_eof(now),
            Session::Py013(core) => core.handle_eof(),
        }
    }

    pub(crate) fn handle_transport_error(&mut self, error: PipeError) {
        match self {
            Session::Lso(core) => core.handle_transport_error(error),
            Session::Py013(core) => core.handle_transport_error(error),
        }
    }

    pub(crate) fn abort(&mut self, error: PipeError) {
        match self {
            Session::Lso(core) => core.abort(error),
            Session::Py013(core) => core.abort(error),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Session::Lso(core) = self {
            core.handle_timeout(now);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Session::Lso(core) => core.poll_timeout(),
            Session::Py013(_) => None,
        }
    }

    pub(crate) fn close(&mut self) {
        match self {
            Session::Lso(core) => core.close(ErrorCode::NO_ERROR, ""),
            Session::Py013(core) => core.close(),
        }
    }

    pub(crate) fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        len: Option<u64>,
    ) -> Result<(), PipeError> {
        match self {
            Session::Lso(core) => core.open_with_id(id, priority, headers, len).map(|_| ()),
            Session::Py013(core) => core.open_with_id(id, priority, headers, len),
        }
    }

    pub(crate) fn push_body(
        &mut self,
        id: u64,
        chunk: Bytes,
        finish: bool,
    ) -> Result<(), PipeError> {
        match self {
            Session::Lso(core) => core.push_body(id, chunk, finish),
            Session::Py013(core) => core.push_body(id, chunk, finish),
        }
    }

    pub(crate) fn buffered(&self, id: u64) -> Option<u64> {
        match self {
            Session::Lso(core) => core.buffered(id),
            Session::Py013(core) => core.buffered(id),
        }
    }

    pub(crate) fn cancel_outgoing(&mut self, id: u64) -> bool {
        match self {
            Session::Lso(core) => core.cancel_outgoing(id),
            Session::Py013(core) => core.cancel_outgoing(id),
        }
    }

    pub(crate) fn consumed(&mut self, id: u64, n: u64, now: Instant) {
        match self {
            Session::Lso(core) => core.consumed(id, n, now),
            Session::Py013(core) => core.consumed(id, n),
        }
    }

    pub(crate) fn cancel_incoming(&mut self, id: u64, now: Instant) -> bool {
        match self {
            Session::Lso(core) => core.cancel_incoming(id, now),
            Session::Py013(core) => core.cancel_incoming(id),
        }
    }

    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        match self {
            Session::Lso(core) => core.poll_transmit(now),
            Session::Py013(core) => core.poll_transmit(),
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        match self {
            Session::Lso(core) => core.poll_event(),
            Session::Py013(core) => core.poll_event(),
        }
    }
}
