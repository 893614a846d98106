//! [`Identity`]: a certificate chain and its private key, as a server (or a
//! client doing mutual TLS) presents them.

use std::fmt;
use std::path::Path;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::error::QuicError;
use super::pem;

/// A certificate chain (leaf first, never empty) and the leaf's private key.
///
/// A server presents one to every client; a client presents one when the
/// server asks for client certificates (mutual TLS). Load it from PEM files,
/// from PEM text, from DER, or generate a development one with
/// [`Identity::self_signed`] or a [`DevCa`](super::DevCa).
///
/// ```
/// use netcore_transports::quic::Identity;
///
/// let identity = Identity::self_signed(&["localhost", "127.0.0.1"])?;
/// assert_eq!(identity.certificate_chain().len(), 1);
/// assert!(identity.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// # Ok::<(), netcore_transports::quic::QuicError>(())
/// ```
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// An identity from a certificate chain (leaf first) and the leaf's key, in DER.
    ///
    /// Whether the key matches the certificate is checked when a TLS
    /// configuration is built from it.
    ///
    /// # Errors
    ///
    /// [`QuicError::EmptyCertificateChain`] when `chain` is empty.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Identity, QuicError> {
        if chain.is_empty() {
            return Err(QuicError::EmptyCertificateChain);
        }
        Ok(Identity { chain, key })
    }

    /// Reads the certificate chain (every `CERTIFICATE` block, leaf first) and
    /// the private key (PKCS#8, PKCS#1 or SEC1) from two PEM files.
    ///
    /// # Errors
    ///
    /// [`QuicError::ReadFile`] names the file that could not be read,
    /// [`QuicError::Pem`] / [`QuicError::NoPemItem`] the file that is not
    /// what it should be.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Identity, QuicError> {
        let chain = pem::certificates_from_file(cert_path.as_ref(), "certificate chain")?;
        let key = pem::private_key_from_file(key_path.as_ref())?;
        Ok(Identity { chain, key })
    }

    /// Like [`Identity::from_pem_files`], from PEM text in memory.
    ///
    /// # Errors
    ///
    /// [`QuicError::Pem`] or [`QuicError::NoPemItem`] when the text is not
    /// what it should be.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Identity, QuicError> {
        let chain = pem::certificates_from_slice(cert_pem, "certificate chain")?;
        let key = pem::private_key_from_slice(key_pem)?;
        Ok(Identity { chain, key })
    }

    /// A new self-signed certificate for development and tests, valid for
    /// `names` (DNS names, or IP addresses such as `"127.0.0.1"` and `"::1"`),
    /// usable by a server or by a client.
    ///
    /// Peers must trust this very certificate (see
    /// [`TrustRoots::add_der`](super::TrustRoots::add_der) with
    /// [`Identity::certificate_der`]); it is signed by its own fresh ECDSA
    /// P-256 key and valid until 4096.
    ///
    /// # Errors
    ///
    /// [`QuicError::CertificateGeneration`], for example for a name that is
    /// neither a DNS name nor an IP address.
    pub fn self_signed(names: &[&str]) -> Result<Identity, QuicError> {
        super::dev::self_signed(names)
    }

    /// The certificate chain, leaf first.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf certificate in DER: what a peer trusts for a self-signed identity.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        // Every constructor checks that the chain is not empty.
        &self.chain[0]
    }

    /// The certificate chain as PEM text (one `CERTIFICATE` block each, leaf first).
    pub fn certificate_pem(&self) -> String {
        self.chain
            .iter()
            .map(|der| to_pem("CERTIFICATE", der))
            .collect()
    }

    /// The private key as PEM text. Handle it with care.
    pub fn private_key_pem(&self) -> String {
        let label = match &self.key {
            PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
            PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        to_pem(label, self.key.secret_der())
    }

    /// The private key in DER.
    pub fn private_key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// The chain and a copy of the key, for a rustls configuration.
    pub(crate) fn to_rustls(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (self.chain.clone(), self.key.clone_key())
    }
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// PEM armour around DER bytes: base64 in 64-character lines.
fn to_pem(label: &str, der: &[u8]) -> String {
    let encoded = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group.first().copied().unwrap_or(0),
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
