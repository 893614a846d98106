//! # netcore-transports
//!
//! Ready-made transports for the Netcore `Pipe`: TCP, Unix sockets, serial
//! ports and QUIC, each behind its own cargo feature, with connect and
//! listen/accept helpers.
//!
//! **Status:** a placeholder. The crate is filled by the "netcore-transports"
//! issue.
