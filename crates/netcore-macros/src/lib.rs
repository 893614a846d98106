//! # netcore-macros
//!
//! `#[derive(Route)]` turns a serde type into a typed route: its path, its
//! response type, its codec and a schema fingerprint, so that the server handler
//! and the client call can never drift apart.
//!
//! **Status:** a placeholder. The crate is filled by the "netcore-macros" issue.
