//! # netcore-endpoint
//!
//! The application layer: a `Router` with exact routes, blueprints (nesting),
//! middleware as tower layers and hooks; request/response calls and
//! notifications; lifecycle and user events; a scheduler; a TTL cache; and a
//! multi-connection `Server`.
//!
//! **Status:** a placeholder. The crate is filled by the "netcore-endpoint"
//! issue.
