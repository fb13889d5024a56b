//! What the MQTT connection is made of, before the first attempt: the client's options
//! (identity, last will, keep-alive), the password and the TLS settings.
//! A problem here is a configuration error (`check-config` exits 78 naming the key); at
//! run time the connection task says it and stays off.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{LastWill, MqttOptions, QoS, Transport};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::config::MqttConfig;
use super::password;
use super::topics::Topics;

/// Largest packet read from the broker (remaining length). Requests are at most 4096 bytes
/// ([`super::requests::MAX_PAYLOAD`]) and everything else the terminal subscribes to is a
/// word or two; a larger message is read past by the link and answered or reported
/// ([`super::link`]), never held.
pub const MAX_INCOMING: usize = 64 * 1024;
/// Largest packet sent (a long queue listing in a response).
pub const MAX_OUTGOING: usize = 2 << 20;

/// Why the connection could not even be set up (the task then ends; the status says why).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Tls(#[from] crate::api::tls::TlsSetupError),
    #[error("mqtt.{key} {path}: {reason}")]
    ClientCertificate {
        key: &'static str,
        path: String,
        reason: String,
    },
}

/// The client's options: identity, last will, keep-alive, sizes; it connects to the
/// link at `link_address`, which holds the connection to the broker.
pub fn options(
    config: &MqttConfig,
    client_id: &str,
    terminal_id: &str,
    link_address: &str,
) -> Result<MqttOptions, SetupError> {
    let topics = Topics::new(&config.topic_prefix, terminal_id, &config.discovery_prefix);
    let mut options = MqttOptions::new(client_id, link_address, 0);
    options
        .set_transport(Transport::Unix)
        .set_keep_alive(Duration::from_secs(config.keepalive_secs))
        .set_clean_session(true)
        .set_max_packet_size(MAX_INCOMING, MAX_OUTGOING)
        .set_last_will(LastWill::new(
            topics.availability(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    let password = password::load(config.password_file.as_deref())?;
    if let Some(user) = &config.username {
        options.set_credentials(user.as_str(), password.as_ref().map_or("", |p| p.expose()));
    }
    Ok(options)
}

/// What `check-config` says of `[mqtt]`: the broker, the client id and whether a password
/// was found (never the password), or why the connection cannot be set up.
pub fn check(config: &MqttConfig, terminal_id: &str) -> Result<String, SetupError> {
    let Some(broker) = config.broker() else {
        return Ok("off (no mqtt.url)".to_owned());
    };
    let id = super::client_id::of(config, terminal_id);
    let options = options(config, &id.id, terminal_id, "")?;
    if broker.tls {
        tls_config(config)?;
    }
    let login = match (&config.username, options.credentials()) {
        (Some(user), Some(login)) if !login.password.is_empty() => {
            format!("user {user}, password [redacted]")
        }
        (Some(user), _) => format!("user {user}, no password"),
        (None, _) => "no user name".to_owned(),
    };
    let note = id.note.map(|n| format!(" ({n})")).unwrap_or_default();
    Ok(format!(
        "{}:{}{}, client id {}{note}, {login}",
        broker.host,
        broker.port,
        if broker.tls { " over TLS" } else { "" },
        id.id
    ))
}

/// The TLS settings for an `mqtts://` broker: `ca_file` or the bundled roots, and the client
/// certificate when there is one.
pub fn tls_config(config: &MqttConfig) -> Result<Arc<rustls::ClientConfig>, SetupError> {
    let mut roots = RootCertStore::empty();
    match &config.ca_file {
        Some(path) => crate::api::tls::add_ca_file(&mut roots, path, "mqtt.ca_file")?,
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = crate::api::tls::ring_builder()?.with_root_certificates(roots);
    let config = match (&config.cert_file, &config.key_file) {
        (Some(cert), Some(key)) => {
            let bad = |key: &'static str, path: &std::path::Path, reason: String| {
                SetupError::ClientCertificate {
                    key,
                    path: path.display().to_string(),
                    reason,
                }
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(Iterator::collect)
                .map_err(|e| bad("cert_file", cert, e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("cert_file", cert, "no PEM certificate found".into()));
            }
            let private = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| bad("key_file", key, e.to_string()))?;
            builder
                .with_client_auth_cert(certs, private)
                .map_err(|e| bad("key_file", key, e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
