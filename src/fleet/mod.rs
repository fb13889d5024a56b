//! A fleet of terminals: the site's MQTT broker (status, events, requests,
//! Home Assistant discovery) and its Prometheus (a node_exporter textfile).
//!
//! The daemon's loop hands every status change and every finished
//! enrollment to a [`Feed`], which only ever `try_send`s into bounded
//! channels: a slow or absent broker, or a slow disk under the metrics file,
//! costs a dropped (and counted) message, never a delayed enrollment. The
//! MQTT client and the metrics writer are tasks of their own. Requests
//! arriving over MQTT are answered by the same handler as the control
//! socket ([`crate::control::server::Handler`]), so the rules are one.
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | `[mqtt]` and `[metrics]` |
//! | `topics.rs` | the topic layout |
//! | `mqtt.rs` | the connection: backoff, last will, resubscription, publishing |
//! | `requests.rs` | a request message in, the control command and the response out |
//! | `discovery.rs` | the Home Assistant device discovery message |
//! | `password.rs` | the broker password: credential or file, never shown |
//! | `metrics.rs` | the Prometheus textfile |

pub mod config;
pub mod discovery;
pub mod metrics;
pub mod mqtt;
pub mod password;
pub mod requests;
pub mod topics;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc;

pub use config::{MetricsConfig, MqttConfig};

use crate::control::server::Handler;
use crate::shutdown::Shutdown;
use crate::status::{MqttHealth, Status};

/// Updates waiting for a slow consumer; more are dropped and counted.
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
}

/// What the daemon hands on.
#[derive(Debug, Clone)]
pub enum Update {
    Status(Arc<Status>),
    Event(Arc<EnrollmentEvent>),
}

/// Figures shared between the daemon and the tasks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages dropped because a consumer's backlog was full.
    pub dropped: AtomicU64,
    /// The MQTT connection's health, for the status file.
    pub mqtt: Mutex<Option<MqttHealth>>,
}

/// The daemon's side: cheap, never blocks.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    consumers: Vec<mpsc::Sender<Update>>,
    counters: Arc<Counters>,
}

impl Feed {
    /// The status file's content changed.
    pub fn status(&self, status: &Status) {
        if !self.consumers.is_empty() {
            self.send(Update::Status(Arc::new(status.clone())));
        }
    }

    /// An enrollment finished.
    pub fn event(&self, event: EnrollmentEvent) {
        if !self.consumers.is_empty() {
            self.send(Update::Event(Arc::new(event)));
        }
    }

    /// The MQTT connection for the status file (`None` without `[mqtt]`).
    pub fn mqtt_health(&self) -> Option<MqttHealth> {
        let mut health = self.counters.mqtt.lock().expect("not poisoned").clone()?;
        health.dropped = self.counters.dropped.load(Ordering::Relaxed);
        Some(health)
    }

    fn send(&self, update: Update) {
        for c in &self.consumers {
            if c.try_send(update.clone()).is_err() {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
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
        let (tx, rx) = mpsc::channel(BACKLOG);
        feed.consumers.push(tx);
        tasks.push(tokio::spawn(metrics::run(
            path.clone(),
            rx,
            feed.counters.clone(),
            shutdown.clone(),
        )));
    }
    if mqtt.enabled() {
        let (tx, rx) = mpsc::channel(BACKLOG);
        feed.consumers.push(tx);
        *feed.counters.mqtt.lock().expect("not poisoned") = Some(MqttHealth {
            detail: Some("connecting".into()),
            ..MqttHealth::default()
        });
        tasks.push(tokio::spawn(mqtt::run(
            mqtt.clone(),
            terminal_id.to_owned(),
            rx,
            feed.counters.clone(),
            handler,
            shutdown,
        )));
    }
    (feed, tasks)
}
