//! Serving the peer's requests: handler slots (backpressure), one task per
//! request, deadlines, cancellation, and the reply sent back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::Headers;
use netcore_pipe::{Incoming, SendError, SendHandle};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use crate::dialect::{ReplyTo, RequestError};
use crate::events::{Events, LifecycleEvent, LifecycleKind};
use crate::peer::Peer;
use crate::reply::{Reply, ReplyCode};
use crate::request::Request;
use crate::router::Routes;

type Running = Arc<Mutex<HashMap<u64, AbortHandle>>>;

/// The request side of an endpoint that serves routes.
pub(crate) struct Requests {
    pub(crate) peer: Peer,
    pub(crate) routes: Arc<Routes>,
    pub(crate) handlers: Arc<Semaphore>,
    pub(crate) running: Running,
    pub(crate) closing: Arc<AtomicBool>,
    pub(crate) events: Events,
}

impl Requests {
    pub(crate) fn new(
        peer: Peer,
        routes: Routes,
        handlers: Arc<Semaphore>,
        closing: Arc<AtomicBool>,
        events: Events,
    ) -> Requests {
        Requests {
            peer,
            routes: Arc::new(routes),
            handlers,
            running: Arc::new(Mutex::new(HashMap::new())),
            closing,
            events,
        }
    }

    /// The caller cancelled call `call_id` (message `message_id`): its
    /// handler, if still running, is aborted.
    pub(crate) fn cancel(&self, call_id: u64, message_id: u64) {
        if let Some(task) = lock(&self.running).remove(&call_id) {
            tracing::debug!(call = call_id, "call cancelled by the caller");
            task.abort();
            self.events
                .emit_lifecycle(LifecycleEvent::MessageCancelled {
                    peer: self.peer.id(),
                    message_id,
                });
        }
    }

    /// The connection is over: every handler still running is aborted.
    pub(crate) fn abort_all(&self) {
        for (_, task) in lock(&self.running).drain() {
            task.abort();
        }
    }

    /// Starts serving a call or notification in its own task.
    pub(crate) fn start(&self, incoming: Incoming, call: Call) {
        if self.closing.load(Ordering::SeqCst) {
            // Closing: new calls are refused, new notifications dropped.
            if let Some(reply_to) = &call.reply {
                let refusal = Reply::error(ReplyCode::OVERLOADED, "shutting down");
                let _ = send_reply(&self.peer, reply_to, refusal);
            }
            return;
        }
        let routes = self.routes.clone();
        let call_id = call.reply.as_ref().map(|reply_to| reply_to.call_id);
        let handlers = self.handlers.clone();
        let serving = serve(
            self.peer.clone(),
            routes,
            incoming,
            call,
            self.running.clone(),
            self.events.clone(),
        );
        // The request waits for a handler slot in its own task: the
        // reader keeps reading, so replies and cancels still get through
        // when every slot is busy (handlers that call back this peer would
        // deadlock otherwise). The waiting requests' bodies are not read, so
        // flow control holds their senders back.
        let mut running = lock(&self.running);
        let task = tokio::spawn(async move {
            let Ok(_slot) = handlers.acquire_owned().await else {
                return;
            };
            serving.await;
        });
        // Registered before the task can finish and unregister.
        if let Some(call_id) = call_id {
            running.insert(call_id, task.abort_handle());
        }
    }
}

/// What the reader learnt of a request before serving it.
pub(crate) struct Call {
    pub(crate) route: String,
    pub(crate) headers: Headers,
    pub(crate) deadline: Option<Duration>,
    /// Where the reply goes (with the call id); `None` for a notification.
    pub(crate) reply: Option<ReplyTo>,
}

fn lock(running: &Running) -> std::sync::MutexGuard<'_, HashMap<u64, AbortHandle>> {
    running.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs one request through the routes and answers it (for calls).
async fn serve(
    peer: Peer,
    routes: Arc<Routes>,
    incoming: Incoming,
    call: Call,
    running: Running,
    events: Events,
) {
    let Call {
        route,
        headers,
        deadline,
        reply: reply_to,
    } = call;
    let call_id = reply_to.as_ref().map(|reply_to| reply_to.call_id);
    let message_id = incoming.id;
    if events.has_lifecycle_listener(LifecycleKind::Request) {
        events.emit_lifecycle(LifecycleEvent::Request {
            peer: peer.id(),
            route: route.clone(),
            message_id,
        });
    }
    // A streaming handler gets the body as it arrives; others get it whole.
    let (body, stream) = if routes.streams_body(&route) {
        (Ok(Bytes::new()), Some(incoming.body))
    } else {
        (incoming.bytes().await, None)
    };
    let reply = match body {
        Err(error) => {
            tracing::debug!(%error, route, "request body failed");
            Reply::error(
                ReplyCode::BAD_REQUEST,
                format!("the request body failed: {error}"),
            )
        }
        Ok(body) => {
            let request = Request {
                route: route.clone(),
                message_id,
                call_id,
                headers,
                body,
                peer: peer.clone(),
                stream: Arc::new(Mutex::new(stream)),
            };
            // The handler runs in its own task, so a panic is caught here;
            // if this task is aborted (the caller cancelled), so is it.
            let handler = tokio::spawn(async move { routes.dispatch(request).await });
            let abort = handler.abort_handle();
            let _abort_with_me = AbortOnDrop(handler.abort_handle());
            let outcome = match deadline {
                Some(deadline) => tokio::time::timeout(deadline, handler).await.ok(),
                None => Some(handler.await),
            };
            match outcome {
                None => {
                    abort.abort();
                    Reply::error(ReplyCode::TIMEOUT, format!("{route} passed its deadline"))
                }
                Some(Ok(reply)) => reply,
                Some(Err(join)) if join.is_panic() => {
                    tracing::warn!(route, "handler panicked");
                    Reply::error(
                        ReplyCode::INTERNAL,
                        format!("the handler of {route} panicked"),
                    )
                }
                Some(Err(_)) => Reply::error(ReplyCode::CANCELLED, "cancelled"),
            }
        }
    };
    let Some(reply_to) = reply_to else {
        if let Reply::Err(error) = reply {
            tracing::debug!(route, %error, "notification handler failed");
        }
        return;
    };
    let call_id = reply_to.call_id;
    lock(&running).remove(&call_id);
    let ok = !reply.is_err();
    let sent = match send_reply(&peer, &reply_to, reply) {
        Ok(Some(handle)) => handle.await.map_err(ReplyNotSent::Send),
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    match sent {
        Ok(()) if events.has_lifecycle_listener(LifecycleKind::Reply) => {
            events.emit_lifecycle(LifecycleEvent::Reply {
                peer: peer.id(),
                route,
                message_id,
                ok,
            });
        }
        Ok(()) => {}
        Err(error) => {
            // The reply could not go (too large for the peer, say): tell the
            // caller rather than leave it waiting for its timeout.
            tracing::debug!(%error, call = call_id, "reply not sent");
            let refusal = Reply::error(
                ReplyCode::INTERNAL,
                format!("the reply of {route} could not be sent: {error}"),
            );
            let _ = send_reply(&peer, &reply_to, refusal);
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a reply did not go out.
#[derive(Debug)]
pub(crate) enum ReplyNotSent {
    /// Its message could not be built.
    Build(RequestError),
    /// The pipe did not send it (too large for the peer, link gone…).
    Send(SendError),
}

/// The whole story, causes included: it goes to logs and to the caller.
impl std::fmt::Display for ReplyNotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyNotSent::Build(error) => {
                write!(f, "the reply could not be built: {error}")?;
                let mut cause = std::error::Error::source(error);
                while let Some(error) = cause {
                    write!(f, ": {error}")?;
                    cause = error.source();
                }
                Ok(())
            }
            ReplyNotSent::Send(error) => write!(f, "{error}"),
        }
    }
}

/// Sends a reply in the connection's dialect; `Ok(None)` when the dialect
/// cannot carry it (an error to a Python peer).
pub(crate) fn send_reply(
    peer: &Peer,
    reply_to: &ReplyTo,
    reply: Reply,
) -> Result<Option<SendHandle>, ReplyNotSent> {
    let Some(message) = peer
        .inner
        .dialect
        .reply(reply_to, reply)
        .map_err(ReplyNotSent::Build)?
    else {
        return Ok(None);
    };
    peer.inner
        .pipe
        .send(message)
        .map(Some)
        .map_err(ReplyNotSent::Send)
}
