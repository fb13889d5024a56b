//! Opening the records directory, and repairing what a crash left there.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::files::{list, parse_name, read_prefix};
use super::{
    BOUND, ENTRY, EntryId, Meta, OpenReport, Place, Queue, QueueConfig, QueueError, QueueKey,
    REVIEW_DIR, Released, ReviewMeta, SENDING, UNKNOWN_SCHEMA, UnknownDelivery, UnknownMeta, key,
    lock,
};
use crate::fsutil::{self, PRIVATE_DIR};

/// Holds the highest reserved sequence number (see [`Queue::reserve_seq`]).
pub(super) const SEQUENCE_FILE: &str = "sequence";

impl Queue {
    /// Opens (creating if needed) the records directory and takes its lock,
    /// repairing what a crash left: temporary files are removed, damaged
    /// records moved to `corrupt/`, records in flight turned into unknown
    /// deliveries, records bound to an unstored capture listed in
    /// [`OpenReport::released`] for the caller to settle. See [`Queue::report`].
    ///
    /// The key comes from [`QueueKey::load`] (credential, key file, or one
    /// generated in the directory); see [`Queue::key_source`].
    pub fn open(config: &QueueConfig) -> Result<Queue, QueueError> {
        fsutil::ensure_private_dir(&config.dir, PRIVATE_DIR)?;
        let lock = lock::DirLock::take(&config.dir)?;
        let (key, source) = QueueKey::load(config)?;
        let mut q = Queue::open_locked(config, key, lock)?;
        q.key_source = Some(source);
        Ok(q)
    }

    /// [`Queue::open`] with a key in hand (tests, tools).
    pub fn open_with_key(config: &QueueConfig, key: QueueKey) -> Result<Queue, QueueError> {
        fsutil::ensure_private_dir(&config.dir, PRIVATE_DIR)?;
        let lock = lock::DirLock::take(&config.dir)?;
        Queue::open_locked(config, key, lock)
    }

    fn open_locked(
        config: &QueueConfig,
        key: QueueKey,
        lock: lock::DirLock,
    ) -> Result<Queue, QueueError> {
        let dir = &config.dir;
        fsutil::ensure_private_dir(&dir.join("corrupt"), PRIVATE_DIR)?;
        fsutil::ensure_private_dir(&dir.join("unknown"), PRIVATE_DIR)?;
        fsutil::ensure_private_dir(&dir.join(REVIEW_DIR), PRIVATE_DIR)?;
        let mut q = Queue {
            config: config.clone(),
            key,
            key_source: None,
            index: BTreeMap::new(),
            bound: BTreeMap::new(),
            unknown: BTreeMap::new(),
            review: BTreeMap::new(),
            bytes: 0,
            next_seq: 1,
            reserved: 0,
            opened: Instant::now(),
            report: OpenReport::default(),
            _lock: lock,
        };
        q.reserved = q.read_sequence()?;
        let mut by_kind: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for name in list(dir)? {
            let path = dir.join(&name);
            if name.starts_with(fsutil::TEMP_PREFIX) {
                fsutil::remove_durable(&path)?;
                q.report.leftovers_removed += 1;
                continue;
            }
            if [key::GENERATED_KEY_FILE, lock::LOCK_FILE, SEQUENCE_FILE].contains(&name.as_str()) {
                continue;
            }
            match parse_name(&name) {
                Some((seq, ENTRY)) => by_kind.entry(ENTRY).or_default().push(seq),
                Some((seq, SENDING)) => by_kind.entry(SENDING).or_default().push(seq),
                Some((seq, BOUND)) => by_kind.entry(BOUND).or_default().push(seq),
                _ if path.is_dir() => {}
                _ => drop(q.move_aside(&path, "not a queue file")?),
            }
        }
        q.open_unknown()?;
        q.open_review()?;
        let take = |m: &mut BTreeMap<&str, Vec<u64>>, k| m.remove(k).unwrap_or_default();
        let (entries, sending, bound) = (
            take(&mut by_kind, ENTRY),
            take(&mut by_kind, SENDING),
            take(&mut by_kind, BOUND),
        );
        for &seq in entries.iter().chain(&sending).chain(&bound) {
            q.next_seq = q.next_seq.max(seq + 1);
        }
        let now = super::Now::read();
        for seq in sending {
            // Both names: a definite "retry" answer rewrote the entry and only the marker
            // remained; or the registration was flagged for review, its review record written,
            // and the crash came before the capture was deleted: registered, settled.
            if entries.contains(&seq) || q.review.contains_key(&seq) {
                fsutil::remove_durable(&q.path(seq, SENDING))?;
                continue;
            }
            q.interrupted(seq, now.unix)?;
        }
        for seq in bound {
            if entries.contains(&seq) || q.unknown.contains_key(&seq) {
                // The capture was stored (or sent) and the crash came before
                // the binding was deleted: the later state wins.
                fsutil::remove_durable(&q.path(seq, BOUND))?;
                continue;
            }
            q.open_bound(seq)?;
        }
        for seq in entries {
            q.open_entry(seq)?;
        }
        q.next_seq = q.next_seq.max(q.reserved + 1);
        Ok(q)
    }

    fn open_entry(&mut self, seq: u64) -> Result<(), QueueError> {
        let path = self.path(seq, ENTRY);
        match read_prefix(&path, &self.key) {
            Ok((decoded, file_bytes)) if decoded.header.seq == seq => {
                self.bytes += file_bytes;
                let h = decoded.header;
                let meta = Meta {
                    place: Place::Queued,
                    created: h.created,
                    username: h.username,
                    verification_id: h.verification_id,
                    ticket: h.ticket,
                    file_bytes,
                    not_before: None,
                    last_answer: None,
                    attempts: 0,
                };
                self.index.insert(seq, meta);
            }
            Ok(_) => drop(self.move_aside(&path, "sequence number differs from file name")?),
            Err(reason) => drop(self.move_aside(&path, &reason)?),
        }
        Ok(())
    }

    fn open_bound(&mut self, seq: u64) -> Result<(), QueueError> {
        let path = self.path(seq, BOUND);
        match read_prefix(&path, &self.key) {
            Ok((d, _)) if d.header.seq == seq => {
                let h = d.header;
                self.report.released.push(Released {
                    id: EntryId(seq),
                    username: h.username.clone(),
                    ticket: h.ticket.clone(),
                });
                self.bound
                    .insert(seq, (h.username, h.ticket, h.verification_id, h.created));
                Ok(())
            }
            Ok(_) => self
                .move_aside(&path, "sequence number differs from file name")
                .map(drop),
            Err(reason) => self.move_aside(&path, &reason).map(drop),
        }
    }

    /// Reads `unknown/`: each `<seq>.json` record, with its image
    /// (`<seq>.entry`) when it has one.
    fn open_unknown(&mut self) -> Result<(), QueueError> {
        let dir = self.config.dir.join("unknown");
        for (name, path) in self.names_in(&dir)? {
            let Some((seq, kind)) = parse_name(&name) else {
                continue;
            };
            self.next_seq = self.next_seq.max(seq + 1);
            if kind != "json" {
                continue;
            }
            let record = std::fs::read(&path)
                .ok()
                .and_then(|t| serde_json::from_slice::<UnknownDelivery>(&t).ok());
            let Some(record) = record else {
                self.move_aside(&path, "unknown-delivery record unreadable")?;
                // Whom it was for is still in its image's sealed header.
                let username = self.username_of_damaged(&self.unknown_image(seq));
                if let Some(moved) = self.report.corrupt.last_mut() {
                    moved.username = moved.username.take().or(username);
                }
                continue;
            };
            let image = self.unknown_image(seq);
            let (created, image_bytes) = match read_prefix(&image, &self.key) {
                Ok((d, len)) => (d.header.created, Some(len)),
                Err(_) if !image.exists() => (created_from_unix(record.created_unix), None),
                Err(reason) => {
                    self.move_aside(&image, &reason)?;
                    (created_from_unix(record.created_unix), None)
                }
            };
            self.unknown.insert(
                seq,
                UnknownMeta {
                    record,
                    created,
                    image_bytes,
                },
            );
        }
        Ok(())
    }

    /// Reads `review/`: registrations flagged for review, each a sealed header holding the
    /// answer (no image).
    fn open_review(&mut self) -> Result<(), QueueError> {
        let dir = self.config.dir.join(REVIEW_DIR);
        for (name, path) in self.names_in(&dir)? {
            let Some((seq, ENTRY)) = parse_name(&name) else {
                self.move_aside(&path, "not a review record")?;
                continue;
            };
            self.next_seq = self.next_seq.max(seq + 1);
            match read_prefix(&path, &self.key) {
                Ok((d, _)) if d.header.seq == seq => {
                    let h = d.header;
                    let meta = ReviewMeta {
                        username: h.username,
                        verification_id: h.verification_id,
                        created: h.created,
                        answer: h.answer.unwrap_or_default(),
                    };
                    self.review.insert(seq, meta);
                }
                Ok(_) => drop(self.move_aside(&path, "sequence number differs from file name")?),
                Err(reason) => drop(self.move_aside(&path, &reason)?),
            }
        }
        Ok(())
    }

    /// The files of a records folder (name, path), less the temporary files of interrupted
    /// writes, which are removed (and counted).
    fn names_in(&mut self, dir: &std::path::Path) -> Result<Vec<(String, PathBuf)>, QueueError> {
        let mut out = Vec::new();
        for name in list(dir)? {
            let path = dir.join(&name);
            if name.starts_with(fsutil::TEMP_PREFIX) {
                fsutil::remove_durable(&path)?;
                self.report.leftovers_removed += 1;
            } else {
                out.push((name, path));
            }
        }
        Ok(out)
    }

    /// A record found in flight at open: it becomes an unknown delivery.
    fn interrupted(&mut self, seq: u64, now_unix: u64) -> Result<(), QueueError> {
        let path = self.path(seq, SENDING);
        // Recorded already (the crash came between recording an unknown
        // delivery and removing the marker): keep that record, which may
        // hold a verification id the client created.
        if let Some(u) = self.unknown.get(&seq) {
            self.report.unknown.push(u.record.clone());
            if u.image_bytes.is_some() {
                fsutil::remove_durable(&path)?;
            } else {
                fsutil::rename_durable(&path, &self.unknown_image(seq))?;
            }
            return Ok(());
        }
        let decoded = match read_prefix(&path, &self.key) {
            Ok((d, len)) => (d, len),
            Err(reason) => {
                // Cannot even tell whose it was: keep it for a human.
                return self.move_aside(&path, &reason).map(drop);
            }
        };
        let (d, len) = decoded;
        let h = d.header;
        let record = UnknownDelivery {
            schema: UNKNOWN_SCHEMA,
            seq,
            username: h.username,
            verification_id: h.verification_id,
            created_unix: h.created.unix,
            detected_unix: now_unix,
            reason: "interrupted".to_owned(),
        };
        self.record_as_unknown(seq, &path, record.clone(), h.created, len)?;
        self.report.unknown.push(record);
        Ok(())
    }
}

/// The creation time of an old unknown record that has only its wall-clock time.
fn created_from_unix(unix: u64) -> super::Created {
    super::Created {
        unix,
        boot_id: String::new(),
        boottime_ms: 0,
    }
}
