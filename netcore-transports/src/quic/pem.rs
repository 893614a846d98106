//! Reading certificates and keys from PEM files or text, with errors that
//! name the file.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::error::QuicError;

/// Where PEM text came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin<'a> {
    File(&'a Path),
    Memory,
}

impl Origin<'_> {
    fn describe(self) -> String {
        match self {
            Origin::File(path) => path.display().to_string(),
            Origin::Memory => "PEM text in memory".to_owned(),
        }
    }

    fn error(self, what: &'static str, error: pem::Error) -> QuicError {
        match (self, error) {
            (Origin::File(path), pem::Error::Io(source)) => QuicError::ReadFile {
                what,
                path: path.to_owned(),
                source,
            },
            (origin, pem::Error::NoItemsFound) => QuicError::NoPemItem {
                what,
                origin: origin.describe(),
            },
            (origin, source) => QuicError::Pem {
                what,
                origin: origin.describe(),
                source,
            },
        }
    }
}

/// Every `CERTIFICATE` block of a PEM file, in order (leaf first for a chain).
pub(crate) fn certificates_from_file(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, QuicError> {
    let origin = Origin::File(path);
    let iter = CertificateDer::pem_file_iter(path).map_err(|error| origin.error(what, error))?;
    collect_certificates(iter, origin, what)
}

/// Every `CERTIFICATE` block of PEM text, in order.
pub(crate) fn certificates_from_slice(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, QuicError> {
    collect_certificates(CertificateDer::pem_slice_iter(pem), Origin::Memory, what)
}

fn collect_certificates(
    iter: impl Iterator<Item = Result<CertificateDer<'static>, pem::Error>>,
    origin: Origin<'_>,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, QuicError> {
    let certificates = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| origin.error(what, error))?;
    if certificates.is_empty() {
        return Err(origin.error(what, pem::Error::NoItemsFound));
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub(crate) fn private_key_from_file(path: &Path) -> Result<PrivateKeyDer<'static>, QuicError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|error| Origin::File(path).error("private key", error))
}

/// The first private key of PEM text.
pub(crate) fn private_key_from_slice(pem: &[u8]) -> Result<PrivateKeyDer<'static>, QuicError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| Origin::Memory.error("private key", error))
}
