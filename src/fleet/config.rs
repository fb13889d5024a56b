//! `[mqtt]` and `[metrics]`: how the terminal joins a site's broker and its
//! Prometheus. Both are off until their one required key is set.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// `[mqtt]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtts://host:8883`, or `mqtt://` for a broker on loopback; unset: no MQTT.
    pub url: Option<String>,
    /// Default: the terminal id and a suffix unique to this machine ([`super::client_id`]).
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// Read when the systemd credential `mqtt-password` is absent.
    pub password_file: Option<PathBuf>,
    /// PEM certificates trusted for the broker, instead of the bundled roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for brokers that authenticate by certificate.
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    pub topic_prefix: String,
    /// Home Assistant's discovery prefix; empty turns discovery off.
    pub discovery_prefix: String,
    pub keepalive_secs: u64,
    /// Put the enrolled person's name in `event` and `status` messages.
    pub publish_usernames: bool,
    /// First wait after a lost or refused connection; doubled per failure.
    pub reconnect_min_ms: u64,
    /// Longest wait between connection attempts.
    pub reconnect_max_ms: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: None,
            client_id: None,
            username: None,
            password_file: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            topic_prefix: "enrolld".to_owned(),
            discovery_prefix: "homeassistant".to_owned(),
            keepalive_secs: 30,
            publish_usernames: false,
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 60_000,
        }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// node_exporter textfile collector file; unset: no metrics file.
    pub textfile: Option<PathBuf>,
}

impl MetricsConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(path) = &self.textfile {
            let prom = path.extension().is_some_and(|e| e == "prom");
            if !path.is_absolute() || !prom {
                return Err(Invalid::new(
                    "textfile",
                    "must be an absolute path ending in .prom (node_exporter's textfile \
                     collector reads only those)",
                ));
            }
        }
        Ok(())
    }
}

/// The broker's address, from `mqtt.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl MqttConfig {
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// The parsed `url`, once [`MqttConfig::validate`] has passed.
    pub fn broker(&self) -> Option<Broker> {
        parse_url(self.url.as_deref()?).ok()
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(url) = &self.url {
            parse_url(url).map_err(|m| Invalid::new("url", m))?;
        }
        if let Some(id) = &self.client_id {
            topic_segment(id).map_err(|m| Invalid::new("client_id", m))?;
        }
        if self.username.as_deref() == Some("") {
            return Err(Invalid::new("username", "must not be empty (leave it out)"));
        }
        for (key, path) in [
            ("password_file", &self.password_file),
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ] {
            if path.as_ref().is_some_and(|p| !p.is_absolute()) {
                return Err(Invalid::new(key, "must be an absolute path"));
            }
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(Invalid::new(
                "key_file",
                "cert_file and key_file go together: set both or neither",
            ));
        }
        topic_segment(&self.topic_prefix).map_err(|m| Invalid::new("topic_prefix", m))?;
        if !self.discovery_prefix.is_empty() {
            topic_segment(&self.discovery_prefix)
                .map_err(|m| Invalid::new("discovery_prefix", m))?;
        }
        Invalid::check_range("keepalive_secs", self.keepalive_secs, 5..=3_600)?;
        Invalid::check_range("reconnect_min_ms", self.reconnect_min_ms, 100..=60_000)?;
        Invalid::check_range("reconnect_max_ms", self.reconnect_max_ms, 1_000..=3_600_000)?;
        if self.reconnect_max_ms < self.reconnect_min_ms {
            return Err(Invalid::new(
                "reconnect_max_ms",
                "must be at least reconnect_min_ms",
            ));
        }
        Ok(())
    }
}

/// `mqtt://host[:port]` (loopback only: nothing would protect the password)
/// or `mqtts://host[:port]`; the default ports are 1883 and 8883.
fn parse_url(url: &str) -> Result<Broker, String> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err("must start with mqtts:// (or mqtt:// for a broker on loopback)".into());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '@', '?', '#', ' ']) {
        return Err("must be mqtts://HOST or mqtts://HOST:PORT, with no path or user".into());
    }
    // `[::1]:1883` for an IPv6 address with a port.
    let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((h, "")) => (h, None),
        Some((h, p)) => (h, Some(p.strip_prefix(':').unwrap_or(p))),
        None => match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or("the port must be a number between 1 and 65535")?,
        None if tls => 8883,
        None => 1883,
    };
    let host = host.to_owned();
    if host.is_empty() {
        return Err("names no host".into());
    }
    if !tls && !is_loopback(&host) {
        return Err(
            "mqtt:// sends the password in the clear: use mqtts:// for a broker that is not \
             on this machine (127.0.0.1, ::1, localhost)"
                .into(),
        );
    }
    Ok(Broker { host, port, tls })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One level of a topic: no wildcards, no separator, nothing invisible.
pub fn topic_segment(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if text
        .chars()
        .any(|c| matches!(c, '/' | '+' | '#' | '$') || c.is_control() || c.is_whitespace())
    {
        return Err(
            "must not contain `/`, `+`, `#`, `$`, spaces or control characters \
                    (it is one level of an MQTT topic)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Result<(), Invalid> {
        MqttConfig {
            url: Some(url.into()),
            ..Default::default()
        }
        .validate()
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtts://broker.site:8884").unwrap(),
            Broker {
                host: "broker.site".into(),
                port: 8884,
                tls: true
            }
        );
        assert_eq!(parse_url("mqtts://broker").unwrap().port, 8883);
        assert_eq!(parse_url("mqtt://127.0.0.1").unwrap().port, 1883);
        let err = |u| with_url(u).unwrap_err().message;
        assert!(err("mqtt://broker.site").contains("in the clear"));
        assert!(err("http://x").contains("mqtts://"));
        assert!(err("mqtts://x:0").contains("port"));
        assert!(err("mqtts://u:p@x").contains("no path or user"));
        assert!(with_url("mqtt://localhost:1884").is_ok());
    }

    #[test]
    fn defaults_are_valid_and_checks_name_the_key() {
        MqttConfig::default().validate().unwrap();
        MetricsConfig::default().validate().unwrap();
        let key = |c: MqttConfig| c.validate().unwrap_err().key;
        assert_eq!(
            key(MqttConfig {
                topic_prefix: "a/b".into(),
                ..Default::default()
            }),
            "topic_prefix"
        );
        assert_eq!(
            key(MqttConfig {
                keepalive_secs: 1,
                ..Default::default()
            }),
            "keepalive_secs"
        );
        assert_eq!(
            key(MqttConfig {
                cert_file: Some("/c.pem".into()),
                ..Default::default()
            }),
            "key_file"
        );
        assert_eq!(
            key(MqttConfig {
                reconnect_min_ms: 5_000,
                reconnect_max_ms: 2_000,
                ..Default::default()
            }),
            "reconnect_max_ms"
        );
        let bad = MetricsConfig {
            textfile: Some("/var/lib/x.txt".into()),
        };
        assert_eq!(bad.validate().unwrap_err().key, "textfile");
    }
}
