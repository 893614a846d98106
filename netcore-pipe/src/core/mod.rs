//! The sans-IO connection cores: the whole protocol state machine of each
//! wire format, with no I/O and no clock of its own.
//!
//! ## Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | `format` | the [`Core`] trait a wire format implements, and its [`CoreDecoder`] |
//! | `state` | [`ConnectionState`], the lifecycle every core reports, with its diagram |
//! | `event` | [`Event`], what a core tells its driver |
//! | `flow_stats` | [`FlowStats`], the windows and bytes in flight right now |
//! | `transmit` | [`Transmit`] and [`WireBytes`], what a core hands out to write |
//! | [`lso`] | LSO v2: [`Connection`], [`CoreConfig`] |
//! | [`py013`] | Python netcore 0.1.3: [`py013::Connection`] |
//!
//! ## How data flows
//!
//! ```text
//!   bytes from the transport                         bytes to the transport
//!            │                                                ▲
//!            ▼                                                │
//!   CoreDecoder::decode ── items ──▶ Core::handle_item   Core::poll_transmit
//!                                          │                  ▲
//!                                          ▼                  │
//!                                   Core::poll_event    Core::open_with_id
//!                                   (opened, data,      Core::push_body
//!                                    finished, failed,  Core::consumed
//!                                    closed)            Core::cancel_*
//!                                          │                  ▲
//!                                          ▼                  │
//!                                       the driver (Pipe) and its handles
//! ```
//!
//! A core is fed what happened and asked what to do, the way `quinn` drives
//! `quinn-proto`; the poll order is on [`Core`]. The async
//! [`Pipe`](crate::Pipe) is generic over it and never asks which format it
//! runs.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use netcore_pipe::core::{Connection, CoreConfig, Event};
//! use netcore_protocol::{Headers, Priority};
//!
//! let now = Instant::now();
//! let mut a = Connection::new(CoreConfig::default(), now);
//! let mut b = Connection::new(CoreConfig::default(), now);
//! let id = a.open(Priority::NORMAL, Headers::new(), Some(5)).expect("open");
//! a.push_body(id, Bytes::from_static(b"hello"), true).expect("body");
//!
//! // Move bytes both ways until nothing is left to say.
//! for _ in 0..4 {
//!     while let Some(t) = a.poll_transmit(now) { b.handle_input(&t.to_bytes(), now); }
//!     while let Some(t) = b.poll_transmit(now) { a.handle_input(&t.to_bytes(), now); }
//! }
//! let mut body = Vec::new();
//! while let Some(event) = b.poll_event() {
//!     if let Event::IncomingData { bytes, .. } = event { body.extend_from_slice(&bytes); }
//! }
//! assert_eq!(body, b"hello");
//! ```

mod event;
mod flow_stats;
mod format;
pub mod lso;
pub mod py013;
mod state;
mod transmit;

pub use event::Event;
pub use flow_stats::FlowStats;
pub use format::{Core, CoreDecoder, LinkDamage};
pub use lso::{Connection, CoreConfig, CoreStats, HeaderBudget, WindowBudget};
pub use state::ConnectionState;
pub use transmit::{Transmit, WireBytes};
