//! [`QuicServerConfig`]: the server's certificate, client-certificate policy,
//! ALPN and transport options.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;

use super::error::QuicError;
use super::identity::Identity;
use super::options::QuicOptions;
use super::trust::TrustRoots;
use super::{ALPN, crypto_provider};

/// Whether and how a server checks client certificates.
#[derive(Debug, Clone)]
enum ClientAuth {
    /// Clients present no certificate.
    None,
    /// Clients must present a certificate chaining to these roots.
    Required(TrustRoots),
    /// Clients may present a certificate; if they do, it must chain to these roots.
    Optional(TrustRoots),
}

/// How a QUIC server presents itself and whom it lets in: its certificate,
/// an optional client-certificate check (mutual TLS), the ALPN protocols
/// (`netcore/2`) and [`QuicOptions`].
///
/// TLS 1.3 only (QUIC requires it), with the ring crypto provider.
///
/// ```
/// use netcore_transports::quic::{QuicServerConfig, TrustRoots};
///
/// // Development: a fresh self-signed certificate; give clients its DER or PEM.
/// let server = QuicServerConfig::self_signed(&["localhost", "127.0.0.1"])?;
/// let client_roots = TrustRoots::new().add_der(server.certificate_der().clone())?;
///
/// // Production: certificate chain and key from PEM files.
/// # let dir = tempfile::tempdir().expect("temp dir");
/// # let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
/// # std::fs::write(&cert_path, server.identity().certificate_pem()).expect("write");
/// # std::fs::write(&key_path, server.identity().private_key_pem()).expect("write");
/// let server = QuicServerConfig::from_pem_files(&cert_path, &key_path)?;
/// # let _ = (server, client_roots);
/// # Ok::<(), netcore_transports::quic::QuicError>(())
/// ```
#[derive(Debug, Clone)]
pub struct QuicServerConfig {
    identity: Identity,
    client_auth: ClientAuth,
    alpn: Vec<Vec<u8>>,
    options: QuicOptions,
}

impl QuicServerConfig {
    /// A server presenting `identity`, asking for no client certificate.
    pub fn new(identity: Identity) -> QuicServerConfig {
        QuicServerConfig {
            identity,
            client_auth: ClientAuth::None,
            alpn: vec![ALPN.to_vec()],
            options: QuicOptions::default(),
        }
    }

    /// A server presenting the certificate chain and key of two PEM files
    /// (see [`Identity::from_pem_files`]).
    ///
    /// # Errors
    ///
    /// [`QuicError::ReadFile`], [`QuicError::Pem`] or [`QuicError::NoPemItem`]
    /// naming the file at fault.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<QuicServerConfig, QuicError> {
        Identity::from_pem_files(cert_path, key_path).map(QuicServerConfig::new)
    }

    /// A server with a fresh self-signed certificate for `names` (DNS names
    /// or IP addresses), for development and tests. Clients must trust
    /// [`certificate_der`](QuicServerConfig::certificate_der) (or its PEM).
    ///
    /// # Errors
    ///
    /// [`QuicError::CertificateGeneration`].
    pub fn self_signed(names: &[&str]) -> Result<QuicServerConfig, QuicError> {
        Identity::self_signed(names).map(QuicServerConfig::new)
    }

    /// Requires every client to present a certificate that chains to `roots`
    /// (mutual TLS). A client without one, or with an untrusted one, is
    /// refused during the handshake.
    pub fn require_client_certificates(mut self, roots: TrustRoots) -> QuicServerConfig {
        self.client_auth = ClientAuth::Required(roots);
        self
    }

    /// Lets clients present a certificate, checked against `roots` when they
    /// do; clients without one are still let in.
    pub fn accept_client_certificates(mut self, roots: TrustRoots) -> QuicServerConfig {
        self.client_auth = ClientAuth::Optional(roots);
        self
    }

    /// The ALPN protocols accepted, most preferred first (default: only
    /// [`ALPN`], `netcore/2`). A client offering none of them is refused.
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> QuicServerConfig {
        self.alpn = protocols;
        self
    }

    /// The QUIC transport options.
    pub fn options(mut self, options: QuicOptions) -> QuicServerConfig {
        self.options = options;
        self
    }

    /// The identity presented.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The server's leaf certificate in DER: what clients trust for a
    /// self-signed server.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        self.identity.certificate_der()
    }

    /// The server's certificate chain as PEM text.
    pub fn certificate_pem(&self) -> String {
        self.identity.certificate_pem()
    }

    /// The QUIC transport options in use.
    pub fn quic_options(&self) -> &QuicOptions {
        &self.options
    }

    /// The ALPN protocols accepted.
    pub(crate) fn alpn(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// The rustls server configuration (TLS 1.3, ring, ALPN set).
    ///
    /// # Errors
    ///
    /// [`QuicError::ClientVerifier`] for unusable client trust roots (for
    /// example none), [`QuicError::Tls`] when the key does not match the
    /// certificate or is of an unsupported kind.
    pub fn to_rustls(&self) -> Result<rustls::ServerConfig, QuicError> {
        let provider = crypto_provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?;
        let builder = match &self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Required(roots) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots.to_root_store(), provider)
                    .build()?,
            ),
            ClientAuth::Optional(roots) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots.to_root_store(), provider)
                    .allow_unauthenticated()
                    .build()?,
            ),
        };
        let (chain, key) = self.identity.to_rustls();
        let mut config = builder.with_single_cert(chain, key)?;
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }

    /// The quinn server configuration, for use with a quinn
    /// [`Endpoint`](quinn::Endpoint) of your own.
    ///
    /// # Errors
    ///
    /// As [`to_rustls`](QuicServerConfig::to_rustls).
    pub fn to_quinn(&self) -> Result<quinn::ServerConfig, QuicError> {
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(self.to_rustls()?)?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        config.transport_config(Arc::new(self.options.to_transport_config()));
        Ok(config)
    }
}
