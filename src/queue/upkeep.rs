//! Keeping the directory within its limits over time: expiry of old records,
//! pruning of damaged files, and what is still in flight when stopping.

use std::fs;

use super::files::list;
use super::{EntryId, Expired, Expiring, Now, Place, Queue, QueueError, SentFate, UnknownDelivery};
use crate::fsutil::{self, FsError};

impl Queue {
    /// Deletes, unsent, every queued entry and unknown delivery older than
    /// `max_age_secs` (entries in flight are left to their send), and every
    /// review record that old.
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
            let e = self.expired(
                seq,
                &m.created,
                m.username,
                m.verification_id,
                Expiring::Queued,
                now,
            );
            expired.push(e);
        }
        let old = |created: &super::Created| now.age_of(created, self.opened) >= max_age;
        let old_unknown: Vec<u64> = self
            .unknown
            .iter()
            .filter_map(|(&seq, u)| old(&u.created).then_some(seq))
            .collect();
        let old_review: Vec<u64> = self
            .review
            .iter()
            .filter_map(|(&seq, r)| old(&r.created).then_some(seq))
            .collect();
        for seq in old_unknown {
            let u = self.remove_unknown(seq)?;
            let (name, vid) = (u.record.username, u.record.verification_id);
            let e = self.expired(seq, &u.created, name, vid, Expiring::Unknown, now);
            expired.push(e);
        }
        for seq in old_review {
            let r = self.remove_review(seq)?;
            let e = self.expired(
                seq,
                &r.created,
                r.username,
                r.verification_id,
                Expiring::Review,
                now,
            );
            expired.push(e);
        }
        Ok(expired)
    }

    /// What is reported of a record deleted for its age.
    fn expired(
        &self,
        seq: u64,
        created: &super::Created,
        username: String,
        verification_id: Option<String>,
        was: Expiring,
        now: &Now,
    ) -> Expired {
        Expired {
            id: EntryId(seq),
            age: now.age_of(created, self.opened),
            username,
            verification_id,
            was,
        }
    }

    /// Deletes a review record.
    pub(super) fn remove_review(&mut self, seq: u64) -> Result<super::ReviewMeta, QueueError> {
        let r = self
            .review
            .remove(&seq)
            .ok_or(QueueError::NoSuchEntry(EntryId(seq)))?;
        fsutil::remove_durable(&self.review_path(seq))?;
        Ok(r)
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
