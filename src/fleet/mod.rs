//! A fleet of terminals: the site's MQTT broker (status, events, requests,
//! Home Assistant discovery) and its Prometheus (a node_exporter textfile).
//!
//! The daemon's loop hands every status change and every finished
//! enrollment to a [`Feed`], which never waits: the status goes into a
//! `watch` (a consumer sees the latest; intermediate ones it missed do not
//! matter), events into bounded channels, where a slow or absent broker, or
//! a slow disk under the metrics file, costs a dropped (and counted) event,
//! never a delayed enrollment. The
//! MQTT client and the metrics writer are tasks of their own. Requests
//! arriving over MQTT are answered by the same handler as the control
//! socket ([`crate::control::server::Handler`]), so the rules are one.
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | `[mqtt]` and `[metrics]` |
//! | `topics.rs` | the topic layout |
//! | `client_id.rs` | the MQTT client id: configured, or unique per machine |
//! | `setup.rs` | the client's options, password and TLS settings; `check-config`'s line |
//! | `mqtt.rs` | the connection: subscriptions, `online`, the checks that the broker lets it use its topics |
//! | `link.rs` | the byte stream to the broker: TCP and TLS, an oversize message read past |
//! | `reconnect.rs` | when to try again; a client id taken by another client |
//! | `problems.rs` | what goes wrong with the broker, in words; said once |
//! | `publisher.rs` | status changes and events onto the broker, never waiting |
//! | `requests.rs` | a request message in, the control command and the response out |
//! | `discovery.rs` | the Home Assistant device discovery message |
//! | `password.rs` | the broker password: credential or file, never shown |
//! | `metrics.rs` | the Prometheus textfile |

pub mod client_id;
pub mod config;
pub mod discovery;
pub mod link;
pub mod metrics;
pub mod mqtt;
pub mod password;
pub mod problems;
pub mod publisher;
pub mod reconnect;
pub mod requests;
pub mod setup;
pub mod topics;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{mpsc, watch};

pub use config::{MetricsConfig, MqttConfig};

use crate::control::server::Handler;
use crate::shutdown::Shutdown;
use crate::status::{MqttHealth, Status};

/// Events waiting for a slow consumer; more are dropped and counted.
const BACKLOG: usize = 32;

/// One finished enrollment, as `event` publishes it and the metrics count it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentEvent {
    /// The outcome code (`registered`, `retake`, `queued`, ...).
    pub outcome: String,
    /// IDMeta's face-check reason (`no_face`, ...) when it asked for a retake.
    pub reason: Option<String>,
    /// Milliseconds per stage (`capture`, `register`, `total`, ...).
    pub durations_ms: BTreeMap<String, u64>,
    /// The ticket's `transaction`, when it came over MQTT.
    pub transaction: Option<String>,
    pub queue_depth: usize,
    /// RFC 3339 UTC.
    pub at: String,
    #[serde(skip)]
    pub at_unix: u64,
    /// Only published with `mqtt.publish_usernames = true`.
    #[serde(skip)]
    pub username: String,
    /// How many records IDMeta's watchlist screening matched, for a registration it flagged
    /// (`registered_review`); the count only, never whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_matches: Option<u32>,
}

/// What a consumer gets.
#[derive(Debug, Clone)]
pub enum Update {
    Status(Arc<Status>),
    Event(Arc<EnrollmentEvent>),
}

/// A consumer's side of the [`Feed`].
#[derive(Debug)]
pub struct Updates {
    status: watch::Receiver<Option<Arc<Status>>>,
    events: mpsc::Receiver<Arc<EnrollmentEvent>>,
}

impl Updates {
    /// The latest status once it changed, or the next event; `None` once
    /// the daemon is gone.
    pub async fn next(&mut self) -> Option<Update> {
        loop {
            tokio::select! {
                changed = self.status.changed() => {
                    changed.ok()?;
                    if let Some(s) = self.status.borrow_and_update().clone() {
                        return Some(Update::Status(s));
                    }
                }
                event = self.events.recv() => return event.map(Update::Event),
            }
        }
    }
}

/// Figures shared between the daemon and the tasks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Events dropped because a consumer's backlog was full.
    pub dropped: AtomicU64,
    /// The MQTT connection's health, for the status file.
    pub mqtt: Mutex<Option<MqttHealth>>,
}

/// The daemon's side: cheap, never blocks.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    status: Option<Arc<watch::Sender<Option<Arc<Status>>>>>,
    events: Vec<mpsc::Sender<Arc<EnrollmentEvent>>>,
    counters: Arc<Counters>,
}

impl Feed {
    /// The status file's content changed.
    pub fn status(&self, status: &Status) {
        if let Some(tx) = &self.status {
            tx.send_replace(Some(Arc::new(status.clone())));
        }
    }

    /// An enrollment finished.
    pub fn event(&self, event: EnrollmentEvent) {
        let event = Arc::new(event);
        for tx in &self.events {
            if tx.try_send(event.clone()).is_err() {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The MQTT connection for the status file (`None` without `[mqtt]`).
    pub fn mqtt_health(&self) -> Option<MqttHealth> {
        let mut health = self.counters.mqtt.lock().expect("not poisoned").clone()?;
        health.dropped = self.counters.dropped.load(Ordering::Relaxed);
        Some(health)
    }

    /// A new consumer.
    fn updates(&mut self) -> Updates {
        let status = self
            .status
            .get_or_insert_with(|| Arc::new(watch::Sender::new(None)))
            .subscribe();
        let (tx, events) = mpsc::channel(BACKLOG);
        self.events.push(tx);
        Updates { status, events }
    }
}

/// Starts what `[mqtt]` and `[metrics]` ask for; the tasks end at `shutdown`
/// (the MQTT client after publishing `offline`).
pub fn start<H: Handler>(
    mqtt: &MqttConfig,
    metrics: &MetricsConfig,
    terminal_id: &str,
    handler: Arc<H>,
    shutdown: Shutdown,
) -> (Feed, Vec<tokio::task::JoinHandle<()>>) {
    let mut feed = Feed::default();
    let mut tasks = Vec::new();
    if let Some(path) = &metrics.textfile {
        let updates = feed.updates();
        tasks.push(tokio::spawn(metrics::run(
            path.clone(),
            updates,
            feed.counters.clone(),
            shutdown.clone(),
        )));
    }
    if mqtt.enabled() {
        let updates = feed.updates();
        *feed.counters.mqtt.lock().expect("not poisoned") = Some(MqttHealth {
            detail: Some("connecting".into()),
            ..MqttHealth::default()
        });
        tasks.push(tokio::spawn(mqtt::run(
            mqtt.clone(),
            terminal_id.to_owned(),
            updates,
            feed.counters.clone(),
            handler,
            shutdown,
        )));
    }
    (feed, tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> EnrollmentEvent {
        EnrollmentEvent {
            outcome: "registered".into(),
            reason: None,
            durations_ms: BTreeMap::new(),
            transaction: None,
            queue_depth: 0,
            at: String::new(),
            at_unix: n,
            username: String::new(),
            screen_matches: None,
        }
    }

    #[tokio::test]
    async fn a_consumer_that_never_reads_costs_counted_events_and_sees_the_latest_status() {
        let mut feed = Feed::default();
        let mut updates = feed.updates();
        for n in 0..100 {
            feed.event(event(n));
            let mut status = Status::starting("t1", n);
            status.tickets_pending = n as usize;
            feed.status(&status);
        }
        let dropped = feed.counters.dropped.load(Ordering::Relaxed);
        assert_eq!(dropped, 100 - BACKLOG as u64);
        // The status is the latest, whatever was missed in between.
        let mut statuses = 0;
        let mut events = 0;
        while let Ok(Some(u)) =
            tokio::time::timeout(std::time::Duration::from_millis(50), updates.next()).await
        {
            match u {
                Update::Status(s) => {
                    assert_eq!(s.tickets_pending, 99);
                    statuses += 1;
                }
                Update::Event(_) => events += 1,
            }
        }
        assert_eq!((statuses, events), (1, BACKLOG));
    }
}
