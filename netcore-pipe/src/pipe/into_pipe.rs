//! [`IntoPipe`]: what a pipe can be made from, or already is.

use super::{Pipe, PipeConfig};
use crate::transport::Transport;

/// Anything that is, or becomes, a running [`Pipe`]: every [`Transport`]
/// (a pipe is started over it with the settings given) and every `Pipe`
/// already running (taken as it is; its settings were fixed when it was
/// built, so those given are not used).
///
/// Whatever takes a connection — an endpoint, a server's listener — takes
/// an `impl IntoPipe`, so the tuned transports and ready pipes that the
/// `netcore-transports` helpers return plug in directly:
///
/// ```
/// use netcore_pipe::{IntoPipe, Pipe, PipeConfig, transport::memory_pair};
///
/// fn start(link: impl IntoPipe) -> Pipe {
///     link.into_pipe(PipeConfig::default())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (a, b) = memory_pair(64 * 1024);
/// let from_transport = start(a);
/// let from_pipe = start(Pipe::new(b, PipeConfig::default()));
/// # drop((from_transport, from_pipe));
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither a `Transport` nor a `Pipe`",
    label = "this does not move bytes the way a pipe needs",
    note = "pass a ready `Pipe` (what the `netcore-transports` helpers such as `tcp::connect` return), a tokio `AsyncRead + AsyncWrite` type, or your own `Transport`",
    note = "for two async functions use `netcore_pipe::transport::from_fns`; for two blocking ones, `netcore_pipe::transport::blocking`"
)]
pub trait IntoPipe {
    /// The running pipe: started over `self` with `config`, or `self`.
    fn into_pipe(self, config: PipeConfig) -> Pipe;
}

impl<T: Transport> IntoPipe for T {
    fn into_pipe(self, config: PipeConfig) -> Pipe {
        Pipe::new(self, config)
    }
}

impl IntoPipe for Pipe {
    fn into_pipe(self, _config: PipeConfig) -> Pipe {
        self
    }
}
