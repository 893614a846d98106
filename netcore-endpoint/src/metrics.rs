//! The endpoint's figures through the [`metrics`] facade (feature
//! `metrics`, which also turns on netcore-pipe's): calls counted by outcome
//! and timed, requests served counted by outcome.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `netcore_calls_total{outcome}` | counter | calls made; `outcome` is `ok`, `remote_error`, `timeout`, `connection` or `local` |
//! | `netcore_call_duration_seconds{outcome}` | histogram | from the call to its reply or failure |
//! | `netcore_requests_total{outcome}` | counter | requests served; `outcome` is `ok` or `error` (an error reply, a panic, a refusal) |
//!
//! No label carries a route or a peer: a hostile peer can name any number
//! of routes, and a server can have 10 000 peers.

use std::time::Duration;

use metrics::{counter, histogram};

use crate::CallError;

/// The `outcome` label of a call that ended with `error` (or `None`: ok).
fn outcome(error: Option<&CallError>) -> &'static str {
    match error {
        None => "ok",
        Some(CallError::Remote(_)) => "remote_error",
        Some(CallError::Timeout(_)) => "timeout",
        Some(CallError::Connection(_)) => "connection",
        Some(_) => "local",
    }
}

/// A call ended after `took`.
pub(crate) fn call_done(took: Duration, error: Option<&CallError>) {
    let outcome = outcome(error);
    counter!("netcore_calls_total", "outcome" => outcome).increment(1);
    histogram!("netcore_call_duration_seconds", "outcome" => outcome).record(took.as_secs_f64());
}

/// A request was answered (`ok`) or failed.
pub(crate) fn request_done(ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    counter!("netcore_requests_total", "outcome" => outcome).increment(1);
}
