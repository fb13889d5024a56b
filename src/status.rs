//! The status file: what the terminal is doing and how it has fared, as one
//! small JSON document (schema in README.md) that
//! monitoring, a kiosk screen or a person with `cat` can read.
//!
//! It is replaced atomically (never half-written) and only when its content
//! changed, so an SD card is not worn by identical rewrites.
//!
//! It never holds the token or image data: no field of these types can hold
//! bytes, and as a second guard every string is cut to
//! [`MAX_STRING_CHARS`] when written, far too short for an encoded face.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};
use crate::invalid::Invalid;

/// Version of the document's shape; bumped on incompatible changes.
pub const SCHEMA: u32 = 1;
/// Longest string written (characters); longer ones end with "…".
pub const MAX_STRING_CHARS: usize = 256;
/// Readable by the service's group (monitoring), not by everyone: it names people.
pub const FILE_MODE: u32 = 0o640;

/// `[status]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// Where the status file is written (its directory is created if missing).
    pub path: PathBuf,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            path: PathBuf::from("/run/enrolld/status.json"),
        }
    }
}

impl StatusConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.path.is_absolute() || self.path.file_name().is_none() {
            return Err(Invalid::new("path", "must be an absolute file path"));
        }
        Ok(())
    }
}

/// The whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub schema: u32,
    /// enrolld's version.
    pub version: String,
    pub terminal_id: String,
    /// State name, see [`crate::machine::State::name`].
    pub state: String,
    /// When the state was entered (RFC 3339 UTC, from the wall clock).
    pub state_since: String,
    /// False while the wall clock is before the build date (no RTC, no NTP yet).
    pub clock_plausible: bool,
    pub last_outcome: Option<LastOutcome>,
    /// Enrollments per outcome code since start (`registered`, `not_sent`, ...),
    /// plus `queued`, `expired`, `refused_press`.
    pub counters: BTreeMap<String, u64>,
    pub tickets_pending: usize,
    pub queue: QueueStatus,
    pub camera: Health,
    pub gpio: Health,
    /// The MQTT connection, when `[mqtt]` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttHealth>,
    /// The face check, when `face.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face: Option<FaceStatus>,
    /// The person's screen, when `display.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<DisplayStatus>,
}

/// The person's screen at a glance (docs/operations.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayStatus {
    /// A screen is being shown on.
    pub ok: bool,
    /// Which (`/dev/dri/card0 HDMI-A-1 800x480@60`).
    pub device: Option<String>,
    /// Blanked after idle.
    pub asleep: bool,
    /// Why there is no screen and what to do, while there is none.
    pub detail: Option<String>,
}

/// The face check at a glance (docs/operations.md): why presses sent nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceStatus {
    /// Frames checked since start.
    pub frames_checked: u64,
    /// Presses (and presence wakes) that ended with no passing frame, by the reason reported
    /// (`no_face`, `off_centre`, ...).
    pub refused: BTreeMap<String, u64>,
    /// The reason the latest such press reported, and when (RFC 3339 UTC).
    pub last_reason: Option<String>,
    pub last_reason_at: Option<String>,
}

/// The MQTT connection at a glance (docs/fleet.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttHealth {
    pub connected: bool,
    /// What is wrong, in words: why it is not connected, or what is wrong with the
    /// connection (a refused topic, a dropped message, a client id taken by another client).
    pub detail: Option<String>,
    /// Connection attempts since start (the first included).
    pub connect_attempts: u64,
    /// Enrollment events not sent because the broker could not keep up.
    pub dropped: u64,
}

/// The latest enrollment's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastOutcome {
    /// Outcome code (`registered`, `retake`, ...) or `queued`.
    pub code: String,
    /// Human message (the server's, or ours).
    pub message: String,
    pub face_id: Option<String>,
    pub username: String,
    pub verification_id: Option<String>,
    /// When it ended (RFC 3339 UTC).
    pub at: String,
    /// Milliseconds per stage: `capture`, `encode`, `register`, `total`, ...
    pub stages_ms: BTreeMap<String, u64>,
}

/// The offline queue at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStatus {
    pub depth: usize,
    pub bytes: u64,
    /// Age of the oldest entry when the file was written.
    pub oldest_age_secs: Option<u64>,
    /// Enrollments that may or may not have reached IDMeta, on record for
    /// an operator (`enrolld queue list`).
    pub unknown_deliveries: usize,
    /// Registrations IDMeta's watchlist screening flagged (v3), on record for the operator
    /// (`enrolld queue list`) until dropped or `queue.max_age_secs`.
    #[serde(default)]
    pub review: usize,
    /// IDMeta refused the token or the URL: deliveries wait (every entry
    /// kept) until the configuration is fixed and reloaded.
    #[serde(default)]
    pub paused: bool,
}

impl QueueStatus {
    /// The figures of a store snapshot.
    pub fn of(snapshot: &crate::store::Snapshot, paused: bool) -> QueueStatus {
        QueueStatus {
            depth: snapshot.depth,
            bytes: snapshot.bytes,
            oldest_age_secs: snapshot.oldest_age_secs,
            unknown_deliveries: snapshot.unknown_deliveries,
            review: snapshot.review,
            paused,
        }
    }
}

/// A driver's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    /// What is wrong, when not ok.
    pub detail: Option<String>,
}

impl Health {
    pub fn ok() -> Health {
        Health {
            ok: true,
            detail: None,
        }
    }

    pub fn broken(detail: impl Into<String>) -> Health {
        Health {
            ok: false,
            detail: Some(detail.into()),
        }
    }
}

impl Status {
    /// A fresh document for a terminal that is starting.
    pub fn starting(terminal_id: &str, now_unix: u64) -> Status {
        Status {
            schema: SCHEMA,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            terminal_id: terminal_id.to_owned(),
            state: "starting".to_owned(),
            state_since: crate::time::rfc3339(now_unix),
            clock_plausible: crate::time::wall_clock_plausible(now_unix),
            last_outcome: None,
            counters: BTreeMap::new(),
            tickets_pending: 0,
            queue: QueueStatus::default(),
            camera: Health::ok(),
            gpio: Health::ok(),
            mqtt: None,
            face: None,
            display: None,
        }
    }

    /// Adds one to the counter `code`.
    pub fn count(&mut self, code: &str) {
        *self.counters.entry(code.to_owned()).or_insert(0) += 1;
    }

    /// Sets the state and its start time.
    pub fn set_state(&mut self, state: &str, now_unix: u64) {
        if self.state != state {
            self.state = state.to_owned();
            self.state_since = crate::time::rfc3339(now_unix);
        }
        self.clock_plausible = crate::time::wall_clock_plausible(now_unix);
    }
}

/// Why the status file could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status file: {0}")]
pub struct StatusError(#[from] pub FsError);

/// Writes the status file when its content changed.
#[derive(Debug)]
pub struct StatusWriter {
    path: PathBuf,
    last: Option<Vec<u8>>,
}

impl StatusWriter {
    pub fn new(config: &StatusConfig) -> StatusWriter {
        StatusWriter {
            path: config.path.clone(),
            last: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// At start: the directory exists (created if needed) and takes new
    /// files, so the first write cannot be the first to find out.
    pub fn check(&self) -> Result<(), StatusError> {
        if let Some(dir) = self.path.parent() {
            fsutil::ensure_dir(dir, 0o755)?;
        }
        fsutil::check_can_write(&self.path)?;
        Ok(())
    }

    /// Writes `status` unless it equals what was last written; returns
    /// whether the file was written.
    pub fn write(&mut self, status: &Status) -> Result<bool, StatusError> {
        let bytes = render(status);
        if self.last.as_ref() == Some(&bytes) {
            return Ok(false);
        }
        if let Some(dir) = self.path.parent() {
            fsutil::ensure_dir(dir, 0o755)?;
        }
        fsutil::write_atomic(&self.path, &bytes, FILE_MODE)?;
        self.last = Some(bytes);
        Ok(true)
    }
}

/// A [`StatusWriter`] on a thread of its own, for the daemon's loop, which
/// must never wait on a disk: it hands over the latest document and goes
/// on; the thread writes only the newest of those waiting.
pub struct BackgroundWriter {
    queue: std::sync::mpsc::Sender<(Status, Option<std::sync::mpsc::Sender<()>>)>,
    last: Option<Status>,
}

impl BackgroundWriter {
    pub fn spawn(config: &StatusConfig) -> BackgroundWriter {
        let (queue, inbox) =
            std::sync::mpsc::channel::<(Status, Option<std::sync::mpsc::Sender<()>>)>();
        let mut writer = StatusWriter::new(config);
        std::thread::Builder::new()
            .name("enrolld-status".into())
            .spawn(move || {
                while let Ok(mut item) = inbox.recv() {
                    // Only the newest document matters; acks are kept.
                    let mut acks: Vec<_> = item.1.take().into_iter().collect();
                    while let Ok(mut newer) = inbox.try_recv() {
                        acks.extend(newer.1.take());
                        item = newer;
                    }
                    if let Err(e) = writer.write(&item.0) {
                        log::error!("{e}");
                    }
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
            })
            .expect("spawn the status thread");
        BackgroundWriter { queue, last: None }
    }

    /// Hands `status` over unless it equals the last one; returns whether it
    /// differed.
    pub fn submit(&mut self, status: &Status) -> bool {
        if self.last.as_ref() == Some(status) {
            return false;
        }
        self.last = Some(status.clone());
        let _ = self.queue.send((status.clone(), None));
        true
    }

    /// Hands `status` over and waits until it is on disk (the last write
    /// before the process exits). Blocking.
    pub fn flush(&mut self, status: &Status) {
        let (ack, done) = std::sync::mpsc::channel();
        self.last = Some(status.clone());
        if self.queue.send((status.clone(), Some(ack))).is_ok() {
            let _ = done.recv();
        }
    }
}

/// The JSON text of `status`, every string cut to [`MAX_STRING_CHARS`].
pub fn render(status: &Status) -> Vec<u8> {
    let mut value = serde_json::to_value(status).expect("status serializes");
    clip_strings(&mut value);
    let mut bytes = serde_json::to_vec_pretty(&value).expect("value serializes");
    bytes.push(b'\n');
    bytes
}

fn clip_strings(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if s.chars().count() > MAX_STRING_CHARS {
                let cut: String = s.chars().take(MAX_STRING_CHARS - 1).collect();
                *s = cut + "…";
            }
            // Control characters would make the file awkward to read.
            if s.chars().any(char::is_control) {
                *s = s.chars().filter(|c| !c.is_control()).collect();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clip_strings),
        Value::Object(map) => map.values_mut().for_each(clip_strings),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn sample() -> Status {
        let mut s = Status::starting("lobby-1", 1_753_866_900);
        s.set_state("registered", 1_753_866_905);
        s.count("registered");
        s.count("registered");
        s.last_outcome = Some(LastOutcome {
            code: "registered".into(),
            message: "Biometrics registration successful.".into(),
            face_id: Some("face_abc123xyz".into()),
            username: "Ann Lee".into(),
            verification_id: Some("3f1c".into()),
            at: crate::time::rfc3339(1_753_866_905),
            stages_ms: [("capture".to_owned(), 180), ("register".to_owned(), 950)].into(),
        });
        s.camera = Health::broken("VIDIOC_DQBUF timed out\u{7}");
        s
    }

    #[test]
    fn document_shape_matches_the_schema() {
        let v: serde_json::Value = serde_json::from_slice(&render(&sample())).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["state"], "registered");
        assert_eq!(v["state_since"], "2025-07-30T09:15:05Z");
        assert_eq!(v["counters"]["registered"], 2);
        assert_eq!(v["last_outcome"]["face_id"], "face_abc123xyz");
        assert_eq!(v["last_outcome"]["stages_ms"]["register"], 950);
        assert_eq!(v["queue"]["oldest_age_secs"], serde_json::Value::Null);
        assert_eq!(v["camera"]["ok"], false);
        assert_eq!(v["camera"]["detail"], "VIDIOC_DQBUF timed out");
        // The documented keys, no more, no fewer (README.md).
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "camera",
                "clock_plausible",
                "counters",
                "gpio",
                "last_outcome",
                "queue",
                "schema",
                "state",
                "state_since",
                "terminal_id",
                "tickets_pending",
                "version"
            ]
        );
    }

    #[test]
    fn long_strings_cannot_carry_an_image() {
        let mut s = sample();
        let base64_face = format!("data:image/jpeg;base64,{}", "A".repeat(50_000));
        s.last_outcome.as_mut().unwrap().message = base64_face;
        let text = String::from_utf8(render(&s)).unwrap();
        assert!(text.len() < 4_000, "{} bytes", text.len());
        assert!(!text.contains(&"A".repeat(MAX_STRING_CHARS)));
    }

    #[test]
    fn writes_atomically_and_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StatusConfig {
            path: dir.path().join("run/status.json"),
        };
        let mut w = StatusWriter::new(&cfg);
        let mut s = sample();
        assert!(w.write(&s).unwrap());
        let ino = std::fs::metadata(w.path()).unwrap().ino();
        assert_eq!(std::fs::metadata(w.path()).unwrap().mode() & 0o777, 0o640);
        assert!(!w.write(&s).unwrap());
        assert_eq!(std::fs::metadata(w.path()).unwrap().ino(), ino);
        s.tickets_pending = 3;
        assert!(w.write(&s).unwrap());
        let back: Status = serde_json::from_slice(&std::fs::read(w.path()).unwrap()).unwrap();
        assert_eq!(back.tickets_pending, 3);
    }

    #[test]
    fn queue_figures_come_from_the_store_snapshot() {
        let snapshot = crate::store::Snapshot {
            depth: 2,
            bytes: 300,
            oldest_age_secs: Some(9),
            unknown_deliveries: 1,
            review: 5,
            tickets_pending: 4,
        };
        let s = QueueStatus::of(&snapshot, true);
        assert_eq!(
            (
                s.depth,
                s.bytes,
                s.oldest_age_secs,
                s.unknown_deliveries,
                s.review,
                s.paused
            ),
            (2, 300, Some(9), 1, 5, true)
        );
    }

    #[test]
    fn config_must_be_an_absolute_file() {
        StatusConfig::default().validate().unwrap();
        let bad = StatusConfig {
            path: "status.json".into(),
        };
        assert_eq!(bad.validate().unwrap_err().key, "path");
    }
}
