//! A yamux 0.14 connection over a TCP pair, default configuration on both
//! ends: the baseline multiplexer of the bench targets that include this
//! file by path.

use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// One yamux connection over a TCP stream.
pub(crate) type YamuxConnection = yamux::Connection<Compat<TcpStream>>;

/// The client and server ends of yamux over `client` and `server`.
pub(crate) fn yamux_connections(
    client: TcpStream,
    server: TcpStream,
) -> (YamuxConnection, YamuxConnection) {
    let config = yamux::Config::default;
    (
        yamux::Connection::new(client.compat(), config(), yamux::Mode::Client),
        yamux::Connection::new(server.compat(), config(), yamux::Mode::Server),
    )
}
