//! Why a command failed, and the exit code that says so.

use std::process::ExitCode;
use std::time::Duration;

/// A command's failure: one line for the user, one exit code per kind.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The command line asks for something impossible (exit 2).
    #[error("{0}")]
    Usage(String),
    /// No connection, or it ended before the answer (exit 3).
    #[error("{0}")]
    Connection(String),
    /// No answer in time (exit 4).
    #[error("no reply within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The peer answered with an error (exit 1).
    #[error("the peer answered {0}")]
    Remote(String),
    /// Anything else on this side: a file, the terminal (exit 1).
    #[error("{0}")]
    Local(String),
}

impl Failure {
    /// The process's exit code for it.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Remote(_) | Failure::Local(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Connection(_) => 3,
            Failure::Timeout(_) => 4,
        })
    }
}
