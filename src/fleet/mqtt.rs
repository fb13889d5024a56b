//! The connection to the site's broker (MQTT 3.1.1 through `rumqttc`).
//!
//! Three tasks, none of which the daemon's loop ever waits for:
//! - the connection (`run`): polls the client's event loop. `rumqttc`
//!   reconnects at the next poll with no delay and forgets subscriptions,
//!   so after every failure this waits (exponential, with jitter, between
//!   `reconnect_min_ms` and `reconnect_max_ms`) and after every ConnAck it
//!   subscribes again and publishes `online`, the latest status and the
//!   discovery message;
//! - the publisher: status changes and events from the [`Feed`](super::Feed),
//!   handed to the client with `try_publish` (a full client queue, as during
//!   an outage, drops the message and counts it);
//! - the requests: one at a time through the control socket's handler.
//!
//! The session is clean: a broker keeps nothing for the terminal while it is
//! away, so a `trigger` published an hour ago never presses the button now.
//! An app that got no response sends its request again, with the same
//! `transaction`, which the tickets remember.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions,
    Packet, QoS, SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::mpsc;

use super::config::{Broker, MqttConfig};
use super::topics::Topics;
use super::{Counters, EnrollmentEvent, Update, Updates, discovery, password, requests};
use crate::control::Reply;
use crate::control::server::Handler;
use crate::shutdown::Shutdown;
use crate::status::MqttHealth;

/// Messages the client holds while the broker is slow or away.
const CLIENT_QUEUE: usize = 64;
/// Requests waiting for the one being answered; more are answered "busy".
const REQUEST_BACKLOG: usize = 8;
/// Largest packet read from the broker: over-long requests still arrive
/// whole, to be answered with an error rather than breaking the connection.
const MAX_INCOMING: usize = 2 << 20;
/// How long a clean stop waits for `offline` to reach the broker.
const STOP_FLUSH: Duration = Duration::from_secs(2);
/// How long after a ConnAck this terminal's own `online` must come back
/// through its subscription. Many brokers (mosquitto 2.0 among them) grant
/// a subscription and drop a publish their ACL forbids without a word under
/// MQTT 3.1.1, so the echo is how a refusal shows.
const ECHO_WITHIN: Duration = Duration::from_secs(10);

/// Why the connection could not even be set up (the task then ends; the
/// status says why).
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

struct Connection {
    client: AsyncClient,
    topics: Topics,
    terminal_id: String,
    /// The last status payload, sent again after every ConnAck.
    latest_status: Arc<Mutex<Option<Vec<u8>>>>,
    counters: Arc<Counters>,
    requests: mpsc::Sender<(String, Vec<u8>)>,
    /// Counts ConnAcks; `echoed` holds the count whose `online` came back.
    connections: Arc<AtomicU64>,
    echoed: Arc<AtomicU64>,
}

/// Runs the connection until `shutdown`; see the module's header.
pub async fn run<H: Handler>(
    config: MqttConfig,
    terminal_id: String,
    updates: Updates,
    counters: Arc<Counters>,
    handler: Arc<H>,
    shutdown: Shutdown,
) {
    let broker = config.broker().expect("checked by the configuration");
    let options = match options(&config, &terminal_id, &broker) {
        Ok(o) => o,
        Err(e) => {
            log::error!("MQTT is off: {e}");
            set_health(&counters, |h| h.detail = Some(format!("off: {e}")));
            return;
        }
    };
    let topics = Topics::new(&config.topic_prefix, &terminal_id, &config.discovery_prefix);
    let (client, eventloop) = AsyncClient::new(options, CLIENT_QUEUE);
    let latest_status = Arc::new(Mutex::new(None));
    let (requests_tx, requests_rx) = mpsc::channel(REQUEST_BACKLOG);
    let connection = Connection {
        client: client.clone(),
        topics: topics.clone(),
        terminal_id,
        latest_status: latest_status.clone(),
        counters: counters.clone(),
        requests: requests_tx,
        connections: Arc::new(AtomicU64::new(0)),
        echoed: Arc::new(AtomicU64::new(0)),
    };
    let publisher = tokio::spawn(publish_updates(
        client.clone(),
        topics.clone(),
        updates,
        latest_status,
        counters.clone(),
        config.publish_usernames,
    ));
    let answerer = tokio::spawn(answer_requests(
        client.clone(),
        topics.clone(),
        requests_rx,
        handler,
    ));
    connection.poll(eventloop, &config, &broker, shutdown).await;
    publisher.abort();
    answerer.abort();
}

impl Connection {
    async fn poll(
        &self,
        mut eventloop: EventLoop,
        config: &MqttConfig,
        broker: &Broker,
        shutdown: Shutdown,
    ) {
        let mut failures: u32 = 0;
        let mut connected = false;
        set_health(&self.counters, |h| h.connect_attempts = 1);
        loop {
            let event = tokio::select! {
                () = shutdown.wait() => break,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    failures = 0;
                    connected = true;
                    log::info!(
                        "MQTT: connected to {}:{} as `{}`",
                        broker.host,
                        broker.port,
                        eventloop.mqtt_options.client_id()
                    );
                    set_health(&self.counters, |h| {
                        h.connected = true;
                        h.detail = None;
                    });
                    self.on_connected();
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let refused = ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure));
                    if refused {
                        let detail = format!(
                            "the broker refused the subscription to {} (its ACL must let this \
                             terminal read its own topics, {}/#): requests are not received",
                            self.topics.requests_filter(),
                            self.topics.base()
                        );
                        log::error!("MQTT: {detail}");
                        set_health(&self.counters, |h| h.detail = Some(detail));
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => self.on_publish(p),
                Ok(_) => {}
                Err(e) => {
                    connected = false;
                    failures = failures.saturating_add(1);
                    let delay = backoff(config, failures);
                    let detail = describe(&e, broker, config);
                    log::warn!(
                        "MQTT: {detail}; next attempt in {:.1} s",
                        delay.as_secs_f64()
                    );
                    set_health(&self.counters, |h| {
                        h.connected = false;
                        h.detail = Some(detail);
                        h.connect_attempts += 1;
                    });
                    tokio::select! {
                        () = shutdown.wait() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        if connected {
            self.say_offline(&mut eventloop).await;
        }
    }

    /// Subscriptions, `online`, the latest status and the discovery message,
    /// queued behind whatever the client still holds (spawned: the client's
    /// queue may be full until the event loop drains it).
    fn on_connected(&self) {
        self.expect_echo();
        let client = self.client.clone();
        let topics = self.topics.clone();
        let status = self.latest_status.lock().expect("not poisoned").clone();
        let discovery = topics
            .discovery_config()
            .map(|t| (t, discovery::config(&topics, &self.terminal_id)));
        tokio::spawn(async move {
            let mut filters = vec![
                SubscribeFilter::new(topics.requests_filter(), QoS::AtLeastOnce),
                SubscribeFilter::new(topics.availability(), QoS::AtLeastOnce),
            ];
            if let Some(ha) = topics.ha_status() {
                filters.push(SubscribeFilter::new(ha, QoS::AtLeastOnce));
            }
            let _ = client.subscribe_many(filters).await;
            let _ = client
                .publish(topics.availability(), QoS::AtLeastOnce, true, "online")
                .await;
            if let Some(status) = status {
                let _ = client
                    .publish(topics.status(), QoS::AtLeastOnce, true, status)
                    .await;
            }
            if let Some((topic, payload)) = discovery {
                let _ = client.publish(topic, QoS::AtLeastOnce, true, payload).await;
            }
        });
    }

    /// Reports a refusal when this connection's `online` has not come back
    /// within [`ECHO_WITHIN`].
    fn expect_echo(&self) {
        let connection = self.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let (connections, echoed) = (self.connections.clone(), self.echoed.clone());
        let (counters, base) = (self.counters.clone(), self.topics.base().to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(ECHO_WITHIN).await;
            let current = connections.load(Ordering::SeqCst) == connection;
            if current && echoed.load(Ordering::SeqCst) != connection {
                let detail = format!(
                    "connected, but the broker refused this terminal's topics: its own \
                     `online` on {base}/availability never came back (the broker's ACL must \
                     let this user read and write {base}/#); requests are not received"
                );
                log::error!("MQTT: {detail}");
                set_health(&counters, |h| h.detail = Some(detail));
            }
        });
    }

    fn on_publish(&self, p: rumqttc::Publish) {
        if p.topic == self.topics.availability() {
            // Our own `online`, live (a retained copy may be an old one).
            if !p.retain && p.payload.as_ref() == b"online" {
                self.echoed
                    .store(self.connections.load(Ordering::SeqCst), Ordering::SeqCst);
            }
            return;
        }
        if self.topics.ha_status().as_deref() == Some(p.topic.as_str()) {
            if p.payload.as_ref() == b"online"
                && let Some(topic) = self.topics.discovery_config()
            {
                let payload = discovery::config(&self.topics, &self.terminal_id);
                let _ = self
                    .client
                    .try_publish(topic, QoS::AtLeastOnce, true, payload);
            }
            return;
        }
        let Some(name) = self.topics.request_name(&p.topic) else {
            return;
        };
        if p.retain {
            // Someone left a request on the broker: executing it at every
            // connect would press the button at every reconnect.
            log::warn!(
                "MQTT: ignored a retained message on {} (requests are never retained; clear it \
                 with `mosquitto_pub -r -n -t {}`)",
                p.topic,
                p.topic
            );
            return;
        }
        let name = name.to_owned();
        if let Err(mpsc::error::TrySendError::Full((name, payload))) =
            self.requests.try_send((name, p.payload.to_vec()))
        {
            let request = requests::parse(&name, &payload);
            let reply = Reply::error("busy: too many requests at once; send it again");
            let _ = self.client.try_publish(
                self.topics.response(&name),
                QoS::AtLeastOnce,
                false,
                requests::response(request.transaction.as_deref(), reply),
            );
        }
    }

    /// A clean stop: `offline` (retained) before disconnecting, since the
    /// broker publishes the last will only for a connection that broke.
    async fn say_offline(&self, eventloop: &mut EventLoop) {
        let sent = self.client.try_publish(
            self.topics.availability(),
            QoS::AtLeastOnce,
            true,
            "offline",
        );
        if sent.is_err() || self.client.try_disconnect().is_err() {
            return;
        }
        let _ = tokio::time::timeout(STOP_FLUSH, async {
            while eventloop.poll().await.is_ok() {}
        })
        .await;
    }
}

/// What `check-config` says of `[mqtt]`: the broker and whether a password
/// was found (never the password), or why the connection cannot be set up.
pub fn check(config: &MqttConfig, terminal_id: &str) -> Result<String, SetupError> {
    let Some(broker) = config.broker() else {
        return Ok("off (no mqtt.url)".to_owned());
    };
    let options = options(config, terminal_id, &broker)?;
    let login = match (&config.username, options.credentials()) {
        (Some(user), Some(login)) if !login.password.is_empty() => {
            format!("user {user}, password [redacted]")
        }
        (Some(user), _) => format!("user {user}, no password"),
        (None, _) => "no user name".to_owned(),
    };
    Ok(format!(
        "{}:{}{}, client id {}, {login}",
        broker.host,
        broker.port,
        if broker.tls { " over TLS" } else { "" },
        options.client_id()
    ))
}

/// The connection's options: broker, identity, last will, TLS.
fn options(
    config: &MqttConfig,
    terminal_id: &str,
    broker: &Broker,
) -> Result<MqttOptions, SetupError> {
    let client_id = config.client_id.as_deref().unwrap_or(terminal_id);
    let topics = Topics::new(&config.topic_prefix, terminal_id, &config.discovery_prefix);
    let mut options = MqttOptions::new(client_id, broker.host.as_str(), broker.port);
    options
        .set_keep_alive(Duration::from_secs(config.keepalive_secs))
        .set_clean_session(true)
        .set_max_packet_size(MAX_INCOMING, MAX_INCOMING)
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
    if broker.tls {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            tls_config(config)?,
        )));
    }
    Ok(options)
}

fn tls_config(config: &MqttConfig) -> Result<Arc<rustls::ClientConfig>, SetupError> {
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

/// The wait before the next attempt after `failures` in a row: doubling
/// from `reconnect_min_ms` up to `reconnect_max_ms`, then a random half of
/// it taken off, so a fleet that lost its broker together does not come
/// back all in the same instant.
fn backoff(config: &MqttConfig, failures: u32) -> Duration {
    let doubled = config
        .reconnect_min_ms
        .saturating_mul(1u64 << failures.saturating_sub(1).min(30));
    let ceiling = doubled.min(config.reconnect_max_ms);
    Duration::from_millis(ceiling - fastrand::u64(0..=ceiling / 2))
}

/// A connection failure in words, with what to check.
fn describe(e: &ConnectionError, broker: &Broker, config: &MqttConfig) -> String {
    let at = format!("{}:{}", broker.host, broker.port);
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
                "the broker at {at} refused the client id (mqtt.client_id, default the \
                 terminal id)"
            ),
            other => format!("the broker at {at} refused the connection ({other:?})"),
        },
        ConnectionError::Io(io) => io_failure(io, &at),
        ConnectionError::Tls(tls) => match tls {
            rumqttc::TlsError::TLS(r) => tls_failure(r, &at),
            rumqttc::TlsError::Io(io) => io_failure(io, &at),
            other => format!("TLS with the broker at {at} failed: {other}"),
        },
        ConnectionError::NetworkTimeout => {
            format!("no answer from the broker at {at} (is the address right and the port open?)")
        }
        ConnectionError::MqttState(state) => format!(
            "the connection to the broker at {at} broke: {}",
            crate::api::sanitize::clean_server_text(&state.to_string())
        ),
        other => format!(
            "the connection to the broker at {at} failed: {}{}",
            crate::api::sanitize::clean_server_text(&other.to_string()),
            if config
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("mqtt://"))
            {
                ""
            } else {
                " (mqtts://: is it a TLS port?)"
            }
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

fn set_health(counters: &Counters, change: impl FnOnce(&mut MqttHealth)) {
    let mut health = counters.mqtt.lock().expect("not poisoned");
    change(health.get_or_insert_with(MqttHealth::default));
}

/// Status changes and events onto the broker, never waiting for it. While
/// disconnected a status is only kept (the latest goes out after the
/// ConnAck), so the client's queue holds events for afterwards.
async fn publish_updates(
    client: AsyncClient,
    topics: Topics,
    mut updates: Updates,
    latest_status: Arc<Mutex<Option<Vec<u8>>>>,
    counters: Arc<Counters>,
    publish_usernames: bool,
) {
    while let Some(update) = updates.next().await {
        match update {
            Update::Status(status) => {
                let payload = crate::status::render(&for_the_broker(&status, publish_usernames));
                *latest_status.lock().expect("not poisoned") = Some(payload.clone());
                let connected = counters
                    .mqtt
                    .lock()
                    .expect("not poisoned")
                    .as_ref()
                    .is_some_and(|h| h.connected);
                if connected {
                    let _ = client.try_publish(topics.status(), QoS::AtLeastOnce, true, payload);
                }
            }
            Update::Event(event) => {
                let payload = event_payload(&event, publish_usernames);
                if client
                    .try_publish(topics.event(), QoS::AtLeastOnce, false, payload)
                    .is_err()
                {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The status document as the broker gets it: the file's, less the face id
/// and (unless the site opted in) the name of the last person enrolled; the
/// file is 0640 for those, a broker's readers are many.
fn for_the_broker(
    status: &crate::status::Status,
    publish_usernames: bool,
) -> crate::status::Status {
    let mut status = status.clone();
    if let Some(last) = &mut status.last_outcome {
        last.face_id = None;
        if !publish_usernames {
            last.username.clear();
        }
    }
    status
}

/// The `event` message: no image, token or face id; the name only when
/// the site opted in.
fn event_payload(event: &EnrollmentEvent, publish_usernames: bool) -> Vec<u8> {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if publish_usernames {
        value["username"] = serde_json::Value::String(event.username.clone());
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

/// One request at a time, through the control socket's handler.
async fn answer_requests<H: Handler>(
    client: AsyncClient,
    topics: Topics,
    mut requests: mpsc::Receiver<(String, Vec<u8>)>,
    handler: Arc<H>,
) {
    while let Some((name, payload)) = requests.recv().await {
        let request = requests::parse(&name, &payload);
        let reply = match request.command {
            Ok(command) => handler.handle(command).await,
            Err(why) => {
                log::warn!("MQTT: request/{} refused: {why}", clean_name(&name));
                Reply::error(why)
            }
        };
        let _ = client
            .publish(
                topics.response(&name),
                QoS::AtLeastOnce,
                false,
                requests::response(request.transaction.as_deref(), reply),
            )
            .await;
    }
}

fn clean_name(name: &str) -> String {
    crate::api::sanitize::clean_server_text(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        let config = MqttConfig {
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 8_000,
            ..Default::default()
        };
        for (failures, ceiling) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (40, 8_000)] {
            let d = backoff(&config, failures).as_millis() as u64;
            assert!((ceiling / 2..=ceiling).contains(&d), "{failures}: {d}");
        }
    }

    #[test]
    fn refusals_are_words() {
        let broker = Broker {
            host: "b".into(),
            port: 1,
            tls: true,
        };
        let c = MqttConfig::default();
        let e = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        assert!(describe(&e, &broker, &c).contains("user name or password"));
        let e = ConnectionError::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert!(describe(&e, &broker, &c).contains("is it running"));
    }
}
