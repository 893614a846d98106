//! The errors of the pipe, one per operation, each saying whose fault it
//! was ([`Fault`]).
//!
//! | operation | error | its own causes (besides how the connection ended) |
//! |---|---|---|
//! | the connection: handshake ([`Pipe::ready`](crate::Pipe::ready)), its end ([`Pipe::closed`](crate::Pipe::closed), [`Pipe::close`](crate::Pipe::close)) | [`ConnectionError`] | [`PeerClosed`](ConnectionError::PeerClosed), [`LinkLost`](ConnectionError::LinkLost), [`Transport`](ConnectionError::Transport), [`IdleTimeout`](ConnectionError::IdleTimeout), [`GoAway`](ConnectionError::GoAway), [`Closed`](ConnectionError::Closed), and the peer's protocol violations: [`NoHello`](ConnectionError::NoHello), [`DuplicateHello`](ConnectionError::DuplicateHello), [`Decode`](ConnectionError::Decode), [`Inbound`](ConnectionError::Inbound), [`FlowControl`](ConnectionError::FlowControl), [`Py013`](ConnectionError::Py013) |
//! | send ([`Pipe::send`](crate::Pipe::send), its [`SendHandle`](crate::SendHandle)) | [`SendError`] | [`Refused`](SendError::Refused), [`Encode`](SendError::Encode), [`Py013`](SendError::Py013), [`LengthMismatch`](SendError::LengthMismatch), [`Body`](SendError::Body), [`Cancelled`](SendError::Cancelled), [`CancelledByPeer`](SendError::CancelledByPeer) |
//! | receive ([`Pipe::recv`](crate::Pipe::recv), [`Pipe::accept`](crate::Pipe::accept), [`Incoming::bytes`](crate::Incoming::bytes), a [`BodyStream`](crate::BodyStream)) | [`ReceiveError`] | [`WrongReceiveMode`](ReceiveError::WrongReceiveMode), [`CancelledByPeer`](ReceiveError::CancelledByPeer), [`Damaged`](ReceiveError::Damaged), [`Spill`](ReceiveError::Spill), [`Py013`](ReceiveError::Py013) |
//!
//! A send or a receive pending when the connection ends fails with the
//! connection's error, wrapped: [`SendError::Connection`],
//! [`ReceiveError::Connection`]. Each error has `fault()` (who is to blame)
//! and converts into a [`std::io::Error`] of a fitting
//! [`std::io::ErrorKind`] (a transport's own kind is kept), so code that
//! speaks `io::Result` can use `?` across all three.

mod connection;
mod fault;
mod receive;
mod send;

pub use connection::ConnectionError;
pub use fault::{Fault, FlowScope};
pub use receive::ReceiveError;
pub use send::SendError;
