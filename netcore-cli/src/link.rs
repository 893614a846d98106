//! From an [`Address`] and a wire format to a connection or a server.

use netcore_endpoint::EndpointConfig;
use netcore_pipe::{Pipe, PipeConfig};
use netcore_transports::serial::{self, SerialOptions};
use netcore_transports::{tcp, unix};

use crate::Wire;
use crate::address::Address;
use crate::failure::Failure;

/// The endpoint settings for `wire` on `address`'s medium.
pub(crate) fn endpoint_config(wire: Wire, address: &Address) -> EndpointConfig {
    match (wire, address) {
        (Wire::Python013, _) => EndpointConfig::py013(),
        (Wire::Lso2, Address::Serial { .. }) => EndpointConfig::lossy_link(),
        (Wire::Lso2, _) => EndpointConfig::default(),
    }
}

/// The pipe settings for `wire` on `address`'s medium.
pub(crate) fn pipe_config(wire: Wire, address: &Address) -> PipeConfig {
    endpoint_config(wire, address).pipe
}

/// The serial options `address` names.
pub(crate) fn serial_options(
    path: &str,
    baud: u32,
    parity: serial::Parity,
    pipe: PipeConfig,
) -> SerialOptions {
    SerialOptions::new(path)
        .baud_rate(baud)
        .parity(parity)
        .pipe(pipe)
}

/// A pipe connected to `address`.
pub(crate) async fn connect(address: &Address, wire: Wire) -> Result<Pipe, Failure> {
    let pipe = pipe_config(wire, address);
    // The transport's error names the address and the cause.
    let failed = |error: netcore_transports::Error| Failure::Connection(error.to_string());
    match address {
        Address::Tcp(host_port) => {
            let options = tcp::TcpOptions::default().pipe(pipe);
            tcp::connect(host_port.as_str(), &options)
                .await
                .map_err(failed)
        }
        Address::Unix(path) => unix::connect(path, &pipe).await.map_err(failed),
        Address::Serial { path, baud, parity } => {
            serial::open(&serial_options(path, *baud, *parity, pipe)).map_err(failed)
        }
        Address::Quic(_) => Err(quic_not_yet()),
    }
}

/// QUIC needs certificates the command cannot take yet.
pub(crate) fn quic_not_yet() -> Failure {
    Failure::Usage(
        "quic:// needs certificates (--ca, --cert, --key), which this version of the \
         command does not take yet: use tcp://, unix:// or serial://"
            .to_owned(),
    )
}
