//! The connection to the site's broker (MQTT 3.1.1 through `rumqttc`, over [`super::link`]).
//!
//! Three tasks, none of which the daemon's loop ever waits for:
//! - the connection (`run`): has the link connect to the broker, then polls the client's
//!   event loop. `rumqttc` reconnects at the next poll with no delay and forgets
//!   subscriptions, so after every failure this waits ([`super::reconnect`]: exponential
//!   with jitter, reset only by a connection that lasted) and after every ConnAck it
//!   subscribes again and publishes `online`, the latest status and the discovery message;
//! - the publisher ([`super::publisher`]): status changes and events, never waiting;
//! - the requests ([`super::requests::answer`]): one at a time through the control socket's
//!   handler.
//!
//! After every ConnAck it also checks that the broker lets it use its topics. A refused
//! subscription shows in the SUBACK; but many brokers (mosquitto 2.0 with an ACL file among
//! them) grant every subscription and drop, without a word under MQTT 3.1.1, a publish
//! their ACL forbids and a message the subscriber may not read. So its own `online` must
//! come back through its subscription to `availability`, and its own probe through its
//! subscription to the requests, within ten seconds (`ECHO_WITHIN`).
//!
//! The session is clean: a broker keeps nothing for the terminal while it is
//! away, so a `trigger` published an hour ago never presses the button now.
//! An app that got no response sends its request again, with the same
//! `transaction`, which the tickets remember.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, Event, EventLoop, Packet, QoS, SubAck, SubscribeFilter, SubscribeReasonCode,
};
use tokio::sync::mpsc;

use super::config::{Broker, MqttConfig};
use super::link::{self, Ended, Link, Oversize};
use super::problems::{self, Said};
use super::reconnect::{Ending, Reconnect, Taken};
use super::setup::{self, MAX_INCOMING};
use super::topics::{self, Topics};
use super::{Counters, Updates, client_id, discovery, publisher, requests};
use crate::control::Reply;
use crate::control::server::Handler;
use crate::shutdown::Shutdown;
use crate::status::MqttHealth;

/// Messages the client holds while the broker is slow or away.
const CLIENT_QUEUE: usize = 64;
/// Requests waiting for the one being answered; more are answered "busy".
const REQUEST_BACKLOG: usize = 8;
/// How long a clean stop waits for `offline` to reach the broker.
const STOP_FLUSH: Duration = Duration::from_secs(2);
/// How long the TCP connection and the TLS handshake may take (`rumqttc`'s own default for
/// the whole of it).
const DIAL_WITHIN: Duration = Duration::from_secs(5);
/// How long after a ConnAck this terminal's own `online` and probe must come back through
/// its subscriptions.
const ECHO_WITHIN: Duration = Duration::from_secs(10);

/// Per ConnAck, which checks came back: each holds the number of the connection it
/// concerns (the count of ConnAcks, `connections`).
#[derive(Debug, Default)]
struct Checks {
    connections: AtomicU64,
    /// Its own `online` came back.
    online: AtomicU64,
    /// Its own probe on the request topic came back.
    probe: AtomicU64,
    /// The SUBACK refused the requests (already said: the probe is not awaited).
    requests_refused: AtomicU64,
}

impl Checks {
    fn current(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    fn mark(&self, which: &AtomicU64) {
        which.store(self.current(), Ordering::SeqCst);
    }

    fn is_current(&self, which: &AtomicU64, connection: u64) -> bool {
        which.load(Ordering::SeqCst) == connection
    }
}

struct Connection {
    client: AsyncClient,
    topics: Topics,
    terminal_id: String,
    client_id: String,
    broker: Broker,
    /// The last status payload, sent again after every ConnAck.
    latest_status: Arc<Mutex<Option<Vec<u8>>>>,
    counters: Arc<Counters>,
    requests: mpsc::Sender<(String, Vec<u8>)>,
    checks: Arc<Checks>,
    said: Arc<Said>,
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
    let id = client_id::of(&config, &terminal_id);
    if let Some(note) = &id.note {
        log::warn!("MQTT: the client id `{}` is {note}", id.id);
    }
    let set_up = async {
        let link = Link::start(MAX_INCOMING).map_err(|e| {
            format!(
                "cannot open the link to the MQTT client: {}",
                crate::fsutil::describe(&e)
            )
        })?;
        let options = setup::options(&config, &id.id, &terminal_id, link.address())
            .map_err(|e| e.to_string())?;
        let tls = match broker.tls {
            true => Some(setup::tls_config(&config).map_err(|e| e.to_string())?),
            false => None,
        };
        Ok::<_, String>((link, options, tls))
    };
    let (link, options, tls) = match set_up.await {
        Ok(parts) => parts,
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
        client_id: id.id,
        broker,
        latest_status: latest_status.clone(),
        counters: counters.clone(),
        requests: requests_tx,
        checks: Arc::default(),
        said: Arc::default(),
    };
    let publisher = tokio::spawn(publisher::publish_updates(
        client.clone(),
        topics.clone(),
        updates,
        latest_status,
        counters.clone(),
        config.publish_usernames,
    ));
    let answerer = tokio::spawn(requests::answer(
        client.clone(),
        topics.clone(),
        requests_rx,
        handler,
    ));
    connection
        .poll(eventloop, &config, &link, tls, shutdown)
        .await;
    publisher.abort();
    answerer.abort();
}

impl Connection {
    async fn poll(
        &self,
        mut eventloop: EventLoop,
        config: &MqttConfig,
        link: &Link,
        tls: Option<Arc<rustls::ClientConfig>>,
        shutdown: Shutdown,
    ) {
        let mut reconnect = Reconnect::new(config);
        let mut dialled = false;
        let mut connected = false;
        set_health(&self.counters, |h| h.connect_attempts = 1);
        loop {
            if !dialled {
                let dial = tokio::select! {
                    () = shutdown.wait() => break,
                    dial = link.dial(&self.broker.host, self.broker.port, tls.clone(), DIAL_WITHIN) => dial,
                };
                if let Err(e) = dial {
                    let detail = problems::dial_failure(&e, &self.broker);
                    if self
                        .wait_after_failure(&mut reconnect, Ending::NotConnected, detail, &shutdown)
                        .await
                    {
                        break;
                    }
                    continue;
                }
                dialled = true;
            }
            let event = tokio::select! {
                () = shutdown.wait() => break,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    reconnect.connected(Instant::now());
                    self.on_connected(&reconnect);
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => self.on_suback(&ack),
                Ok(Event::Incoming(Packet::Publish(p))) => self.on_publish(p),
                Ok(_) => {}
                Err(e) => {
                    let ended = link.ended();
                    let ending = match (connected, &ended) {
                        (false, _) => Ending::NotConnected,
                        (true, Some(Ended::ByBroker)) => Ending::ClosedByBroker,
                        (true, _) => Ending::Lost,
                    };
                    let detail = problems::connection_failure(
                        &e,
                        ended.as_ref(),
                        connected,
                        &self.broker,
                        config,
                    );
                    dialled = false;
                    connected = false;
                    if self
                        .wait_after_failure(&mut reconnect, ending, detail, &shutdown)
                        .await
                    {
                        break;
                    }
                }
            }
        }
        if connected {
            self.say_offline(&mut eventloop).await;
        }
        // The client's side closed: what it wrote last (`offline`, DISCONNECT) goes on.
        drop(eventloop);
        link.finish(STOP_FLUSH).await;
    }

    /// Says the failure (a client id taken by another client once, in its own words) and
    /// waits before the next attempt. Returns whether `shutdown` came first.
    async fn wait_after_failure(
        &self,
        reconnect: &mut Reconnect,
        ending: Ending,
        detail: String,
        shutdown: &Shutdown,
    ) -> bool {
        let failure = reconnect.failed(ending, Instant::now());
        let wait = failure.wait.as_secs_f64();
        let detail = match failure.taken {
            Taken::No => {
                log::warn!("MQTT: {detail}; next attempt in {wait:.1} s");
                detail
            }
            Taken::Now | Taken::Still => {
                let taken = problems::client_id_taken(&self.broker, &self.client_id);
                if failure.taken == Taken::Now {
                    log::error!("MQTT: {taken}");
                } else {
                    log::debug!("MQTT: {detail}; next attempt in {wait:.1} s");
                }
                taken
            }
        };
        set_health(&self.counters, |h| {
            h.connected = false;
            h.detail = Some(detail);
            h.connect_attempts += 1;
        });
        tokio::select! {
            () = shutdown.wait() => true,
            () = tokio::time::sleep(failure.wait) => false,
        }
    }

    /// Subscriptions, `online`, the latest status, the discovery message and the probe,
    /// queued behind whatever the client still holds (spawned: the client's queue may be
    /// full until the event loop drains it); then the checks.
    fn on_connected(&self, reconnect: &Reconnect) {
        let connection = self.checks.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let said = format!(
            "MQTT: connected to {}:{} as `{}`",
            self.broker.host, self.broker.port, self.client_id
        );
        let taken = reconnect.taken();
        if taken {
            // While another client takes the id in turns: said once, at the failure.
            log::debug!("{said}");
            self.after_lasting(connection, reconnect.lasting());
        } else {
            log::info!("{said}");
        }
        set_health(&self.counters, |h| {
            h.connected = true;
            if !taken {
                h.detail = None;
            }
        });
        self.expect_echoes(connection);
        let client = self.client.clone();
        let topics = self.topics.clone();
        let status = self.latest_status.lock().expect("not poisoned").clone();
        let discovery = topics
            .discovery_config()
            .map(|t| (t, discovery::config(&topics, &self.terminal_id)));
        tokio::spawn(async move {
            let filters = topics
                .subscriptions()
                .into_iter()
                .map(|f| SubscribeFilter::new(f, QoS::AtLeastOnce));
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
            let _ = client
                .publish(
                    topics.probe(),
                    QoS::AtLeastOnce,
                    false,
                    connection.to_string(),
                )
                .await;
        });
    }

    /// The connection `connection` still up after `lasting`: the id is this terminal's alone
    /// again, and the note goes.
    fn after_lasting(&self, connection: u64, lasting: Duration) {
        let (checks, counters) = (self.checks.clone(), self.counters.clone());
        let taken = problems::client_id_taken(&self.broker, &self.client_id);
        tokio::spawn(async move {
            tokio::time::sleep(lasting).await;
            let mut health = counters.mqtt.lock().expect("not poisoned");
            let Some(h) = health.as_mut() else { return };
            if checks.current() == connection && h.connected && h.detail.as_ref() == Some(&taken) {
                h.detail = None;
                log::info!(
                    "MQTT: the connection has lasted {lasting:?}: no other client takes the \
                     client id any more"
                );
            }
        });
    }

    /// Reports a refusal when this connection's `online` or probe has not come back within
    /// [`ECHO_WITHIN`].
    fn expect_echoes(&self, connection: u64) {
        let (checks, counters, said) = (
            self.checks.clone(),
            self.counters.clone(),
            self.said.clone(),
        );
        let (availability, probe, base) = (
            self.topics.availability(),
            self.topics.probe(),
            self.topics.base().to_owned(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(ECHO_WITHIN).await;
            if checks.current() != connection {
                return;
            }
            let online = !checks.is_current(&checks.online, connection);
            let requests = !checks.is_current(&checks.probe, connection)
                && !checks.is_current(&checks.requests_refused, connection);
            if online || requests {
                let detail = problems::missing_echoes(
                    online.then_some(availability.as_str()),
                    requests.then_some(probe.as_str()),
                    &base,
                );
                report(&counters, &said, detail);
            }
        });
    }

    /// A SUBACK: a failure code for a filter is the broker's ACL refusing it.
    fn on_suback(&self, ack: &SubAck) {
        let refused: Vec<String> = self
            .topics
            .subscriptions()
            .into_iter()
            .zip(&ack.return_codes)
            .filter(|(_, code)| matches!(code, SubscribeReasonCode::Failure))
            .map(|(filter, _)| filter)
            .collect();
        if refused.is_empty() {
            return;
        }
        let requests = refused.contains(&self.topics.requests_filter());
        if requests {
            self.checks.mark(&self.checks.requests_refused);
        }
        let detail = problems::refused_subscriptions(&refused, requests, self.topics.base());
        report(&self.counters, &self.said, detail);
    }

    fn on_publish(&self, p: rumqttc::Publish) {
        if let Some(oversize) = link::oversize(&p) {
            return self.on_oversize(&oversize, p.retain);
        }
        if p.topic == self.topics.availability() {
            // Our own `online`, live (a retained copy may be an old one).
            if !p.retain && p.payload.as_ref() == b"online" {
                self.checks.mark(&self.checks.online);
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
        if name == topics::PROBE {
            let ours = self.checks.current().to_string();
            if !p.retain && p.payload.as_ref() == ours.as_bytes() {
                self.checks.mark(&self.checks.probe);
            }
            return;
        }
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
            requests::answer_now(
                &self.client,
                &self.topics,
                &name,
                request.transaction.as_deref(),
                reply,
            );
        }
    }

    /// A message the link read past: a live request is answered as too large; anything
    /// else is reported (a retained one comes again with every connection).
    fn on_oversize(&self, oversize: &Oversize, retained: bool) {
        match self.topics.request_name(&oversize.topic) {
            Some(name) if !retained && name != topics::PROBE => {
                let reply = requests::refused(name, requests::too_large(oversize.bytes));
                requests::answer_now(&self.client, &self.topics, name, None, reply);
            }
            _ => {
                let detail = problems::oversize(oversize, retained, MAX_INCOMING);
                report(&self.counters, &self.said, detail);
            }
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

/// A problem of the connection: in the status always, in the journal the first time.
fn report(counters: &Counters, said: &Said, detail: String) {
    if said.first_time(&detail) {
        log::error!("MQTT: {detail}");
    }
    set_health(counters, |h| h.detail = Some(detail));
}

fn set_health(counters: &Counters, change: impl FnOnce(&mut MqttHealth)) {
    let mut health = counters.mqtt.lock().expect("not poisoned");
    change(health.get_or_insert_with(MqttHealth::default));
}
