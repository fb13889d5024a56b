//! The durable offline queue: enrollments that could not be sent yet (the
//! network is down, the server is overloaded, the wall clock is not plausible
//! yet) wait here, on disk, to be delivered in order.
//!
//! # Promises
//! - **Nothing accepted is lost.** [`Queue::push`] returns only after the
//!   entry is on disk (atomic write, fsync, directory fsync); a full queue or
//!   a full disk is an error the caller shows, never a silent drop.
//! - **Nothing is sent twice.** Before an entry is sent it is marked
//!   in-flight by a durable rename `N.entry` → `N.sending`. An in-flight
//!   entry found when the queue is opened may have reached the server (the
//!   process died mid-request), and IDMeta registration is not idempotent, so
//!   it is never sent again: it becomes an *unknown delivery*, recorded in
//!   `unknown/N.json` (verification id, username, times) for follow-up.
//! - **Nothing half-written or tampered with is sent.** Every entry is
//!   sealed with XChaCha20-Poly1305 ([`entry`], key from [`key`]); one that
//!   fails its length or authentication checks is moved to `corrupt/` and
//!   reported.
//! - **A pulled SD card does not give away faces** when the key lives
//!   elsewhere (a systemd credential): see [`key`].
//! - **Biometric data is not kept longer than needed.** Entries older than
//!   `max_age_secs` are deleted unsent ([`Queue::expire`]); delivered or
//!   definitely refused entries are deleted at once.
//!
//! Files are 0600, directories 0700.

pub mod backoff;
pub mod clock;
pub mod delivery;
pub mod entry;
pub mod key;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError, PRIVATE_DIR, PRIVATE_FILE};
use crate::invalid::Invalid;
pub use clock::Now;
pub use entry::Created;
pub use key::{KeyError, KeySource, QueueKey};

/// `[queue]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Where entries live (created 0700).
    pub dir: PathBuf,
    /// At most this many entries; a further enrollment fails visibly.
    pub max_entries: usize,
    /// At most this many bytes of entries (JPEGs plus small headers).
    pub max_bytes: u64,
    /// Entries older than this are deleted unsent (biometric data is not kept longer than needed).
    pub max_age_secs: u64,
    /// First retry delay after a failed delivery; doubles up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// The 32-byte key sealing entries, if not from the systemd credential
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
        Ok(())
    }

    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age_secs)
    }
}

/// An entry's sequence number: its order of arrival and its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub u64);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue entry #{}", self.0)
    }
}

/// An enrollment to store. `Debug` shows the JPEG's size, never its bytes.
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
    #[error("{0} does not exist or is in flight")]
    NoSuchEntry(EntryId),
    /// The entry's file is damaged; it was moved to `corrupt/` and will not be sent.
    #[error("{path}: damaged ({reason}); moved aside, not sent", path = path.display())]
    Corrupt { path: PathBuf, reason: String },
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
}

/// A damaged file found in the queue and moved to `corrupt/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptFile {
    /// Where it is now.
    pub moved_to: PathBuf,
    pub reason: String,
}

/// An enrollment that may or may not have reached IDMeta: recorded, never re-sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownDelivery {
    pub schema: u32,
    pub seq: u64,
    pub username: String,
    pub verification_id: Option<String>,
    pub created_unix: u64,
    pub detected_unix: u64,
    /// `interrupted` (found in flight at start) or the client's outcome code.
    pub reason: String,
}

/// An entry deleted unsent because it was too old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: EntryId,
    pub verification_id: Option<String>,
    pub age: Duration,
}

/// What [`Queue::open`] found and repaired; the daemon logs each item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub corrupt: Vec<CorruptFile>,
    /// Entries found in flight: the process died while sending them.
    pub unknown: Vec<UnknownDelivery>,
    /// Temporary files of interrupted writes, removed.
    pub leftovers_removed: usize,
}

/// What the index keeps of an entry (the JPEG stays on disk).
#[derive(Debug, Clone)]
struct Meta {
    created: Created,
    verification_id: Option<String>,
    file_bytes: u64,
    in_flight: bool,
}

/// The queue directory and its in-memory index.
#[derive(Debug)]
pub struct Queue {
    config: QueueConfig,
    key: QueueKey,
    key_source: Option<KeySource>,
    index: BTreeMap<u64, Meta>,
    bytes: u64,
    next_seq: u64,
    opened: Instant,
    unknown_count: usize,
    report: OpenReport,
}

const ENTRY: &str = "entry";
const SENDING: &str = "sending";
const UNKNOWN_SCHEMA: u32 = 1;

impl Queue {
    /// Opens (creating if needed) the queue directory, repairing what a crash
    /// left: temporary files are removed, damaged entries moved to
    /// `corrupt/`, in-flight entries turned into unknown deliveries. See
    /// [`Queue::report`].
    ///
    /// The key comes from [`QueueKey::load`] (credential, key file, or one
    /// generated in the queue directory); see [`Queue::key_source`].
    pub fn open(config: &QueueConfig) -> Result<Queue, QueueError> {
        fsutil::ensure_private_dir(&config.dir, PRIVATE_DIR)?;
        let (key, source) = QueueKey::load(config)?;
        let mut q = Queue::open_with_key(config, key)?;
        q.key_source = Some(source);
        Ok(q)
    }

    /// [`Queue::open`] with a key in hand (tests, tools).
    pub fn open_with_key(config: &QueueConfig, key: QueueKey) -> Result<Queue, QueueError> {
        let dir = &config.dir;
        fsutil::ensure_private_dir(dir, PRIVATE_DIR)?;
        fsutil::ensure_private_dir(&dir.join("corrupt"), PRIVATE_DIR)?;
        fsutil::ensure_private_dir(&dir.join("unknown"), PRIVATE_DIR)?;
        let mut q = Queue {
            config: config.clone(),
            key,
            key_source: None,
            index: BTreeMap::new(),
            bytes: 0,
            next_seq: 1,
            opened: Instant::now(),
            unknown_count: 0,
            report: OpenReport::default(),
        };
        let mut entries = Vec::new();
        let mut sending = Vec::new();
        for name in list(dir)? {
            let path = dir.join(&name);
            if name.starts_with(fsutil::TEMP_PREFIX) {
                fsutil::remove_durable(&path)?;
                q.report.leftovers_removed += 1;
                continue;
            }
            if name == key::GENERATED_KEY_FILE {
                continue;
            }
            match parse_name(&name) {
                Some((seq, ENTRY)) => entries.push(seq),
                Some((seq, SENDING)) => sending.push(seq),
                _ if path.is_dir() => {}
                _ => drop(q.move_aside(&path, "not a queue file")?),
            }
        }
        for name in list(&dir.join("unknown"))? {
            if name.starts_with(fsutil::TEMP_PREFIX) {
                fsutil::remove_durable(&dir.join("unknown").join(&name))?;
                q.report.leftovers_removed += 1;
            } else if let Some((seq, _)) = parse_name(&name) {
                q.next_seq = q.next_seq.max(seq + 1);
                q.unknown_count += 1;
            }
        }
        let now = Now::read();
        for seq in sending {
            q.next_seq = q.next_seq.max(seq + 1);
            if entries.contains(&seq) {
                // Both names: the delivery had a definite "retry" answer and
                // the un-marking rewrote the entry; only the marker remained.
                fsutil::remove_durable(&q.path(seq, SENDING))?;
                continue;
            }
            q.interrupted(seq, &now)?;
        }
        for seq in entries {
            q.next_seq = q.next_seq.max(seq + 1);
            let path = q.path(seq, ENTRY);
            match read_prefix(&path, &q.key) {
                Ok((decoded, file_bytes)) if decoded.header.seq == seq => {
                    q.bytes += file_bytes;
                    let meta = Meta {
                        created: decoded.header.created,
                        verification_id: decoded.header.verification_id,
                        file_bytes,
                        in_flight: false,
                    };
                    q.index.insert(seq, meta);
                }
                Ok(_) => drop(q.move_aside(&path, "sequence number differs from file name")?),
                Err(reason) => drop(q.move_aside(&path, &reason)?),
            }
        }
        Ok(q)
    }

    /// Where the key came from ([`Queue::open`] only), for the start-up log.
    pub fn key_source(&self) -> Option<&KeySource> {
        self.key_source.as_ref()
    }

    /// What opening found and repaired.
    pub fn report(&self) -> &OpenReport {
        &self.report
    }

    /// Number of entries waiting (in flight included).
    pub fn depth(&self) -> usize {
        self.index.len()
    }

    /// Bytes used by entries.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Unknown deliveries on record (files in `unknown/`).
    pub fn unknown_count(&self) -> usize {
        self.unknown_count
    }

    /// The next entry to send: the oldest one not in flight.
    pub fn oldest(&self) -> Option<EntryId> {
        self.index
            .iter()
            .find(|(_, m)| !m.in_flight)
            .map(|(&seq, _)| EntryId(seq))
    }

    /// Age of the oldest entry.
    pub fn oldest_age(&self, now: &Now) -> Option<Duration> {
        self.index
            .values()
            .map(|m| now.age_of(&m.created, self.opened))
            .max()
    }

    /// Stores an enrollment durably; `Full` or a storage error otherwise
    /// (e.g. "disk full"), in which case nothing was stored.
    pub fn push(&mut self, new: NewEntry, now: &Now) -> Result<EntryId, QueueError> {
        let header = entry::Header {
            seq: self.next_seq,
            username: new.username,
            verification_id: new.verification_id,
            created: now.created(),
        };
        let sealed = entry::seal_entry(&self.key, &header, &new.jpeg)
            .map_err(|bytes| QueueError::HeaderTooLarge { bytes })?;
        let file_bytes = sealed.file_len();
        if self.index.len() >= self.config.max_entries
            || self.bytes + file_bytes > self.config.max_bytes
        {
            return Err(QueueError::Full {
                entries: self.index.len(),
                bytes: self.bytes,
                max_entries: self.config.max_entries,
                max_bytes: self.config.max_bytes,
            });
        }
        let seq = self.next_seq;
        fsutil::write_atomic_parts(
            &self.path(seq, ENTRY),
            &[&sealed.prefix, &sealed.jpeg],
            PRIVATE_FILE,
        )?;
        self.next_seq += 1;
        self.bytes += file_bytes;
        self.index.insert(
            seq,
            Meta {
                created: header.created,
                verification_id: header.verification_id,
                file_bytes,
                in_flight: false,
            },
        );
        Ok(EntryId(seq))
    }

    /// Marks `id` in flight (durably) and reads it for sending. A damaged
    /// entry is moved aside and returned as [`QueueError::Corrupt`].
    pub fn begin(&mut self, id: EntryId) -> Result<Entry, QueueError> {
        let meta = self.index.get(&id.0).filter(|m| !m.in_flight);
        if meta.is_none() {
            return Err(QueueError::NoSuchEntry(id));
        }
        let path = self.path(id.0, ENTRY);
        let entry = match read_whole(&path, id, &self.key) {
            Ok(e) => e,
            Err(reason) => {
                self.forget(id.0);
                let moved_to = self.move_aside(&path, &reason)?;
                return Err(QueueError::Corrupt {
                    path: moved_to,
                    reason,
                });
            }
        };
        fsutil::rename_durable(&path, &self.path(id.0, SENDING))?;
        if let Some(m) = self.index.get_mut(&id.0) {
            m.in_flight = true;
        }
        Ok(entry)
    }

    /// A definite answer came for an in-flight entry (registered, or refused
    /// for good): it is deleted.
    pub fn finish(&mut self, id: EntryId) -> Result<(), QueueError> {
        self.in_flight(id)?;
        fsutil::remove_durable(&self.path(id.0, SENDING))?;
        self.forget(id.0);
        Ok(())
    }

    /// A definite "not processed, try later" answer came: the entry is
    /// un-marked. If sending created a verification (`verification_id` now
    /// known), the entry is rewritten with it so the retry reuses it.
    pub fn retry_later(
        &mut self,
        id: EntryId,
        verification_id: Option<String>,
    ) -> Result<(), QueueError> {
        self.in_flight(id)?;
        let sending = self.path(id.0, SENDING);
        let known = self.index[&id.0].verification_id.clone();
        match verification_id {
            Some(v) if known.as_ref() != Some(&v) => {
                let mut entry =
                    read_whole(&sending, id, &self.key).map_err(|reason| QueueError::Corrupt {
                        path: sending.clone(),
                        reason,
                    })?;
                entry.verification_id = Some(v.clone());
                let header = entry::Header {
                    seq: id.0,
                    username: entry.username,
                    verification_id: entry.verification_id,
                    created: entry.created,
                };
                let sealed = entry::seal_entry(&self.key, &header, &entry.jpeg)
                    .map_err(|bytes| QueueError::HeaderTooLarge { bytes })?;
                // Write the new entry first, then drop the marker: a crash in
                // between leaves both, which `open` reads as "retry".
                let path = self.path(id.0, ENTRY);
                fsutil::write_atomic_parts(&path, &[&sealed.prefix, &sealed.jpeg], PRIVATE_FILE)?;
                fsutil::remove_durable(&sending)?;
                let m = self.index.get_mut(&id.0).expect("checked in flight");
                self.bytes = self.bytes - m.file_bytes + sealed.file_len();
                m.file_bytes = sealed.file_len();
                m.verification_id = Some(v);
            }
            _ => fsutil::rename_durable(&sending, &self.path(id.0, ENTRY))?,
        }
        if let Some(m) = self.index.get_mut(&id.0) {
            m.in_flight = false;
        }
        Ok(())
    }

    /// The answer left it unknown whether the server processed the entry:
    /// it is recorded in `unknown/` and deleted, never re-sent.
    pub fn record_unknown(
        &mut self,
        id: EntryId,
        verification_id: Option<String>,
        reason: &str,
    ) -> Result<UnknownDelivery, QueueError> {
        self.in_flight(id)?;
        let path = self.path(id.0, SENDING);
        let entry = read_whole(&path, id, &self.key).map_err(|r| QueueError::Corrupt {
            path: path.clone(),
            reason: r,
        })?;
        let record = UnknownDelivery {
            schema: UNKNOWN_SCHEMA,
            seq: id.0,
            username: entry.username,
            verification_id: verification_id.or(entry.verification_id),
            created_unix: entry.created.unix,
            detected_unix: crate::time::unix_now(),
            reason: reason.to_owned(),
        };
        self.write_unknown(&record)?;
        fsutil::remove_durable(&path)?;
        self.forget(id.0);
        Ok(record)
    }

    /// Deletes, unsent, every waiting entry older than `max_age_secs`.
    pub fn expire(&mut self, now: &Now) -> Result<Vec<Expired>, QueueError> {
        let max_age = self.config.max_age();
        let old: Vec<(u64, Duration)> = self
            .index
            .iter()
            .filter(|(_, m)| !m.in_flight)
            .map(|(&seq, m)| (seq, now.age_of(&m.created, self.opened)))
            .filter(|&(_, age)| age >= max_age)
            .collect();
        let mut expired = Vec::with_capacity(old.len());
        for (seq, age) in old {
            fsutil::remove_durable(&self.path(seq, ENTRY))?;
            let meta = self.forget(seq);
            expired.push(Expired {
                id: EntryId(seq),
                verification_id: meta.and_then(|m| m.verification_id),
                age,
            });
        }
        Ok(expired)
    }

    /// Deletes files in `corrupt/` older than `max_age_secs` (by their
    /// modification time, which a rename keeps): damaged entries may still
    /// hold a face, and are kept only long enough for someone to look.
    /// Skipped while the wall clock is implausible. Returns how many went.
    pub fn prune_corrupt(&mut self, now: &Now) -> Result<usize, QueueError> {
        if !crate::time::wall_clock_plausible(now.unix) {
            return Ok(0);
        }
        let dir = self.config.dir.join("corrupt");
        let mut removed = 0;
        for name in list(&dir)? {
            let path = dir.join(name);
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|e| FsError::new(&path, "inspect", &e))?;
            let modified_unix = modified
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            if now.unix.saturating_sub(modified_unix) >= self.config.max_age_secs {
                fsutil::remove_durable(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn in_flight(&self, id: EntryId) -> Result<(), QueueError> {
        match self.index.get(&id.0) {
            Some(m) if m.in_flight => Ok(()),
            _ => Err(QueueError::NoSuchEntry(id)),
        }
    }

    fn forget(&mut self, seq: u64) -> Option<Meta> {
        let meta = self.index.remove(&seq)?;
        self.bytes -= meta.file_bytes;
        Some(meta)
    }

    /// An in-flight entry found at open: record it as an unknown delivery.
    fn interrupted(&mut self, seq: u64, now: &Now) -> Result<(), QueueError> {
        let path = self.path(seq, SENDING);
        // Recorded already (the crash came between recording an
        // `unknown_delivery` answer and removing the marker): keep that
        // record, which may hold a verification id the client created.
        let recorded = self.unknown_path(seq);
        if let Ok(text) = fs::read(&recorded)
            && let Ok(record) = serde_json::from_slice::<UnknownDelivery>(&text)
        {
            fsutil::remove_durable(&path)?;
            self.report.unknown.push(record);
            return Ok(());
        }
        let decoded = match read_prefix(&path, &self.key) {
            Ok((d, _)) => d,
            Err(reason) => {
                // Cannot even tell whose it was: keep it for a human.
                return self.move_aside(&path, &reason).map(drop);
            }
        };
        let h = decoded.header;
        let record = UnknownDelivery {
            schema: UNKNOWN_SCHEMA,
            seq,
            username: h.username,
            verification_id: h.verification_id,
            created_unix: h.created.unix,
            detected_unix: now.unix,
            reason: "interrupted".to_owned(),
        };
        self.write_unknown(&record)?;
        fsutil::remove_durable(&path)?;
        self.report.unknown.push(record);
        Ok(())
    }

    fn write_unknown(&mut self, record: &UnknownDelivery) -> Result<(), QueueError> {
        let mut json = serde_json::to_vec_pretty(record).expect("record serializes");
        json.push(b'\n');
        let path = self.unknown_path(record.seq);
        // Already there: a crash came after recording and before removing
        // the in-flight file; the record is rewritten, not counted twice.
        let new = !path.exists();
        fsutil::write_atomic(&path, &json, PRIVATE_FILE)?;
        self.unknown_count += usize::from(new);
        Ok(())
    }

    /// Moves a damaged file to `corrupt/`, records it, returns where it went.
    fn move_aside(&mut self, path: &Path, reason: &str) -> Result<PathBuf, QueueError> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let corrupt = self.config.dir.join("corrupt");
        let mut to = corrupt.join(&*name);
        let mut n = 1;
        while to.exists() {
            to = corrupt.join(format!("{name}.{n}"));
            n += 1;
        }
        fsutil::rename_durable(path, &to)?;
        self.report.corrupt.push(CorruptFile {
            moved_to: to.clone(),
            reason: reason.to_owned(),
        });
        Ok(to)
    }

    fn unknown_path(&self, seq: u64) -> PathBuf {
        self.config
            .dir
            .join("unknown")
            .join(format!("{seq:020}.json"))
    }

    fn path(&self, seq: u64, kind: &str) -> PathBuf {
        self.config.dir.join(format!("{seq:020}.{kind}"))
    }
}

/// `00000000000000000042.entry` → (42, "entry").
fn parse_name(name: &str) -> Option<(u64, &str)> {
    let (num, ext) = name.split_once('.')?;
    if num.len() != 20 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, ext))
}

fn list(dir: &Path) -> Result<Vec<String>, QueueError> {
    let read = fs::read_dir(dir).map_err(|e| FsError::new(dir, "list", &e))?;
    let mut names = Vec::new();
    for item in read {
        let item = item.map_err(|e| FsError::new(dir, "list", &e))?;
        names.push(item.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Reads and authenticates the first line and header; returns them and the file size.
fn read_prefix(path: &Path, key: &QueueKey) -> Result<(entry::Decoded, u64), String> {
    let mut file = fs::File::open(path).map_err(|e| fsutil::describe(&e))?;
    let len = file.metadata().map_err(|e| fsutil::describe(&e))?.len();
    let mut start = Vec::with_capacity(entry::PREFIX_READ);
    (&mut file)
        .take(entry::PREFIX_READ as u64)
        .read_to_end(&mut start)
        .map_err(|e| fsutil::describe(&e))?;
    Ok((entry::decode_prefix(&start, len, key)?, len))
}

/// Reads a whole entry and opens the JPEG too.
fn read_whole(path: &Path, id: EntryId, key: &QueueKey) -> Result<Entry, String> {
    let bytes = fs::read(path).map_err(|e| fsutil::describe(&e))?;
    let d = entry::decode_prefix(&bytes, bytes.len() as u64, key)?;
    if d.header.seq != id.0 {
        return Err("sequence number differs from file name".to_owned());
    }
    let jpeg = entry::open_jpeg(key, &d, &bytes[d.jpeg_offset..])?;
    Ok(Entry {
        id,
        username: d.header.username,
        verification_id: d.header.verification_id,
        created: d.header.created,
        jpeg,
    })
}

#[cfg(test)]
mod tests;
