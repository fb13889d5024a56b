//! The durable enrollment records: one file per enrollment, from the press
//! that binds a name to a capture until its fate is known, and the offline
//! queue of those that wait to be delivered.
//!
//! # One record, explicit states
//! An enrollment is one file whose name says its state (`<seq>` is the
//! 20-digit sequence number, also the `{seq}` of username templates, never
//! reused on this terminal):
//!
//! ```text
//! <seq>.bound    a name (ticket or template) bound to a capture in progress;
//!                no image yet. Found at start: nothing was sent, so the
//!                ticket goes back to the front and the record is deleted.
//! <seq>.sending  the capture, about to be or being sent. Made durable
//!                BEFORE the first byte of the request is written. Found at
//!                start: the request may have reached IDMeta, so it becomes an
//!                unknown delivery (never re-sent by itself).
//! <seq>.entry    queued: known not to be registered, waiting to be sent.
//! unknown/<seq>.json + unknown/<seq>.entry
//!                an unknown delivery: may or may not be registered. Kept
//!                (image included) for an operator to resend or drop, until
//!                `max_age_secs`.
//! review/<seq>.entry
//!                registered, and flagged for review (v3's watchlist screening
//!                matched): the record's header with IDMeta's answer, no image.
//!                Kept for the operator (`enrolld queue list --json`) until
//!                dropped or `max_age_secs`. Written before `.sending` goes.
//! ```
//!
//! Every state change is one atomic file operation (write-then-rename, or a
//! rename), fsynced with its directory, so a power cut or a kill -9 leaves
//! each enrollment in exactly one state. A `.bound` record holds the ticket
//! it consumed, so the ticket can go back to the front when nothing was
//! registered (see [`crate::store`], which keeps tickets and records in step).
//!
//! # Promises
//! - **Nothing accepted is lost.** A record is on disk before the terminal
//!   says "queued" or sends a byte; a full queue or disk is an error the
//!   caller shows, never a silent drop.
//! - **Nothing is sent twice, and never under another name.** A record that
//!   may have been sent is never sent again automatically; its name stays
//!   bound to its own capture.
//! - **Nothing half-written or tampered with is sent.** Records are sealed
//!   with XChaCha20-Poly1305 ([`entry`], key from [`key`]); a record that fails
//!   its checks is moved to `corrupt/`.
//! - **Biometric data is not kept longer than configured.** Queued entries
//!   and unknown deliveries older than `max_age_secs` are deleted; delivered
//!   or refused ones at once.
//! - **One owner.** The process that opens the directory holds an exclusive
//!   lock on it (`lock.rs`) until it exits: the daemon, or `enrolld queue`
//!   working on the files while the daemon is stopped.
//!
//! Files are 0600, directories 0700.

pub mod backoff;
pub mod clock;
pub mod entry;
mod files;
pub mod key;
mod lifecycle;
mod lock;
mod open;
mod operator;
mod upkeep;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fsutil::FsError;
use crate::invalid::Invalid;
use crate::tickets::Ticket;
pub use clock::Now;
pub use entry::Created;
pub use key::{KeyError, KeySource, QueueKey};
pub use lifecycle::{Binding, Destination, SentFate};
pub use operator::{Listed, ListedState};

/// `[queue]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Where records live (created 0700).
    pub dir: PathBuf,
    /// At most this many queued entries; a further enrollment fails visibly.
    pub max_entries: usize,
    /// At most this many bytes of queued entries (JPEGs plus small headers).
    pub max_bytes: u64,
    /// Queued entries and unknown deliveries older than this are deleted
    /// (biometric data is not kept longer than needed).
    pub max_age_secs: u64,
    /// First retry delay after a failed delivery; doubles up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// While deliveries are paused (IDMeta refused the token or the URL),
    /// one queued entry is tried this often to see whether it was fixed.
    pub paused_probe_secs: u64,
    /// The 32-byte key sealing records, if not from the systemd credential
    /// `queue-key`; must not be readable by group or others. Neither given:
    /// `<dir>/queue.key` is generated at first start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            dir: PathBuf::from("/var/lib/enrolld/queue"),
            max_entries: 200,
            max_bytes: 100 * 1024 * 1024,
            max_age_secs: 86_400,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            paused_probe_secs: 600,
            key_file: None,
        }
    }
}

impl QueueConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.dir.is_absolute() {
            return Err(Invalid::new("dir", "must be an absolute path"));
        }
        if self.key_file.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(Invalid::new("key_file", "must be an absolute path"));
        }
        if self.max_entries == 0 {
            return Err(Invalid::new("max_entries", "must be at least 1"));
        }
        if self.max_bytes < 1024 * 1024 {
            return Err(Invalid::new(
                "max_bytes",
                "must be at least 1048576 (one JPEG must fit)",
            ));
        }
        if !(60..=7 * 86_400).contains(&self.max_age_secs) {
            return Err(Invalid::new(
                "max_age_secs",
                "must be between 60 and 604800 (7 days)",
            ));
        }
        if !(100..=3_600_000).contains(&self.backoff_base_ms) {
            return Err(Invalid::new(
                "backoff_base_ms",
                "must be between 100 and 3600000",
            ));
        }
        if self.backoff_max_ms < self.backoff_base_ms || self.backoff_max_ms > 3_600_000 {
            return Err(Invalid::new(
                "backoff_max_ms",
                "must be at least backoff_base_ms and at most 3600000",
            ));
        }
        if !(1..=86_400).contains(&self.paused_probe_secs) {
            return Err(Invalid::new(
                "paused_probe_secs",
                "must be between 1 and 86400",
            ));
        }
        Ok(())
    }

    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age_secs)
    }
}

/// A record's sequence number: its order of arrival and its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub u64);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue entry #{}", self.0)
    }
}

/// An enrollment to store directly in the queue (tools and tests; the
/// daemon's live path goes through [`Queue::bind`]). `Debug` shows the
/// JPEG's size, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub username: String,
    /// None: a verification is created when it is finally sent.
    pub verification_id: Option<String>,
    pub jpeg: Vec<u8>,
}

/// A stored enrollment, read back for sending.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: EntryId,
    pub username: String,
    pub verification_id: Option<String>,
    pub created: Created,
    pub jpeg: Vec<u8>,
    /// Sent again by an operator after an unknown delivery.
    pub resent: bool,
}

fn debug_entry(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    username: &str,
    verification_id: &Option<String>,
    jpeg: &[u8],
) -> fmt::Result {
    f.debug_struct(name)
        .field("username", &username)
        .field("verification_id", verification_id)
        .field("jpeg_bytes", &jpeg.len())
        .finish_non_exhaustive()
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_entry(
            f,
            "NewEntry",
            &self.username,
            &self.verification_id,
            &self.jpeg,
        )
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_entry(
            f,
            "Entry",
            &self.username,
            &self.verification_id,
            &self.jpeg,
        )
    }
}

/// Why the queue refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error(
        "offline queue full ({entries} entries, {bytes} bytes; limits {max_entries} entries, \
         {max_bytes} bytes): enrollment not stored"
    )]
    Full {
        entries: usize,
        bytes: u64,
        max_entries: usize,
        max_bytes: u64,
    },
    #[error(transparent)]
    Storage(#[from] FsError),
    #[error("{0} does not exist or is not in a state that allows this")]
    NoSuchEntry(EntryId),
    /// The entry's file is damaged; it was moved to `corrupt/` and will not
    /// be sent. `username`: whom it was for, when that is still known.
    #[error(
        "{path}: damaged ({reason}); moved aside, not sent{who}",
        path = path.display(),
        who = username.as_deref().map(|u| format!(" (the enrollment of {u})")).unwrap_or_default()
    )]
    Corrupt {
        path: PathBuf,
        reason: String,
        username: Option<String>,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Username and ids too long to store (they are bounded well below this
    /// by the ticket rules; a username template could still overshoot).
    #[error(
        "enrollment not stored: its username and ids take {bytes} bytes, the queue stores at most \
         {max}",
        max = entry::MAX_HEADER
    )]
    HeaderTooLarge { bytes: usize },
    /// Another process holds the queue directory.
    #[error(
        "{dir}: another process holds the queue (a running enrolld); use its control socket, \
         or stop it first",
        dir = dir.display()
    )]
    Locked { dir: PathBuf },
    /// An unknown delivery recorded before images were kept with it.
    #[error("{0} has no image on record (recorded by an older enrolld): it can only be dropped")]
    NoImage(EntryId),
}

/// A damaged file found in the queue and moved to `corrupt/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptFile {
    /// Where it is now.
    pub moved_to: PathBuf,
    pub reason: String,
    /// Whom it was for, when its header still authenticates.
    pub username: Option<String>,
}

/// An enrollment that may or may not have reached IDMeta: recorded, never
/// re-sent unless an operator says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownDelivery {
    pub schema: u32,
    pub seq: u64,
    pub username: String,
    pub verification_id: Option<String>,
    pub created_unix: u64,
    pub detected_unix: u64,
    /// `interrupted` (found in flight at start), `stopped` (still in flight
    /// when the daemon stopped), `deadline` or the client's outcome code.
    pub reason: String,
}

/// A record deleted because it was too old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: EntryId,
    pub username: String,
    pub verification_id: Option<String>,
    pub age: Duration,
    pub was: Expiring,
}

/// What an expired record was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiring {
    /// Queued: deleted unsent.
    Queued,
    /// An unknown delivery: deleted, image and all.
    Unknown,
    /// A registration's review record: registered long ago, its answer deleted.
    Review,
}

/// A name bound to a capture that never got stored: found at open, its
/// ticket (if any) must go back to the front before the record is deleted
/// ([`Queue::forget_released`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub id: EntryId,
    pub username: String,
    pub ticket: Option<Ticket>,
}

/// What [`Queue::open`] found and repaired; the daemon logs each item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub corrupt: Vec<CorruptFile>,
    /// Records found in flight: the process died while sending them.
    pub unknown: Vec<UnknownDelivery>,
    /// Records found bound to a capture that was never stored.
    pub released: Vec<Released>,
    /// Temporary files of interrupted writes, removed.
    pub leftovers_removed: usize,
}

/// Where a deliverable record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `<seq>.entry`: waiting in the queue.
    Queued,
    /// `<seq>.sending`: being sent (by the live path or the delivery worker).
    Sending { live: bool },
}

/// What the index keeps of a record (the JPEG stays on disk).
#[derive(Debug, Clone)]
struct Meta {
    place: Place,
    created: Created,
    username: String,
    verification_id: Option<String>,
    ticket: Option<Ticket>,
    file_bytes: u64,
    /// Not to be sent before this (a Retry-After).
    not_before: Option<Instant>,
    /// The last answer's code, for `enrolld queue list` (not kept across restarts).
    last_answer: Option<String>,
    attempts: u32,
}

/// What the index keeps of an unknown delivery.
#[derive(Debug, Clone)]
struct UnknownMeta {
    record: UnknownDelivery,
    created: Created,
    image_bytes: Option<u64>,
}

/// What the index keeps of a review record (the answer is small, and an operator lists it).
#[derive(Debug, Clone)]
struct ReviewMeta {
    username: String,
    verification_id: Option<String>,
    created: Created,
    answer: serde_json::Value,
}

/// The records directory and its in-memory index.
#[derive(Debug)]
pub struct Queue {
    config: QueueConfig,
    key: QueueKey,
    key_source: Option<KeySource>,
    /// Queued and sending records.
    index: BTreeMap<u64, Meta>,
    /// `.bound` records: name and ticket.
    bound: BTreeMap<u64, (String, Option<Ticket>, Option<String>, Created)>,
    unknown: BTreeMap<u64, UnknownMeta>,
    /// Registrations flagged for review (`review/`).
    review: BTreeMap<u64, ReviewMeta>,
    /// Bytes of queued records (limits apply to these).
    bytes: u64,
    next_seq: u64,
    /// Sequence numbers up to this one are reserved on disk (`sequence`).
    reserved: u64,
    opened: Instant,
    report: OpenReport,
    _lock: lock::DirLock,
}

const ENTRY: &str = "entry";
const SENDING: &str = "sending";
const BOUND: &str = "bound";
const REVIEW_DIR: &str = "review";
const UNKNOWN_SCHEMA: u32 = 1;

impl Queue {
    /// Where the key came from ([`Queue::open`] only), for the start-up log.
    pub fn key_source(&self) -> Option<&KeySource> {
        self.key_source.as_ref()
    }

    /// What opening found and repaired.
    pub fn report(&self) -> &OpenReport {
        &self.report
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Entries waiting to be delivered (those being delivered by the queue
    /// included; a live enrollment being sent is not queued).
    pub fn depth(&self) -> usize {
        self.index
            .values()
            .filter(|m| m.place != Place::Sending { live: true })
            .count()
    }

    /// Bytes used by queued entries.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Unknown deliveries on record.
    pub fn unknown_count(&self) -> usize {
        self.unknown.len()
    }

    /// Registrations flagged for review, on record for the operator.
    pub fn review_count(&self) -> usize {
        self.review.len()
    }

    /// Age of the oldest queued entry.
    pub fn oldest_age(&self, now: &Now) -> Option<Duration> {
        self.index
            .values()
            .filter(|m| m.place != Place::Sending { live: true })
            .map(|m| now.age_of(&m.created, self.opened))
            .max()
    }

    fn path(&self, seq: u64, kind: &str) -> PathBuf {
        files::record_path(&self.config.dir, seq, kind)
    }

    fn unknown_json(&self, seq: u64) -> PathBuf {
        files::record_path(&self.config.dir.join("unknown"), seq, "json")
    }

    fn unknown_image(&self, seq: u64) -> PathBuf {
        files::record_path(&self.config.dir.join("unknown"), seq, ENTRY)
    }

    fn review_path(&self, seq: u64) -> PathBuf {
        files::record_path(&self.config.dir.join(REVIEW_DIR), seq, ENTRY)
    }

    fn dir(&self) -> &Path {
        &self.config.dir
    }
}

#[cfg(test)]
mod tests;
