//! The reader of a connection: it sorts what arrives. Replies complete the
//! calls waiting for them right here (no router involved: a client needs
//! none; a reply whose body came whole, as one of a single frame does,
//! without a task; a longer one in a task that reads its body; a streamed
//! call gets the head and the live body at once); cancels
//! stop running handlers; calls and notifications go to
//! [`Requests`] once they have a request place (refused there at once when
//! this side serves nothing).
//!
//! ## Back-pressure, and what it costs replies
//!
//! A request is accepted from the pipe, then waits in the reader for a
//! place (see [`crate::admission`]): while none is free the reader accepts
//! nothing more, so the pipe stops handing out messages and, once its own
//! bounds are reached, stops reading the link: the peer is pushed back, and
//! no task or memory is spent on its excess requests.
//!
//! Replies to this side's own calls and cancels come through the same
//! `accept`, in the order the peer sent them. The reader keeps taking them
//! as long as no request is waiting for a place; one request waiting holds
//! up what the peer sent after it. Handlers that call back the peer they
//! serve therefore need room: if every place of both sides is taken by
//! handlers waiting for each other's replies, the replies cannot be read
//! until calls time out (the default call timeout and the deadlines bound
//! that). Give such mutually recursive routes a queue
//! ([`max_queued_requests`](crate::EndpointConfig::max_queued_requests))
//! longer than the calls either side keeps in flight.

use bytes::Bytes;
use netcore_pipe::protocol::Headers;
use netcore_pipe::{ConnectionError, Incoming, ReceiveError};

use crate::dialect::Classified;
use crate::endpoint::Lifecycle;
use crate::error::CallError;
use crate::events::{Events, LifecycleEvent};
use crate::peer::{Peer, PendingReply, Response};
use crate::reply::{ReplyCode, ReplyError};
use crate::scheduler::Scheduler;
use crate::serving::{Call, Requests};
use crate::streamed::ReplyHead;

/// Reads one connection until it ends, then fails what is left and reports
/// how it ended.
pub(crate) struct Reader {
    pub(crate) peer: Peer,
    /// Where requests go (refused there when this side serves nothing).
    pub(crate) requests: Requests,
    pub(crate) events: Events,
    pub(crate) scheduler: Scheduler,
    pub(crate) lifecycle: Lifecycle,
}

impl Reader {
    pub(crate) async fn run(self) {
        let peer_id = self.peer.id();
        self.events
            .emit_lifecycle(LifecycleEvent::PeerConnected { peer: peer_id });
        let pipe = &self.peer.inner.pipe;
        let dialect = self.peer.inner.dialect;
        // Replies being read; the calls they answer must complete before the
        // remaining ones are failed when the connection ends.
        let mut deliveries = tokio::task::JoinSet::new();
        let error = loop {
            while deliveries.try_join_next().is_some() {}
            let mut incoming = match pipe.accept().await {
                Ok(incoming) => incoming,
                Err(error) => break error,
            };
            // The classification carries the headers on (nothing reads
            // them from `incoming` after this): taken, not copied.
            let headers = std::mem::take(&mut incoming.headers);
            let peer = &self.peer;
            match dialect.classify(headers, &|call_id| peer.is_pending(call_id)) {
                Classified::Reply {
                    call_id,
                    error,
                    headers,
                } => match self.peer.take_pending(call_id) {
                    // Its call was given up: the reply is dropped, which
                    // cancels the rest of it at the peer.
                    None => {
                        tracing::debug!(call = call_id, "a reply to no waiting call dropped");
                    }
                    Some(PendingReply::Whole(waiting)) => match incoming.body.try_whole() {
                        // Its body came whole (a reply of one frame): the
                        // call completes right here, with no task.
                        Some(body) => drop(waiting.send(reply(Ok(body), error, headers))),
                        None => {
                            deliveries.spawn(async move {
                                let body = incoming.bytes().await;
                                let _ = waiting.send(reply(body, error, headers));
                            });
                        }
                    },
                    // A successful reply goes to its call as it opens, its
                    // body live; an error reply's message is read first.
                    Some(PendingReply::Streamed(waiting)) => match error {
                        None => {
                            let head = ReplyHead {
                                headers,
                                total_len: incoming.total_len,
                                body: incoming.body,
                            };
                            let _ = waiting.send(Ok(head));
                        }
                        Some(code) => {
                            deliveries.spawn(async move {
                                let body = incoming.bytes().await;
                                let _ = waiting.send(Err(refusal(body, code)));
                            });
                        }
                    },
                },
                Classified::Call {
                    route,
                    reply_to,
                    deadline,
                    headers,
                } => {
                    // Counted from the arrival of its OPEN: the wait in
                    // the pipe's backlog and for a place is the caller's
                    // wait too. A deadline too far to count is none.
                    let deadline = deadline.and_then(|after| incoming.opened_at.checked_add(after));
                    let call = Call {
                        route,
                        headers,
                        deadline,
                        reply: Some(reply_to),
                    };
                    self.request(incoming, call).await;
                }
                Classified::Notify { route, headers } => {
                    let call = Call {
                        route,
                        headers,
                        deadline: None,
                        reply: None,
                    };
                    self.request(incoming, call).await;
                }
                Classified::Cancel { call_id } => self.requests.cancel(call_id, incoming.id),
                Classified::Ignored(why) => {
                    tracing::debug!(msg.id = incoming.id, why, "incoming message dropped");
                }
            }
        };
        tracing::debug!(peer = %peer_id, %error, "connection over");
        self.scheduler.shutdown();
        while deliveries.join_next().await.is_some() {}
        self.requests.abort_all();
        self.peer.fail_all(CallError::from(error));
        // How it ended: the pipe's own verdict, once it is in.
        let outcome = self.peer.closed().await;
        if let Err(ConnectionError::Transport(io)) = &outcome {
            self.events.emit_lifecycle(LifecycleEvent::TransportError {
                peer: peer_id,
                error: io.to_string(),
            });
        }
        self.events
            .emit_lifecycle(LifecycleEvent::PeerDisconnected {
                peer: peer_id,
                reason: outcome.err().map(|error| error.to_string()),
            });
        if self.lifecycle == Lifecycle::Own {
            self.events.emit_lifecycle(LifecycleEvent::Stopped);
        }
    }

    /// A call or notification: it waits here for a request place (the
    /// reader reads nothing meanwhile: back-pressure), then goes to
    /// [`Requests`]. Dropped if the connection ends first.
    async fn request(&self, incoming: Incoming, call: Call) {
        let admission = &self.requests.admission;
        let place = match admission.try_enter() {
            Some(place) => place,
            None => {
                tracing::debug!(
                    peer = %self.peer.id(),
                    "every request place taken: reading paused until one is free"
                );
                tokio::select! {
                    place = admission.enter() => match place {
                        Some(place) => place,
                        None => return,
                    },
                    _ = self.peer.closed() => {
                        tracing::debug!(route = call.route, "connection over: a waiting request dropped");
                        return;
                    }
                }
            }
        };
        self.requests.start(incoming, call, place);
    }
}

/// What a call gets from its reply: the response, the peer's error, or why
/// the reply's body could not be read.
fn reply(
    body: Result<Bytes, ReceiveError>,
    error: Option<ReplyCode>,
    headers: Headers,
) -> Result<Response, CallError> {
    match error {
        Some(code) => Err(refusal(body, code)),
        None => body
            .map(|body| Response { headers, body })
            .map_err(CallError::from),
    }
}

/// The peer's error reply `code` with its message `body` (or why that could
/// not be read).
fn refusal(body: Result<Bytes, ReceiveError>, code: ReplyCode) -> CallError {
    match body {
        Err(error) => CallError::from(error),
        Ok(body) => {
            let message = String::from_utf8_lossy(&body).into_owned();
            CallError::Remote(ReplyError::new(code, message))
        }
    }
}
