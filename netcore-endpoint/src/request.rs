//! What a handler receives: a [`Request`], and its metadata.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use netcore_pipe::BodyStream;
use netcore_pipe::protocol::Headers;

use crate::peer::Peer;
use crate::peer_id::PeerId;

/// An incoming call or notification, body included.
#[derive(Debug, Clone)]
pub struct Request {
    /// The route it was sent to (the full path, prefixes included).
    pub route: String,
    /// The pipe message id that carried it.
    pub message_id: u64,
    /// The caller's call id (`None` for a notification).
    pub call_id: Option<u64>,
    /// All headers.
    pub headers: Headers,
    /// The body (empty for a route whose handler streams it with
    /// [`Streamed`](crate::Streamed)).
    pub body: Bytes,
    /// The connection it came from.
    pub peer: Peer,
    /// The body as a stream, for a handler that takes [`Streamed`](crate::Streamed).
    pub(crate) stream: Arc<Mutex<Option<BodyStream>>>,
}

impl Request {
    /// The metadata of this request, without the body.
    pub fn meta(&self) -> RequestMeta {
        RequestMeta {
            route: self.route.clone(),
            message_id: self.message_id,
            call_id: self.call_id,
            headers: self.headers.clone(),
            peer_id: self.peer.id(),
        }
    }
}

/// A request's metadata: route, ids, headers and peer id. An extractor.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The route.
    pub route: String,
    /// The pipe message id.
    pub message_id: u64,
    /// The call id (`None` for a notification).
    pub call_id: Option<u64>,
    /// The headers.
    pub headers: Headers,
    /// The connection's peer id.
    pub peer_id: PeerId,
}
