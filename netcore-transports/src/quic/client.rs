//! [`QuicClientConfig`]: the client's trust roots, optional client
//! certificate, ALPN and transport options.

use std::sync::Arc;

use super::error::QuicError;
use super::identity::Identity;
use super::options::QuicOptions;
use super::trust::TrustRoots;
use super::{ALPN, crypto_provider};

/// Whom a QUIC client trusts and how it presents itself: the trust roots the
/// server's certificate must chain to, an optional client certificate for
/// servers that require one (mutual TLS), the ALPN protocols (`netcore/2`)
/// and [`QuicOptions`].
///
/// The server name to check the certificate against is given per
/// connection (see [`connect`](super::connect)).
///
/// ```
/// use netcore_transports::quic::{Identity, QuicClientConfig, TrustRoots};
///
/// let server = Identity::self_signed(&["localhost"])?;
/// // Trust only that server's certificate.
/// let client = QuicClientConfig::new(TrustRoots::new().add_der(server.certificate_der().clone())?);
/// // Or from a PEM file of CA certificates:
/// // QuicClientConfig::new(TrustRoots::new().add_pem_file("ca.pem")?);
/// # let _ = client;
/// # Ok::<(), netcore_transports::quic::QuicError>(())
/// ```
#[derive(Debug, Clone)]
pub struct QuicClientConfig {
    roots: TrustRoots,
    identity: Option<Identity>,
    alpn: Vec<Vec<u8>>,
    options: QuicOptions,
}

impl QuicClientConfig {
    /// A client trusting servers whose certificate chains to `roots`,
    /// presenting no certificate of its own.
    pub fn new(roots: TrustRoots) -> QuicClientConfig {
        QuicClientConfig {
            roots,
            identity: None,
            alpn: vec![ALPN.to_vec()],
            options: QuicOptions::default(),
        }
    }

    /// Presents `identity` to servers that ask for a client certificate
    /// (mutual TLS).
    pub fn client_certificate(mut self, identity: Identity) -> QuicClientConfig {
        self.identity = Some(identity);
        self
    }

    /// The ALPN protocols offered, most preferred first (default: only
    /// [`ALPN`], `netcore/2`).
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> QuicClientConfig {
        self.alpn = protocols;
        self
    }

    /// The QUIC transport options.
    pub fn options(mut self, options: QuicOptions) -> QuicClientConfig {
        self.options = options;
        self
    }

    /// The trust roots.
    pub fn trust_roots(&self) -> &TrustRoots {
        &self.roots
    }

    /// The QUIC transport options in use.
    pub fn quic_options(&self) -> &QuicOptions {
        &self.options
    }

    /// The ALPN protocols offered.
    pub(crate) fn alpn(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// The rustls client configuration (TLS 1.3, ring, ALPN set).
    ///
    /// # Errors
    ///
    /// [`QuicError::Tls`] when the client key does not match its certificate
    /// or is of an unsupported kind.
    pub fn to_rustls(&self) -> Result<rustls::ClientConfig, QuicError> {
        let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots.to_root_store());
        let mut config = match &self.identity {
            Some(identity) => {
                let (chain, key) = identity.to_rustls();
                builder.with_client_auth_cert(chain, key)?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }

    /// The quinn client configuration, for use with a quinn
    /// [`Endpoint`](quinn::Endpoint) of your own.
    ///
    /// # Errors
    ///
    /// As [`to_rustls`](QuicClientConfig::to_rustls).
    pub fn to_quinn(&self) -> Result<quinn::ClientConfig, QuicError> {
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(self.to_rustls()?)?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        config.transport_config(Arc::new(self.options.to_transport_config()));
        Ok(config)
    }
}
