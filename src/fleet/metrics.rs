//! `[metrics] textfile`: the terminal's figures for node_exporter's textfile
//! collector.
//!
//! The collector reads the Prometheus *text* format (version 0.0.4) and
//! rejects OpenMetrics (`# EOF`, `_created`), so this writes the plain text
//! format by hand: a dozen families do not need a metrics crate. The file is
//! replaced atomically (a temporary file in the same directory, renamed over
//! it), so a scrape never sees half of it, on every change and every minute
//! (the file's age then tells a dead daemon from an idle one). No label
//! holds a username or an id: labels are outcome codes, reasons, fault
//! kinds, stage names and the version, all from fixed sets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Counters, EnrollmentEvent, Update, Updates};
use crate::fsutil;
use crate::shutdown::Shutdown;
use crate::status::Status;

/// How often the file is rewritten when nothing changes.
pub const REFRESH: Duration = Duration::from_secs(60);
/// Readable by node_exporter, which runs as another user.
const FILE_MODE: u32 = 0o644;
/// Outcome counters of the status file that are not enrollments' outcomes.
const NOT_OUTCOMES: [&str; 1] = ["delivered_from_queue"];

/// What the file is made of: the latest status and what only events tell.
#[derive(Debug, Default)]
pub struct Figures {
    status: Option<Status>,
    face_rejections: BTreeMap<String, u64>,
    last_registered_unix: Option<u64>,
}

impl Figures {
    pub fn status(&mut self, status: &Status) {
        self.status = Some(status.clone());
    }

    pub fn event(&mut self, event: &EnrollmentEvent) {
        if let Some(reason) = &event.reason {
            *self.face_rejections.entry(reason.clone()).or_default() += 1;
        }
        if matches!(
            event.outcome.as_str(),
            "registered" | "registered_review" | "already_registered"
        ) {
            self.last_registered_unix = Some(event.at_unix);
        }
    }

    /// The file's text.
    pub fn render(&self, counters: &Counters) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: String| vec![(String::new(), v)];
        family(
            "enrolld_build_info",
            "gauge",
            "The running enrolld's version.",
            &[(label("version", env!("CARGO_PKG_VERSION")), "1".into())],
        );
        let Some(s) = &self.status else {
            return out;
        };
        let outcomes: Vec<_> = s
            .counters
            .iter()
            .filter(|(code, _)| !NOT_OUTCOMES.contains(&code.as_str()))
            .map(|(code, n)| (label("outcome", code), n.to_string()))
            .collect();
        family(
            "enrolld_enrollments_total",
            "counter",
            "Finished enrollments (and queue deliveries) by outcome code, since enrolld started.",
            &outcomes,
        );
        let reasons: Vec<_> = self
            .face_rejections
            .iter()
            .map(|(r, n)| (label("reason", r), n.to_string()))
            .collect();
        family(
            "enrolld_face_rejections_total",
            "counter",
            "Captures IDMeta asked to retake, by face-check reason, since enrolld started.",
            &reasons,
        );
        family(
            "enrolld_queue_entries",
            "gauge",
            "Enrollments waiting in the offline queue.",
            &one(s.queue.depth.to_string()),
        );
        family(
            "enrolld_queue_bytes",
            "gauge",
            "Bytes the offline queue holds.",
            &one(s.queue.bytes.to_string()),
        );
        family(
            "enrolld_unknown_deliveries",
            "gauge",
            "Enrollments that may or may not have reached IDMeta, waiting for an operator.",
            &one(s.queue.unknown_deliveries.to_string()),
        );
        family(
            "enrolld_review_records",
            "gauge",
            "Registrations IDMeta's watchlist screening flagged, on record for an operator.",
            &one(s.queue.review.to_string()),
        );
        family(
            "enrolld_paused",
            "gauge",
            "1 while deliveries are paused (IDMeta refused the token or the URL).",
            &one(u8::from(s.queue.paused).to_string()),
        );
        let mqtt_fault = s.mqtt.as_ref().is_some_and(|m| !m.connected);
        family(
            "enrolld_fault",
            "gauge",
            "1 while a part has a fault, by kind.",
            &[
                (label("kind", "camera"), u8::from(!s.camera.ok).to_string()),
                (label("kind", "gpio"), u8::from(!s.gpio.ok).to_string()),
                (label("kind", "mqtt"), u8::from(mqtt_fault).to_string()),
            ],
        );
        if let Some(at) = self.last_registered_unix {
            family(
                "enrolld_last_registered_timestamp_seconds",
                "gauge",
                "When the last enrollment was registered (Unix time).",
                &one(at.to_string()),
            );
        }
        if let Some(last) = &s.last_outcome {
            let stages: Vec<_> = last
                .stages_ms
                .iter()
                .map(|(stage, ms)| (label("stage", stage), seconds(*ms)))
                .collect();
            family(
                "enrolld_last_enrollment_stage_seconds",
                "gauge",
                "How long each stage of the last finished enrollment took.",
                &stages,
            );
        }
        family(
            "enrolld_mqtt_dropped_messages_total",
            "counter",
            "Enrollment events not sent because the broker (or this file) could not keep up (never delays an \
             enrollment).",
            &one(counters.dropped.load(Ordering::Relaxed).to_string()),
        );
        out
    }
}

/// `{name="value"}`, escaped as the text format wants.
fn label(name: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{{{name}=\"{escaped}\"}}")
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The task that keeps the file: rewritten on every update and every
/// [`REFRESH`]; a failed write is logged once until one succeeds.
pub async fn run(path: PathBuf, mut updates: Updates, counters: Arc<Counters>, shutdown: Shutdown) {
    let mut figures = Figures::default();
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.wait() => break,
            update = updates.next() => match update {
                Some(Update::Status(s)) => figures.status(&s),
                Some(Update::Event(e)) => figures.event(&e),
                None => break,
            },
            _ = tick.tick() => {}
        }
        let text = figures.render(&counters);
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || {
            fsutil::write_atomic(&target, text.as_bytes(), FILE_MODE)
        })
        .await;
        match written {
            Ok(Err(e)) if !failing => {
                failing = true;
                log::error!("metrics.textfile: {e}");
            }
            Ok(Ok(())) if failing => {
                failing = false;
                log::info!("metrics.textfile: written again");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_durations_in_seconds() {
        assert_eq!(label("reason", "a\"b\\c"), "{reason=\"a\\\"b\\\\c\"}");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(seconds(5), "0.005");
    }

    #[test]
    fn only_build_info_before_the_first_status() {
        let text = Figures::default().render(&Counters::default());
        assert!(text.starts_with("# HELP enrolld_build_info"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
