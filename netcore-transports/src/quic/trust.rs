//! [`TrustRoots`]: the certificates a side accepts its peer's chain from.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

use super::error::QuicError;
use super::pem;

/// The certificates this side trusts: a client checks the server's chain
/// against them, a server doing mutual TLS checks client chains.
///
/// A trust root is a CA certificate, or — for development — the peer's own
/// self-signed certificate. Nothing is trusted by default: there is no
/// built-in web PKI, since Netcore peers normally belong to one operator.
///
/// ```
/// use netcore_transports::quic::{Identity, TrustRoots};
///
/// let server = Identity::self_signed(&["localhost"])?;
/// let roots = TrustRoots::new().add_der(server.certificate_der().clone())?;
/// assert_eq!(roots.len(), 1);
///
/// // The same from PEM text.
/// let roots = TrustRoots::new().add_pem(server.certificate_pem().as_bytes())?;
/// assert_eq!(roots.len(), 1);
/// # Ok::<(), netcore_transports::quic::QuicError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrustRoots {
    store: RootCertStore,
}

impl TrustRoots {
    /// No trusted certificate yet.
    pub fn new() -> TrustRoots {
        TrustRoots {
            store: RootCertStore::empty(),
        }
    }

    /// Trusts one certificate, in DER.
    ///
    /// # Errors
    ///
    /// [`QuicError::TrustRoot`] if it is not a certificate rustls can use as
    /// a trust anchor.
    pub fn add_der(mut self, certificate: CertificateDer<'_>) -> Result<TrustRoots, QuicError> {
        self.store.add(certificate).map_err(QuicError::TrustRoot)?;
        Ok(self)
    }

    /// Trusts every `CERTIFICATE` block of PEM text.
    ///
    /// # Errors
    ///
    /// [`QuicError::Pem`] / [`QuicError::NoPemItem`] for bad or empty text,
    /// [`QuicError::TrustRoot`] for an unusable certificate.
    pub fn add_pem(self, pem: &[u8]) -> Result<TrustRoots, QuicError> {
        let certificates = pem::certificates_from_slice(pem, "trust roots")?;
        self.add_all(certificates)
    }

    /// Trusts every `CERTIFICATE` block of a PEM file.
    ///
    /// # Errors
    ///
    /// [`QuicError::ReadFile`] naming the file, [`QuicError::Pem`] /
    /// [`QuicError::NoPemItem`] for bad or empty content,
    /// [`QuicError::TrustRoot`] for an unusable certificate.
    pub fn add_pem_file(self, path: impl AsRef<Path>) -> Result<TrustRoots, QuicError> {
        let certificates = pem::certificates_from_file(path.as_ref(), "trust roots")?;
        self.add_all(certificates)
    }

    fn add_all(
        mut self,
        certificates: Vec<CertificateDer<'static>>,
    ) -> Result<TrustRoots, QuicError> {
        for certificate in certificates {
            self.store.add(certificate).map_err(QuicError::TrustRoot)?;
        }
        Ok(self)
    }

    /// How many certificates are trusted.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether nothing is trusted (every peer would be refused).
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The rustls root store.
    pub fn to_root_store(&self) -> Arc<RootCertStore> {
        Arc::new(self.store.clone())
    }
}

impl Default for TrustRoots {
    fn default() -> TrustRoots {
        TrustRoots::new()
    }
}

impl From<RootCertStore> for TrustRoots {
    fn from(store: RootCertStore) -> TrustRoots {
        TrustRoots { store }
    }
}
