//! The stand-in's certificates, made fresh at every start: a throw-away CA
//! and a leaf for the stand-in's names, signed by it. Clients trust the CA
//! through `api.ca_file`, exactly as a deployment would trust a private CA.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the leaf is valid for by default.
pub const DEFAULT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A CA (as PEM, for clients) and the rustls server configuration that
/// presents a leaf signed by it.
pub struct ServerIdentity {
    pub ca_pem: String,
    pub tls: Arc<ServerConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating the stand-in certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("setting up the stand-in TLS server: {0}")]
    Tls(#[from] rustls::Error),
}

/// When the leaf is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// rcgen's default: from now on, for years.
    Current,
    /// 2020-01-01 to 2021-01-01: long expired (the CA itself stays valid).
    Expired,
}

/// Makes a CA and a leaf valid for `names` (DNS names or IP addresses).
pub fn make_identity(names: &[String]) -> Result<ServerIdentity, CertError> {
    make_identity_with(names, Validity::Current)
}

/// [`make_identity`] with a chosen leaf validity.
pub fn make_identity_with(
    names: &[String],
    validity: Validity,
) -> Result<ServerIdentity, CertError> {
    let (ca_cert, leaf_cert, leaf_key) = issue(names, validity)?;
    let chain = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(ServerIdentity {
        ca_pem: ca_cert.pem(),
        tls: Arc::new(tls),
    })
}

/// A CA and a current leaf for `names` as PEM files hold them, for a
/// server run as its own program (the tests' MQTT broker).
pub struct Pems {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

/// [`make_identity`]'s certificates as PEM.
pub fn make_pems(names: &[String]) -> Result<Pems, CertError> {
    let (ca_cert, leaf_cert, leaf_key) = issue(names, Validity::Current)?;
    Ok(Pems {
        ca: ca_cert.pem(),
        cert: leaf_cert.pem(),
        key: leaf_key.serialize_pem(),
    })
}

/// A fresh CA, and a leaf for `names` signed by it.
fn issue(
    names: &[String],
    validity: Validity,
) -> Result<(rcgen::Certificate, rcgen::Certificate, KeyPair), CertError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "enrolld IDMeta stand-in CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(names.to_vec())?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "enrolld IDMeta stand-in");
    if validity == Validity::Expired {
        leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;
    Ok((ca_cert, leaf_cert, leaf_key))
}

/// The default names as owned strings.
pub fn default_names() -> Vec<String> {
    DEFAULT_NAMES.iter().map(|s| (*s).to_owned()).collect()
}
