//! The reader of a connection: it sorts what arrives. Replies complete the
//! calls waiting for them right here (no router involved: a client needs
//! none); cancels stop running handlers; calls and notifications go to
//! [`Requests`], or are refused at once when this side serves nothing.

use netcore_pipe::protocol::Headers;
use netcore_pipe::{ConnectionError, Incoming};

use crate::dialect::Classified;
use crate::endpoint::Lifecycle;
use crate::error::CallError;
use crate::events::{Events, LifecycleEvent};
use crate::peer::{Peer, Response};
use crate::reply::{Reply, ReplyCode, ReplyError};
use crate::scheduler::Scheduler;
use crate::serving::{Call, Requests, send_reply};

/// Reads one connection until it ends, then fails what is left and reports
/// how it ended.
pub(crate) struct Reader {
    pub(crate) peer: Peer,
    /// `None`: this side serves nothing (a client).
    pub(crate) requests: Option<Requests>,
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
            let incoming = match pipe.accept().await {
                Ok(incoming) => incoming,
                Err(error) => break error,
            };
            let headers = incoming.headers.clone();
            let peer = &self.peer;
            match dialect.classify(headers, &|call_id| peer.is_pending(call_id)) {
                Classified::Reply {
                    call_id,
                    error,
                    headers,
                } => {
                    let peer = self.peer.clone();
                    deliveries.spawn(deliver_reply(peer, incoming, call_id, error, headers));
                }
                Classified::Call {
                    route,
                    reply_to,
                    deadline,
                    headers,
                } => self.request(
                    incoming,
                    Call {
                        route,
                        headers,
                        deadline,
                        reply: Some(reply_to),
                    },
                ),
                Classified::Notify { route, headers } => self.request(
                    incoming,
                    Call {
                        route,
                        headers,
                        deadline: None,
                        reply: None,
                    },
                ),
                Classified::Cancel { call_id } => {
                    if let Some(requests) = &self.requests {
                        requests.cancel(call_id, incoming.id);
                    }
                }
                Classified::Ignored(why) => {
                    tracing::debug!(message = incoming.id, why, "incoming message dropped");
                }
            }
        };
        tracing::debug!(peer = %peer_id, %error, "connection over");
        self.scheduler.shutdown();
        while deliveries.join_next().await.is_some() {}
        if let Some(requests) = &self.requests {
            requests.abort_all();
        }
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

    /// A call or notification: served, or refused at once when this side
    /// serves no routes.
    fn request(&self, incoming: Incoming, call: Call) {
        match &self.requests {
            Some(requests) => requests.start(incoming, call),
            None => {
                tracing::debug!(
                    route = call.route,
                    "request to a peer that serves no routes"
                );
                if let Some(reply_to) = &call.reply {
                    let refusal = Reply::error(
                        ReplyCode::NOT_FOUND,
                        format!(
                            "route not found: {} (this peer serves no routes)",
                            call.route
                        ),
                    );
                    let _ = send_reply(&self.peer, reply_to, refusal);
                }
            }
        }
    }
}

/// Completes the call a reply answers.
async fn deliver_reply(
    peer: Peer,
    incoming: Incoming,
    call_id: u64,
    error: Option<ReplyCode>,
    headers: Headers,
) {
    let result = match (incoming.bytes().await, error) {
        (Err(error), _) => Err(CallError::from(error)),
        (Ok(body), Some(code)) => {
            let message = String::from_utf8_lossy(&body).into_owned();
            Err(CallError::Remote(ReplyError::new(code, message)))
        }
        (Ok(body), None) => Ok(Response { headers, body }),
    };
    peer.complete(call_id, result);
}
