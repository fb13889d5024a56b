//! Keeping the directory within its limits over time: expiry of old records,
//! pruning of damaged files, and what is still in flight when stopping.

use std::fs;

use super::files::list;
use super::{EntryId, Expired, Now, Place, Queue, QueueError, SentFate, UnknownDelivery};
use crate::fsutil::{self, FsError};

impl Queue {
    /// Deletes, unsent, every queued entry and unknown delivery older than
    /// `max_age_secs` (entries in flight are left to their send).
    pub fn expire(&mut self, now: &Now) -> Result<Vec<Expired>, QueueError> {
        let max_age = self.config.max_age();
        let old: Vec<u64> = self
            .index
            .iter()
            .filter(|(_, m)| m.place == Place::Queued)
            .filter(|(_, m)| now.age_of(&m.created, self.opened) >= max_age)
            .map(|(&seq, _)| seq)
            .collect();
        let mut expired = Vec::with_capacity(old.len());
        for seq in old {
            fsutil::remove_durable(&self.path(seq, super::ENTRY))?;
            let m = self.forget(seq).expect("listed");
            expired.push(Expired {
                id: EntryId(seq),
                age: now.age_of(&m.created, self.opened),
                username: m.username,
                verification_id: m.verification_id,
                was_unknown: false,
            });
        }
        let old_unknown: Vec<u64> = self
            .unknown
            .iter()
            .filter(|(_, u)| now.age_of(&u.created, self.opened) >= max_age)
            .map(|(&seq, _)| seq)
            .collect();
        for seq in old_unknown {
            let u = self.remove_unknown(seq)?;
            expired.push(Expired {
                id: EntryId(seq),
                age: now.age_of(&u.created, self.opened),
                username: u.record.username,
                verification_id: u.record.verification_id,
                was_unknown: true,
            });
        }
        Ok(expired)
    }

    /// Deletes an unknown delivery's image, then its record.
    pub(super) fn remove_unknown(&mut self, seq: u64) -> Result<super::UnknownMeta, QueueError> {
        let u = self
            .unknown
            .remove(&seq)
            .ok_or(QueueError::NoSuchEntry(EntryId(seq)))?;
        let image = self.unknown_image(seq);
        if image.exists() {
            fsutil::remove_durable(&image)?;
        }
        fsutil::remove_durable(&self.unknown_json(seq))?;
        Ok(u)
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

    /// Stopping with requests still on the wire: each such record becomes
    /// an unknown delivery now (what the next start would find anyway),
    /// so the log and the status file say so before the process ends.
    pub fn in_flight_to_unknown(
        &mut self,
        reason: &str,
    ) -> Result<Vec<UnknownDelivery>, QueueError> {
        let in_flight: Vec<u64> = self
            .index
            .iter()
            .filter(|(_, m)| matches!(m.place, Place::Sending { .. }))
            .map(|(&seq, _)| seq)
            .collect();
        let mut records = Vec::new();
        for seq in in_flight {
            let fate = SentFate::Unknown {
                verification_id: None,
                reason: reason.to_owned(),
            };
            records.extend(self.settle(EntryId(seq), fate)?);
        }
        Ok(records)
    }
}
