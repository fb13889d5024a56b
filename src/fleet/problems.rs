//! What goes wrong with the broker, in words for the status (`mqtt.detail`) and the journal:
//! each says what happened and what to check or change. And [`Said`], which lets a problem
//! that comes back with every connection reach the journal once.

use std::collections::BTreeSet;
use std::sync::Mutex;

use rumqttc::{ConnectReturnCode, ConnectionError};

use super::config::{Broker, MqttConfig};
use super::link::{DialError, Ended, Oversize};
use super::password;

/// Problems remembered by [`Said`]; past this, a problem may be said again.
const REMEMBERED: usize = 32;

/// Problems already in the journal, so a problem that comes back with every connection (a
/// refused subscription, a retained message that is too large) is logged once, while the
/// status always shows the latest.
#[derive(Debug, Default)]
pub struct Said(Mutex<BTreeSet<String>>);

impl Said {
    /// Whether `detail` is new (and now remembered).
    pub fn first_time(&self, detail: &str) -> bool {
        let mut said = self.0.lock().expect("not poisoned");
        if said.contains(detail) {
            return false;
        }
        if said.len() < REMEMBERED {
            said.insert(detail.to_owned());
        }
        true
    }
}

fn at(broker: &Broker) -> String {
    format!("{}:{}", broker.host, broker.port)
}

/// Why the TCP connection or the TLS session to the broker could not be made.
pub fn dial_failure(e: &DialError, broker: &Broker) -> String {
    let at = at(broker);
    match e {
        DialError::Io(io) => io_failure(io, &at),
        DialError::Timeout(_) => {
            format!("no answer from the broker at {at} (is the address right and the port open?)")
        }
        DialError::ServerName(_) => format!("TLS with the broker at {at} cannot start: {e}"),
    }
}

/// Why a connection the link had made failed: `ended` is how the link saw it end,
/// `accepted` whether the broker had sent its ConnAck.
pub fn connection_failure(
    e: &ConnectionError,
    ended: Option<&Ended>,
    accepted: bool,
    broker: &Broker,
    config: &MqttConfig,
) -> String {
    let at = at(broker);
    match e {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => format!(
                "the broker at {at} refused the user name or password (check mqtt.username and \
                 the `{}` credential or mqtt.password_file)",
                password::CREDENTIAL_NAME
            ),
            // What mosquitto answers to a wrong password, too.
            ConnectReturnCode::NotAuthorized => format!(
                "the broker at {at} refused this terminal: not authorized (check mqtt.username \
                 and its password, the `{}` credential or mqtt.password_file)",
                password::CREDENTIAL_NAME
            ),
            ConnectReturnCode::BadClientId => format!(
                "the broker at {at} refused the client id (mqtt.client_id; the default is the \
                 terminal id and a suffix of this machine's)"
            ),
            other => format!("the broker at {at} refused the connection ({other:?})"),
        },
        ConnectionError::NetworkTimeout => format!(
            "the broker at {at} took the connection but never answered it (is it an MQTT \
             port?)"
        ),
        _ if ended == Some(&Ended::ByBroker) => {
            // Closed before accepting: an MQTT client speaking plain to a TLS port, say.
            let plain = config
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("mqtt://"));
            let hint = if !accepted && plain {
                " before accepting it (is it a TLS port? then mqtt.url must be mqtts://)"
            } else if !accepted {
                " before accepting it (is it an MQTT port?)"
            } else {
                ""
            };
            format!("the broker at {at} closed the connection{hint}")
        }
        ConnectionError::MqttState(state) => format!(
            "the connection to the broker at {at} broke: {}",
            crate::api::sanitize::clean_server_text(&state.to_string())
        ),
        other => format!(
            "the connection to the broker at {at} failed: {}",
            crate::api::sanitize::clean_server_text(&other.to_string())
        ),
    }
}

fn io_failure(io: &std::io::Error, at: &str) -> String {
    if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_failure(r, at);
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("cannot reach the broker at {at}: connection refused (is it running?)")
        }
        _ => format!(
            "cannot reach the broker at {at}: {}",
            crate::fsutil::describe(io)
        ),
    }
}

fn tls_failure(e: &rustls::Error, at: &str) -> String {
    let why = match e {
        rustls::Error::InvalidCertificate(_) => crate::api::tls_errors::explain(e),
        other => other.to_string(),
    };
    format!("TLS with the broker at {at} failed: {why} (check mqtt.ca_file and mqtt.url's host)")
}

/// Connections closed again and again soon after the broker accepted them.
pub fn client_id_taken(broker: &Broker, client_id: &str) -> String {
    format!(
        "the broker at {} closes this terminal's connection soon after accepting it ({} \
         times in a row): most likely another client is connected with the same client id \
         `{client_id}`, and each takes it from the other (two terminals configured alike, a \
         cloned SD card); give each terminal its own mqtt.client_id, or leave it unset (the \
         default is unique per machine)",
        at(broker),
        super::reconnect::TAKEN_AFTER
    )
}

/// The broker answered a subscription with a failure (its ACL).
pub fn refused_subscriptions(refused: &[String], requests_refused: bool, base: &str) -> String {
    format!(
        "the broker refused the subscription to {} (its ACL must let this user read what it \
         subscribes to: {base}/# and Home Assistant's status){}",
        refused.join(", "),
        if requests_refused {
            ": requests are not received"
        } else {
            ""
        }
    )
}

/// The terminal's own messages did not come back through its subscriptions.
pub fn missing_echoes(availability: Option<&str>, requests: Option<&str>, base: &str) -> String {
    let acl = format!("(the broker's ACL must let this user read and write {base}/#)");
    match (availability, requests) {
        (Some(a), Some(r)) => format!(
            "connected, but the broker refused this terminal's topics: its own messages on {a} \
             and {r} never came back {acl}; requests are not received"
        ),
        (Some(a), None) => format!(
            "connected, but the broker refused this terminal's topics: its own `online` on {a} \
             never came back {acl}; its availability may not reach the broker"
        ),
        (None, Some(r)) => format!(
            "connected, but the broker keeps this terminal's requests from it: its own probe on \
             {r} never came back {acl}; requests are not received"
        ),
        (None, None) => String::new(),
    }
}

/// A message over the size the terminal reads, read past by the link.
pub fn oversize(o: &Oversize, retained: bool, limit: usize) -> String {
    if retained {
        format!(
            "dropped a retained message of {} bytes on {}: over the {limit} bytes a message to \
             this terminal may have; it comes again with every connection until it is cleared \
             (`mosquitto_pub -r -n -t {}`)",
            o.bytes, o.topic, o.topic
        )
    } else {
        format!(
            "dropped a message of {} bytes on {}: over the {limit} bytes a message to this \
             terminal may have",
            o.bytes, o.topic
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_words() {
        let broker = Broker {
            host: "b".into(),
            port: 1,
            tls: true,
        };
        let c = MqttConfig::default();
        let e = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        assert!(connection_failure(&e, None, false, &broker, &c).contains("user name or password"));
        let e = DialError::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert!(dial_failure(&e, &broker).contains("is it running"));
        let e = ConnectionError::MqttState(rumqttc::StateError::ConnectionAborted);
        let said = connection_failure(&e, Some(&Ended::ByBroker), true, &broker, &c);
        assert_eq!(said, "the broker at b:1 closed the connection");
        let plain = MqttConfig {
            url: Some("mqtt://127.0.0.1:1".into()),
            ..Default::default()
        };
        let said = connection_failure(&e, Some(&Ended::ByBroker), false, &broker, &plain);
        assert!(said.ends_with("then mqtt.url must be mqtts://)"), "{said}");
    }

    #[test]
    fn a_problem_is_said_once() {
        let said = Said::default();
        assert!(said.first_time("a"));
        assert!(!said.first_time("a"));
        assert!(said.first_time("b"));
    }
}
