//! The [`Peer`]: the other end of a connection, to call and notify.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::{Headers, Priority};
use netcore_pipe::{Body, ConnectionError, Pipe, SendError, SendHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::context;
use crate::dialect::{self, Dialect, RequestError};
use crate::error::{CallError, DecodeReplyError};
use crate::peer_id::PeerId;
use crate::priority::default_priority;
use crate::streamed::{ReplyHead, StreamedResponse};

/// How long a call whose request the peer cancelled still waits for the
/// peer's reply, which says why (it goes out before the cancel, but is read
/// by another task here).
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// A successful reply to a call.
#[derive(Debug, Clone)]
pub struct Response {
    /// The reply's headers.
    pub headers: Headers,
    /// The reply's body.
    pub body: Bytes,
}

impl Response {
    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body)
            .map_err(|error| CallError::Decode(DecodeReplyError::from(error)))
    }
}

/// Per-call settings.
#[derive(Debug, Clone, Default, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct CallOptions {
    /// How long to wait for the reply (the peer is told, and aborts its
    /// handler when it passes). `None`: the endpoint's default, if any.
    /// Made while serving a request, a call waits at most for what is left
    /// of that request's deadline, whatever this says (see
    /// [`detached`](Self::detached)).
    pub timeout: Option<Duration>,
    /// Whether the call's wait is free of the deadline of the request the
    /// current task serves ([`RequestContext`](crate::RequestContext)):
    /// `false` (the default) caps it by what is left of that deadline, as
    /// the caller upstream will not wait longer; `true` leaves it to the
    /// call's own timeout. Awaited inside the handler, a detached call is
    /// still dropped (and cancelled) when the handler is aborted at that
    /// deadline: work that goes on after the reply runs in a spawned task.
    pub detached: bool,
    /// Extra headers for the request.
    pub headers: Headers,
    /// Priority of the request message. `None`: [`Priority::HIGH`] for a
    /// body of known length up to [`SMALL_BODY`](crate::SMALL_BODY) bytes,
    /// [`Priority::NORMAL`] for a longer one or a stream, so an upload
    /// does not share the top tier with the small calls beside it.
    pub priority: Option<Priority>,
}

/// A call waiting for its reply, and how it wants it.
pub(crate) enum PendingReply {
    /// The reply whole in memory ([`Peer::call`]).
    Whole(oneshot::Sender<Result<Response, CallError>>),
    /// The reply's head, its body as it arrives ([`Peer::call_streamed`]).
    Streamed(oneshot::Sender<Result<ReplyHead, CallError>>),
}

impl PendingReply {
    fn fail(self, error: CallError) {
        match self {
            PendingReply::Whole(tx) => drop(tx.send(Err(error))),
            PendingReply::Streamed(tx) => drop(tx.send(Err(error))),
        }
    }
}

pub(crate) struct PeerInner {
    pub(crate) id: PeerId,
    pub(crate) pipe: Pipe,
    pub(crate) pending: Mutex<HashMap<u64, PendingReply>>,
    next_call: AtomicU64,
    default_timeout: Option<Duration>,
    pub(crate) dialect: &'static dyn Dialect,
}

/// The other end of a connection: call its routes, notify it. Cheap to
/// clone; handlers get one as an extractor to call back whoever called them.
#[derive(Clone)]
pub struct Peer {
    pub(crate) inner: Arc<PeerInner>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").field("id", &self.inner.id).finish()
    }
}

impl Peer {
    pub(crate) fn new(
        id: PeerId,
        pipe: Pipe,
        default_timeout: Option<Duration>,
        dialect: &'static dyn Dialect,
    ) -> Peer {
        let default_timeout = default_timeout.or_else(|| dialect.default_call_timeout());
        Peer {
            inner: Arc::new(PeerInner {
                id,
                pipe,
                pending: Mutex::new(HashMap::new()),
                next_call: AtomicU64::new(dialect.first_call_id()),
                default_timeout,
                dialect,
            }),
        }
    }

    /// This connection's id (the Python framework's `pipe_safe_code`).
    pub fn id(&self) -> PeerId {
        self.inner.id
    }

    /// The wire format this connection speaks.
    pub fn wire_format(&self) -> &netcore_pipe::WireFormat {
        self.inner.pipe.wire_format()
    }

    /// Calls `route` with `body` and waits for the reply (the endpoint's
    /// default timeout applies, capped by what is left of the deadline of
    /// the request this task serves, if any). Dropping the future cancels
    /// the call at the peer, whose handler is aborted.
    pub async fn call(&self, route: &str, body: impl Into<Body>) -> Result<Response, CallError> {
        self.call_with(route, body, CallOptions::default()).await
    }

    /// Calls `route` with a JSON request and parses the JSON reply.
    pub async fn call_json<Req, Resp>(&self, route: &str, request: &Req) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let body = serde_json::to_vec(request)
            .map_err(|error| CallError::Request(RequestError::from(error)))?;
        let mut options = CallOptions::default();
        // A constant, valid header: cannot fail.
        let _ = options
            .headers
            .insert_static(dialect::CONTENT_TYPE, dialect::JSON);
        self.call_with(route, body, options).await?.json()
    }

    /// Calls `route` with per-call options.
    pub async fn call_with(
        &self,
        route: &str,
        body: impl Into<Body>,
        options: CallOptions,
    ) -> Result<Response, CallError> {
        let (response, _request) = self
            .call_for(route, body.into(), options, PendingReply::Whole)
            .await?;
        Ok(response)
    }

    /// Calls `route` and returns as soon as the reply's head is in: its
    /// body comes as a stream ([`StreamedResponse`]), never held whole, so
    /// a reply of any size — a download of gigabytes — costs only the
    /// pipe's flow-control window. Save it to a file with
    /// [`save`](StreamedResponse::save), or read it chunk by chunk.
    ///
    /// The request body may stream too ([`Body::stream`], [`Body::file`]):
    /// it goes on being sent while the reply arrives (a duplex call, each
    /// way under its own flow control). The call's timeout covers the wait
    /// for the reply's head; the body then flows as fast as the reader
    /// takes it. Dropping the [`StreamedResponse`] stops both: the reply
    /// is cancelled at the peer, and a request still being sent here.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use netcore_endpoint::{CallOptions, Endpoint};
    /// use netcore_pipe::Body;
    /// use netcore_pipe::transport::memory_pair;
    ///
    /// // A download of 64 chunks of 64 KiB, produced as it is sent.
    /// async fn download() -> Body {
    ///     Body::stream(futures::stream::iter(
    ///         (0..64).map(|_| Ok(bytes::Bytes::from(vec![7u8; 64 << 10]))),
    ///     ))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = memory_pair(64 * 1024);
    /// let _server = Endpoint::builder().route("/download", download).start(b)?;
    /// let client = Endpoint::builder().start(a)?;
    /// let mut reply = client
    ///     .peer()
    ///     .call_streamed("/download", "", CallOptions::default())
    ///     .await?;
    /// let mut total = 0;
    /// while let Some(chunk) = reply.next().await {
    ///     total += chunk?.len();
    /// }
    /// assert_eq!(total, 64 << 16);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_streamed(
        &self,
        route: &str,
        body: impl Into<Body>,
        options: CallOptions,
    ) -> Result<StreamedResponse, CallError> {
        let (head, request) = self
            .call_for(route, body.into(), options, PendingReply::Streamed)
            .await?;
        Ok(StreamedResponse::new(head, request))
    }

    /// A call whose reply comes as `T` (how `pending` registers it): `T`,
    /// and the request's handle if it may still be being sent.
    /// One call, in a `call` span (DEBUG: route, peer, call id, priority,
    /// size) and, with the `metrics` feature, counted by outcome and timed.
    async fn call_for<T>(
        &self,
        route: &str,
        body: Body,
        options: CallOptions,
        pending: fn(oneshot::Sender<Result<T, CallError>>) -> PendingReply,
    ) -> Result<(T, Option<SendHandle>), CallError> {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            "call",
            route,
            peer = %self.id(),
            call.id = tracing::field::Empty,
            msg.priority = tracing::field::Empty,
            msg.size = body.len(),
        );
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let outcome = async {
            let outcome = self.call_traced(route, body, options, pending).await;
            match &outcome {
                Ok(_) => tracing::debug!("call answered"),
                Err(error) => tracing::debug!(%error, "call failed"),
            }
            outcome
        }
        .instrument(span)
        .await;
        #[cfg(feature = "metrics")]
        crate::metrics::call_done(started.elapsed(), outcome.as_ref().err());
        outcome
    }

    async fn call_traced<T>(
        &self,
        route: &str,
        body: Body,
        options: CallOptions,
        pending: fn(oneshot::Sender<Result<T, CallError>>) -> PendingReply,
    ) -> Result<(T, Option<SendHandle>), CallError> {
        let timeout = context::call_wait(
            options.timeout.or(self.inner.default_timeout),
            options.detached,
        )
        // The request served here has run out of time: its caller has
        // given up, nothing is worth sending.
        .map_err(CallError::Timeout)?;
        let call_id = self.inner.next_call.fetch_add(1, Ordering::Relaxed);
        let (reply_tx, reply_rx) = oneshot::channel();
        self.lock_pending().insert(call_id, pending(reply_tx));
        // From here on, dropping this future cancels the call.
        let mut guard = CallGuard {
            peer: self,
            call_id,
            request: None,
            done: false,
        };
        let mut message = self
            .inner
            .dialect
            .request(route, Some(call_id), timeout, body, options.headers)
            .map_err(CallError::Request)?;
        message.priority = options
            .priority
            .unwrap_or_else(|| default_priority(&message.body));
        let span = tracing::Span::current();
        span.record("call.id", call_id);
        span.record("msg.priority", tracing::field::debug(message.priority));
        tracing::debug!("call sent");
        guard.request = Some(self.inner.pipe.send(message).map_err(CallError::from)?);
        // Wait for the reply — or for the request to fail on its way out
        // (too large for the peer, refused, link gone): then no reply comes.
        let wait = async {
            let mut reply_rx = reply_rx;
            if let Some(request) = guard.request.as_mut() {
                tokio::select! {
                    reply = &mut reply_rx => {
                        let reply =
                            reply.unwrap_or(Err(CallError::Connection(ConnectionError::Closed)));
                        // A request whose body source failed is cancelled
                        // at the peer, which may answer that it saw it
                        // cancelled: the local cause (recorded before the
                        // cancel went out) says what went wrong.
                        if reply.is_err()
                            && request.is_finished()
                            && let Err(error @ (SendError::Body(_) | SendError::LengthMismatch { .. })) =
                                request.finished().await
                        {
                            return Err(CallError::from(error));
                        }
                        return reply;
                    }
                    sent = request.finished() => match sent {
                        Ok(()) => {}
                        // A peer that refuses a request (a body too large
                        // to hold, say) answers first, then stops it: its
                        // answer says why, and may be a step behind.
                        Err(error @ SendError::CancelledByPeer { .. }) => {
                            return match tokio::time::timeout(REFUSAL_GRACE, reply_rx).await {
                                Ok(Ok(reply)) => reply,
                                _ => Err(CallError::from(error)),
                            };
                        }
                        Err(error) => return Err(CallError::from(error)),
                    }
                }
            }
            reply_rx
                .await
                .unwrap_or(Err(CallError::Connection(ConnectionError::Closed)))
        };
        let reply = match timeout {
            Some(timeout) => match tokio::time::timeout(timeout, wait).await {
                Ok(reply) => reply,
                Err(_) => return Err(CallError::Timeout(timeout)),
            },
            None => wait.await,
        };
        guard.done = true;
        Ok((reply?, guard.request.take()))
    }

    /// Sends a notification: `route` runs at the peer, no reply comes back.
    /// Returns once the message is handed to the transport.
    pub async fn notify(&self, route: &str, body: impl Into<Body>) -> Result<(), CallError> {
        let call_id = self
            .inner
            .dialect
            .notifications_take_call_ids()
            .then(|| self.inner.next_call.fetch_add(1, Ordering::Relaxed));
        let message = self
            .inner
            .dialect
            .request(route, call_id, None, body.into(), Headers::new())
            .map_err(CallError::Request)?;
        let handle = self.inner.pipe.send(message).map_err(CallError::from)?;
        handle.await.map_err(CallError::from)
    }

    /// Closes the connection gracefully (calls in flight both ways finish).
    pub async fn close(&self) -> Result<(), ConnectionError> {
        self.inner.pipe.close().await
    }

    /// Waits until the connection has ended.
    pub async fn closed(&self) -> Result<(), ConnectionError> {
        self.inner.pipe.closed().await
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.pipe.is_closed()
    }

    /// The connection's counters: bytes and messages each way, messages in
    /// flight, the round trip, the flow-control windows, resyncs and
    /// damaged bytes (see [`PipeStats`](netcore_pipe::PipeStats)).
    pub fn stats(&self) -> netcore_pipe::PipeStats {
        self.inner.pipe.stats()
    }

    /// Calls waiting for a reply.
    pub fn pending_calls(&self) -> usize {
        self.lock_pending().len()
    }

    pub(crate) fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, PendingReply>> {
        // A poisoned map is still a valid map: a panic elsewhere must not
        // wedge every later call.
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether call `call_id` is waiting for its reply.
    pub(crate) fn is_pending(&self, call_id: u64) -> bool {
        self.lock_pending().contains_key(&call_id)
    }

    /// The call a reply answers, now no longer pending (`None`: it was
    /// given up).
    pub(crate) fn take_pending(&self, call_id: u64) -> Option<PendingReply> {
        self.lock_pending().remove(&call_id)
    }

    /// Fails every pending call (the connection is over).
    pub(crate) fn fail_all(&self, error: CallError) {
        let pending: Vec<PendingReply> = self.lock_pending().drain().map(|(_, tx)| tx).collect();
        for pending in pending {
            pending.fail(error.clone());
        }
    }
}

/// Cancels a call whose future is dropped before its reply came.
struct CallGuard<'a> {
    peer: &'a Peer,
    call_id: u64,
    request: Option<SendHandle>,
    done: bool,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.peer.lock_pending().remove(&self.call_id);
        if let Some(request) = &self.request {
            request.cancel();
        }
        // Tell the peer to abort the handler (it may already be running), if
        // the dialect can say so.
        if let Some(message) = self.peer.inner.dialect.cancel(self.call_id) {
            let _ = self.peer.inner.pipe.send(message);
        }
    }
}
