//! The TLS client configuration: rustls with the ring provider only (no
//! OpenSSL, no aws-lc: one small, audited, cross-compiles-anywhere crypto
//! library), TLS 1.2 and 1.3.
//!
//! Trusted roots: the Mozilla root program as bundled by `webpki-roots`, compiled
//! into the binary. A terminal on a wall is often never updated and may run
//! from a minimal or read-only image without `/etc/ssl/certs`; bundled roots
//! work there and do not depend on how the board image was assembled.
//! `api.ca_file` adds PEM certificates (a private CA, a TLS-inspecting proxy,
//! the test stand-in) and `api.ca_file_only` trusts only that file, which pins
//! the deployment to one CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::config::ApiConfig;

/// Why the TLS configuration could not be built. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{key} {path}: cannot read: {reason}")]
    CaFileUnreadable {
        key: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{key} {path}: no PEM certificate (-----BEGIN CERTIFICATE-----) found")]
    CaFileEmpty { key: &'static str, path: PathBuf },
    #[error("{key} {path}: certificate #{index} is not usable as a trust anchor: {reason}")]
    CaFileBadCertificate {
        key: &'static str,
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

/// Builds the rustls client configuration from `[api]`.
pub fn client_config(api: &ApiConfig) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    if !api.ca_file_only {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = &api.ca_file {
        add_ca_file(&mut roots, path, "api.ca_file")?;
    }
    let config = ring_builder()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The start of every client configuration enrolld builds (IDMeta, the MQTT
/// broker): the ring provider, TLS 1.3 and 1.2.
pub fn ring_builder()
-> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))
}

/// Adds every certificate of a PEM file; a file with none, or with one that
/// cannot serve as an anchor, is an error rather than a silently weaker trust.
/// `key` names the setting in errors (`api.ca_file`, `mqtt.ca_file`).
pub fn add_ca_file(
    roots: &mut RootCertStore,
    path: &Path,
    key: &'static str,
) -> Result<(), TlsSetupError> {
    let pem = std::fs::read(path).map_err(|e| TlsSetupError::CaFileUnreadable {
        key,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut added = 0;
    for (index, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let bad = |reason: String| TlsSetupError::CaFileBadCertificate {
            key,
            path: path.to_owned(),
            index: index + 1,
            reason,
        };
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(TlsSetupError::CaFileEmpty {
            key,
            path: path.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(ca_file: Option<PathBuf>, only: bool) -> ApiConfig {
        ApiConfig {
            version: Default::default(),
            base_url: "https://example.com".into(),
            template_id: "1".into(),
            token_file: None,
            ca_file,
            ca_file_only: only,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            finalize: false,
            max_image_bytes: 1_500_000,
        }
    }

    #[test]
    fn bundled_roots_need_no_file() {
        client_config(&api(None, false)).unwrap();
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = client_config(&api(Some(missing.clone()), false)).unwrap_err();
        assert!(matches!(e, TlsSetupError::CaFileUnreadable { .. }));
        assert!(e.to_string().contains("missing.pem"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(&api(Some(empty), true)).unwrap_err();
        assert!(e.to_string().contains("empty.pem"), "{e}");
        assert!(matches!(e, TlsSetupError::CaFileEmpty { .. }));

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = client_config(&api(Some(garbage), true)).unwrap_err();
        assert!(e.to_string().contains("garbage.pem"), "{e}");
    }

    #[test]
    fn a_generated_ca_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        client_config(&api(Some(path), true)).unwrap();
    }
}
