//! `[metrics] textfile`: the terminal's figures for node_exporter's textfile
//! collector.
//!
//! The collector reads the Prometheus *text* format (version 0.0.4) and
//! rejects OpenMetrics (`# EOF`, `_created`), so this writes the plain text
//! format by hand: a dozen families do not need a metrics crate. No label
//! holds a username or an id: labels are outcome codes, reasons, fault
//! kinds, stage names and the version, all from fixed sets.
//!
//! The file is derived state, written again at every start, so it costs the
//! SD card as little as it can: it is written only when a figure in it
//! changes (a status change that moves no figure, such as `capturing`,
//! writes nothing, and an idle terminal writes nothing at all), replaced
//! atomically (a temporary file in the same directory, renamed over it: a
//! scrape never sees half of it) but never fsynced, and removed when enrolld
//! stops, so a stopped daemon's figures disappear instead of going stale.
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

/// How soon a write that failed is tried again when no figure changes.
const RETRY: Duration = Duration::from_secs(60);
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

/// The file as last written: an update that changes no figure writes nothing.
#[derive(Debug)]
struct Textfile {
    path: PathBuf,
    /// The text on disk, `None` before the first write and after a failed one.
    written: Option<String>,
    /// A write failed and was logged; logged again only after one succeeds.
    failing: bool,
}

impl Textfile {
    fn new(path: PathBuf) -> Textfile {
        Textfile {
            path,
            written: None,
            failing: false,
        }
    }

    /// Writes `text` unless the file already holds it.
    async fn show(&mut self, text: String) {
        if self.written.as_ref() == Some(&text) {
            return;
        }
        let (path, bytes) = (self.path.clone(), text.clone());
        let written = tokio::task::spawn_blocking(move || {
            fsutil::replace_unsynced(&path, bytes.as_bytes(), FILE_MODE)
        })
        .await;
        match written {
            Ok(Ok(())) => {
                self.written = Some(text);
                if self.failing {
                    self.failing = false;
                    log::info!("metrics.textfile: written again");
                }
            }
            Ok(Err(e)) => {
                self.written = None;
                if !self.failing {
                    self.failing = true;
                    log::error!("metrics.textfile: {e}");
                }
            }
            Err(_) => self.written = None,
        }
    }

    /// At a stop: the figures of a daemon that is gone are not shown.
    fn remove(&self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!(
                "metrics.textfile: cannot remove {}: {e}",
                self.path.display()
            );
        }
    }
}

/// The task that keeps the file: written at start and whenever a figure
/// changes (a failed write is tried again a minute later), removed at the stop.
pub async fn run(path: PathBuf, mut updates: Updates, counters: Arc<Counters>, shutdown: Shutdown) {
    let mut figures = Figures::default();
    let mut file = Textfile::new(path);
    file.show(figures.render(&counters)).await;
    loop {
        let retry = async {
            if file.failing {
                tokio::time::sleep(RETRY).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = shutdown.wait() => break,
            update = updates.next() => match update {
                Some(Update::Status(s)) => figures.status(&s),
                Some(Update::Event(e)) => figures.event(&e),
                None => break,
            },
            () = retry => {}
        }
        file.show(figures.render(&counters)).await;
    }
    file.remove();
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

    /// Which version of the file is on disk: a replacement is a new inode
    /// written at a new instant.
    fn version(path: &std::path::Path) -> Option<(u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some((m.ino(), m.mtime(), m.mtime_nsec()))
    }

    /// Waits (in real time: the writes run on blocking threads) until the file holds `want`.
    async fn until_it_shows(path: &std::path::Path, want: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(path).is_ok_and(|t| t.contains(want)) {
            assert!(
                std::time::Instant::now() < deadline,
                "{want} never in {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(5));
            tokio::task::yield_now().await;
        }
    }

    /// Lets the task take whatever was sent (in real time, for its blocking writes).
    async fn settle() {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(5));
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn written_only_when_a_figure_changes_never_while_idle_and_removed_at_the_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enrolld.prom");
        let mut feed = super::super::Feed::default();
        let updates = feed.updates();
        let (stopper, shutdown) = crate::shutdown::channel();
        let task = tokio::spawn(run(path.clone(), updates, feed.counters.clone(), shutdown));
        let mut status = Status::starting("t1", 1);
        status.counters.insert("registered".into(), 1);
        feed.status(&status);
        until_it_shows(&path, "enrolld_enrollments_total{outcome=\"registered\"} 1").await;
        let first = version(&path);

        // A state change moves no figure: nothing written.
        status.state = "capturing".into();
        feed.status(&status);
        settle().await;
        // Ten idle minutes (the paused clock runs ahead): nothing written either.
        tokio::time::sleep(Duration::from_secs(600)).await;
        settle().await;
        assert_eq!(version(&path), first, "rewritten though no figure changed");

        // A figure that changes is written.
        status.counters.insert("registered".into(), 2);
        feed.status(&status);
        until_it_shows(&path, "enrolld_enrollments_total{outcome=\"registered\"} 2").await;
        assert_ne!(version(&path), first);

        stopper.stop();
        task.await.unwrap();
        assert!(
            !path.exists(),
            "the stopped daemon's figures were left behind"
        );
    }
}
