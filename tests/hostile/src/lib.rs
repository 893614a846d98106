//! # netcore-hostile
//!
//! The hostile-peer suite of issue 14: a raw LSO v2 peer written from
//! `docs/wire-format.md` alone (never `netcore-protocol`'s codec, which is
//! what it attacks), and the tools its attacks share. The attacks are the
//! crate's integration tests (`tests/`), one binary per finding so that
//! each heap measurement counts one attack only; README.md lists them.
//!
//! | module | what it holds |
//! |---|---|
//! | [`wire`] | the encoder: one function per frame kind, header blocks, the dialect's call headers, the doc's worked examples |
//! | [`reader`] | a minimal frame reader: CRCs checked, GOAWAY, PONG, CREDIT, OPEN, DATA and HELLO fields |
//! | [`peer`] | [`RawPeer`]: raw bytes over a TCP connection, reads with a timeout, close detection |
//! | [`meter`] | the heap meter: [`heap_meter!`] installs a counting allocator in a test binary; [`HeapGauge`] |
//! | [`server`] | the attacked [`Server`](netcore_endpoint::Server) on 127.0.0.1 and the honest client that checks it still serves |
//! | [`proxy`] | [`BlackholeProxy`]: a TCP relay that stops forwarding without closing |

pub mod meter;
pub mod peer;
pub mod proxy;
pub mod reader;
pub mod server;
pub mod wire;

pub use meter::{HeapGauge, mib};
pub use peer::{Arrival, RawPeer};
pub use proxy::BlackholeProxy;
pub use reader::{FrameReader, GoAway, RawFrame, ReadError};
pub use server::{TestServer, client, fresh_client_served, routes};
pub use wire::HelloFields;
