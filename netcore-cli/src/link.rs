//! From an [`Address`] and the link options to a connection or a server.

use std::net::SocketAddr;
use std::path::PathBuf;

use netcore_endpoint::{Endpoint, EndpointConfig};
use netcore_pipe::{Pipe, PipeConfig};
use netcore_transports::quic::{self, Identity, QuicClientConfig, QuicServerConfig, TrustRoots};
use netcore_transports::serial::{self, SerialOptions};
use netcore_transports::{tcp, unix};

use crate::Wire;
use crate::address::Address;
use crate::failure::Failure;

/// How to speak to a peer: the wire format, and for `quic://` the
/// certificates.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LinkArgs {
    /// The wire format the peer speaks.
    #[arg(long, value_enum, default_value_t = Wire::Lso2)]
    pub(crate) wire: Wire,
    /// quic://: the certificate authority (PEM) to trust — the server's for
    /// a client, the clients' for a server (which then requires client
    /// certificates).
    #[arg(long, value_name = "PEM")]
    pub(crate) ca: Option<PathBuf>,
    /// quic://: this side's certificate chain (PEM), with --key. A server
    /// without one makes a self-signed certificate and says where it is.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// quic://: the private key (PEM) of --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub(crate) key: Option<PathBuf>,
}

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
pub(crate) async fn connect(address: &Address, link: &LinkArgs) -> Result<Pipe, Failure> {
    let pipe = pipe_config(link.wire, address);
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
        Address::Quic(host_port) => {
            let Some(ca) = &link.ca else {
                return Err(Failure::Usage(
                    "quic:// needs --ca PEM: the certificate (or its authority) the server \
                     presents"
                        .to_owned(),
                ));
            };
            let roots = TrustRoots::new()
                .add_pem_file(ca)
                .map_err(|error| Failure::Usage(format!("--ca {}: {error}", ca.display())))?;
            let mut config = QuicClientConfig::new(roots);
            if let Some(identity) = identity(link)? {
                config = config.client_certificate(identity);
            }
            let at = resolve(host_port).await?;
            quic::connect(at, server_name(host_port), &config, pipe)
                .await
                .map_err(|error| Failure::Connection(format!("quic://{host_port}: {error}")))
        }
    }
}

/// A client endpoint (no routes) connected to `address`.
pub(crate) async fn client(address: &Address, link: &LinkArgs) -> Result<Endpoint, Failure> {
    let pipe = connect(address, link).await?;
    Endpoint::builder()
        .config(endpoint_config(link.wire, address))
        .start(pipe)
        .map_err(|error| Failure::Usage(error.to_string()))
}

/// The QUIC server settings the link options give: --cert/--key, or a
/// fresh self-signed certificate for `host_port`'s host (its PEM returned
/// too, so clients can be told to trust it).
pub(crate) fn quic_server(
    host_port: &str,
    link: &LinkArgs,
) -> Result<(QuicServerConfig, Option<String>), Failure> {
    let (mut config, made) = match identity(link)? {
        Some(identity) => (QuicServerConfig::new(identity), None),
        None => {
            let name = server_name(host_port);
            let identity = Identity::self_signed(&[name, "localhost"]).map_err(|error| {
                Failure::Local(format!("cannot make a self-signed certificate: {error}"))
            })?;
            let pem = identity.certificate_pem();
            (QuicServerConfig::new(identity), Some(pem))
        }
    };
    if let Some(ca) = &link.ca {
        let roots = TrustRoots::new()
            .add_pem_file(ca)
            .map_err(|error| Failure::Usage(format!("--ca {}: {error}", ca.display())))?;
        config = config.require_client_certificates(roots);
    }
    Ok((config, made))
}

/// The socket address `host_port` names (the first one a lookup gives).
pub(crate) async fn resolve(host_port: &str) -> Result<SocketAddr, Failure> {
    tokio::net::lookup_host(host_port)
        .await
        .map_err(|error| Failure::Connection(format!("cannot resolve {host_port}: {error}")))?
        .next()
        .ok_or_else(|| Failure::Connection(format!("{host_port} resolves to no address")))
}

/// The host of `host:port`, without an IPv6 address's brackets: the name
/// the server's certificate must carry.
fn server_name(host_port: &str) -> &str {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// This side's certificate and key, if --cert and --key name them.
fn identity(link: &LinkArgs) -> Result<Option<Identity>, Failure> {
    match (&link.cert, &link.key) {
        (Some(cert), Some(key)) => Identity::from_pem_files(cert, key)
            .map(Some)
            .map_err(|error| {
                Failure::Usage(format!(
                    "--cert {} --key {}: {error}",
                    cert.display(),
                    key.display()
                ))
            }),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_is_the_host_without_brackets() {
        assert_eq!(server_name("example.com:443"), "example.com");
        assert_eq!(server_name("127.0.0.1:7000"), "127.0.0.1");
        assert_eq!(server_name("[::1]:7000"), "::1");
    }
}
