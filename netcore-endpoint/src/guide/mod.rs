//! Guides: how the pieces of this crate fit together for one job, with
//! runnable examples. Nothing here is code; each guide is a page of docs.
//!
//! - [`streaming`]: uploads, downloads and duplex calls of any size, untyped
//!   and typed, and what cancelling or a deadline does to them.

#[doc = include_str!("streaming.md")]
pub mod streaming {}
