//! Development certificates generated at run time with rcgen: a self-signed
//! [`Identity`] and a small [`DevCa`] that issues identities (handy for
//! mutual TLS). Not for production: keys live only in memory and the
//! certificates are valid until 4096.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::error::QuicError;
use super::identity::Identity;

/// Certificate parameters for a leaf usable by a server or a client.
fn leaf_params(names: &[&str]) -> Result<CertificateParams, QuicError> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = CertificateParams::new(names.clone())?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

/// The key in the form rustls takes.
fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

pub(crate) fn self_signed(names: &[&str]) -> Result<Identity, QuicError> {
    let key = KeyPair::generate()?;
    let certificate = leaf_params(names)?.self_signed(&key)?;
    Identity::from_der(vec![certificate.der().clone()], private_key(&key))
}

/// A throw-away certificate authority for development and tests: peers trust
/// its certificate, and it issues identities for servers and clients.
///
/// The usual mutual-TLS set-up in miniature: the server trusts the CA for
/// client certificates, the clients trust it for the server's.
///
/// ```
/// use netcore_transports::quic::{DevCa, QuicClientConfig, QuicServerConfig, TrustRoots};
///
/// let ca = DevCa::new("netcore dev CA")?;
/// let roots = TrustRoots::new().add_der(ca.certificate_der().clone())?;
/// let server = QuicServerConfig::new(ca.issue(&["localhost"])?)
///     .require_client_certificates(roots.clone());
/// let client = QuicClientConfig::new(roots).client_certificate(ca.issue(&["client-1"])?);
/// # let _ = (server, client);
/// # Ok::<(), netcore_transports::quic::QuicError>(())
/// ```
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl DevCa {
    /// A new CA with a fresh key, its certificate self-signed with `name` as
    /// common name.
    ///
    /// # Errors
    ///
    /// [`QuicError::CertificateGeneration`] if generation fails.
    pub fn new(name: &str) -> Result<DevCa, QuicError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(DevCa { issuer })
    }

    /// The CA certificate in DER: what peers trust.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        self.issuer.der()
    }

    /// The CA certificate as PEM text.
    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues an identity valid for `names` (DNS names or IP addresses),
    /// usable by a server or a client; its chain is the leaf then the CA.
    ///
    /// # Errors
    ///
    /// [`QuicError::CertificateGeneration`], for example for a name that is
    /// neither a DNS name nor an IP address.
    pub fn issue(&self, names: &[&str]) -> Result<Identity, QuicError> {
        let key = KeyPair::generate()?;
        let issuer: &Issuer<'static, KeyPair> = &self.issuer;
        let certificate = leaf_params(names)?.signed_by(&key, issuer)?;
        Identity::from_der(
            vec![certificate.der().clone(), self.issuer.der().clone()],
            private_key(&key),
        )
    }
}

impl fmt::Debug for DevCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}
