//! An enrollment record's life: bound at the press, stored with its capture
//! as sending or queued, sent, and settled by its fate.

use std::time::Instant;

use super::entry::Header;
use super::open::SEQUENCE_FILE;
use super::{
    BOUND, ENTRY, Entry, EntryId, Meta, NewEntry, Now, Place, Queue, QueueError, SENDING,
    UNKNOWN_SCHEMA, UnknownDelivery, UnknownMeta,
};
use crate::fsutil::{self, FsError, PRIVATE_FILE};
use crate::tickets::Ticket;

/// Sequence numbers are reserved on disk this many at a time, so a press
/// costs no extra write most of the time; a restart skips the rest of the
/// block (numbers are never reused, gaps are fine).
const SEQ_BLOCK: u64 = 64;

/// Who an enrollment is for, bound at the press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub seq: u64,
    pub username: String,
    pub verification_id: Option<String>,
    /// The ticket consumed, if the name came from one.
    pub ticket: Option<Ticket>,
}

/// Where a capture goes when it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// `<seq>.sending`: the request is about to leave.
    Send,
    /// `<seq>.entry`: queued, not before the given time.
    Queue { not_before: Option<Instant> },
}

/// What becomes of a record that was being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentFate {
    /// Registered, or refused for good: deleted.
    Delete,
    /// Definitely not processed: queued again (with the verification id the
    /// send used, so a retry reuses it).
    Requeue {
        verification_id: Option<String>,
        not_before: Option<Instant>,
        answer: String,
    },
    /// May have been processed: an unknown delivery.
    Unknown {
        verification_id: Option<String>,
        reason: String,
    },
    /// Registered, and flagged for review: the capture is deleted, a record of `answer`
    /// (IDMeta's, as the client classified it) stays in `review/` for the operator.
    Review {
        verification_id: Option<String>,
        answer: serde_json::Value,
    },
    /// Nothing was registered and the same person will press again: the
    /// record becomes `.bound` again so its ticket can go back to the front
    /// (then [`Queue::forget_released`]).
    Unsend,
}

impl Queue {
    pub(super) fn read_sequence(&self) -> Result<u64, QueueError> {
        let path = self.dir().join(SEQUENCE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.trim().parse().unwrap_or(0)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(FsError::new(&path, "read", &e).into()),
        }
    }

    /// The next sequence number, durably reserved: `{seq}` in a username
    /// template never repeats on this terminal, across restarts and after
    /// every record is gone.
    pub fn reserve_seq(&mut self) -> Result<u64, QueueError> {
        let seq = self.next_seq;
        if seq > self.reserved {
            let reserved = seq + SEQ_BLOCK - 1;
            let path = self.dir().join(SEQUENCE_FILE);
            fsutil::write_atomic(&path, format!("{reserved}\n").as_bytes(), PRIVATE_FILE)?;
            self.reserved = reserved;
        }
        self.next_seq += 1;
        Ok(seq)
    }

    /// Records a name bound to a capture in progress: on disk (`<seq>.bound`) when it holds a
    /// ticket, in memory only when the name comes from the template.
    ///
    /// A ticket leaves the tickets file at the press, so its `.bound` record is what keeps it
    /// through a power cut until the capture is sealed. A template name holds nothing that a
    /// cut could lose: its sequence number is reserved on disk beforehand (never reused), and
    /// nothing under it leaves the terminal before the capture is sealed as `.sending`. Not
    /// writing it saves an SD card three of the six journal commits a registered press cost
    /// (the record's fsync, its directory's, and its removal's).
    pub fn bind(&mut self, binding: Binding, now: &Now) -> Result<(), QueueError> {
        let header = Header {
            seq: binding.seq,
            username: binding.username,
            verification_id: binding.verification_id,
            created: now.created(),
            ticket: binding.ticket,
            resent: false,
            answer: None,
        };
        if header.ticket.is_some() {
            self.write_record(&self.path(header.seq, BOUND), &header, &[])?;
        }
        self.bound.insert(
            header.seq,
            (
                header.username,
                header.ticket,
                header.verification_id,
                header.created,
            ),
        );
        Ok(())
    }

    /// Whether the record is being sent (`<seq>.sending`).
    pub fn is_sending(&self, id: EntryId) -> bool {
        matches!(
            self.index.get(&id.0).map(|m| m.place),
            Some(Place::Sending { .. })
        )
    }

    /// The ticket a bound record holds.
    pub fn bound_ticket(&self, id: EntryId) -> Option<&Ticket> {
        self.bound.get(&id.0).and_then(|(_, t, _, _)| t.as_ref())
    }

    /// Stores the capture of a bound record, as sending or queued, with the
    /// verification id it goes out with. Written before the binding is
    /// deleted: a crash in between leaves the later state, which wins.
    pub fn store_capture(
        &mut self,
        id: EntryId,
        jpeg: &[u8],
        verification_id: Option<String>,
        dest: Destination,
    ) -> Result<(), QueueError> {
        let (username, ticket, bound_vid, created) = self
            .bound
            .get(&id.0)
            .cloned()
            .ok_or(QueueError::NoSuchEntry(id))?;
        let header = Header {
            seq: id.0,
            username,
            verification_id: verification_id.or(bound_vid),
            created,
            ticket,
            resent: false,
            answer: None,
        };
        let (place, kind) = match dest {
            Destination::Send => (Place::Sending { live: true }, SENDING),
            Destination::Queue { .. } => (Place::Queued, ENTRY),
        };
        if place == Place::Queued {
            self.check_room(super::entry::SEAL_OVERHEAD as u64 * 2 + jpeg.len() as u64)?;
        }
        let file_bytes = self.write_record(&self.path(id.0, kind), &header, jpeg)?;
        // A template name's binding has no file (see bind): nothing to remove, nothing synced.
        fsutil::remove_durable(&self.path(id.0, BOUND))?;
        self.bound.remove(&id.0);
        if place == Place::Queued {
            self.bytes += file_bytes;
        }
        let not_before = match dest {
            Destination::Queue { not_before } => not_before,
            Destination::Send => None,
        };
        self.index
            .insert(id.0, meta(header, place, file_bytes, not_before));
        Ok(())
    }

    /// Deletes a `.bound` record whose ticket (if any) is back in the list.
    pub fn forget_released(&mut self, id: EntryId) -> Result<(), QueueError> {
        if self.bound.remove(&id.0).is_some() {
            fsutil::remove_durable(&self.path(id.0, BOUND))?;
        }
        Ok(())
    }

    /// Stores an enrollment straight into the queue (no press, no ticket).
    pub fn push(&mut self, new: NewEntry, now: &Now) -> Result<EntryId, QueueError> {
        self.check_room(new.jpeg.len() as u64)?;
        let seq = self.reserve_seq()?;
        let header = Header {
            seq,
            username: new.username,
            verification_id: new.verification_id,
            created: now.created(),
            ticket: None,
            resent: false,
            answer: None,
        };
        let file_bytes = self.write_record(&self.path(seq, ENTRY), &header, &new.jpeg)?;
        self.bytes += file_bytes;
        self.index
            .insert(seq, meta(header, Place::Queued, file_bytes, None));
        Ok(EntryId(seq))
    }

    /// Refuses a further queued entry beyond the configured limits.
    fn check_room(&self, jpeg_bytes: u64) -> Result<(), QueueError> {
        let entries = self.depth();
        if entries >= self.config.max_entries || self.bytes + jpeg_bytes > self.config.max_bytes {
            return Err(QueueError::Full {
                entries,
                bytes: self.bytes,
                max_entries: self.config.max_entries,
                max_bytes: self.config.max_bytes,
            });
        }
        Ok(())
    }

    /// The next queued entry to send at `now`: the oldest one that is not in
    /// flight and whose Retry-After has passed.
    pub fn next_ready(&self, now: Instant) -> Option<EntryId> {
        self.index
            .iter()
            .find(|(_, m)| m.place == Place::Queued && m.not_before.is_none_or(|t| t <= now))
            .map(|(&seq, _)| EntryId(seq))
    }

    /// When the earliest queued entry held back by a Retry-After becomes ready.
    pub fn next_wake(&self) -> Option<Instant> {
        self.index
            .values()
            .filter(|m| m.place == Place::Queued)
            .filter_map(|m| m.not_before)
            .min()
    }

    /// Marks a queued entry in flight (durably) and reads it for sending. A
    /// damaged entry is moved aside and returned as [`QueueError::Corrupt`].
    pub fn begin(&mut self, id: EntryId) -> Result<Entry, QueueError> {
        if self.index.get(&id.0).map(|m| m.place) != Some(Place::Queued) {
            return Err(QueueError::NoSuchEntry(id));
        }
        let path = self.path(id.0, ENTRY);
        let (header, jpeg) = match self.read_or_move_aside(&path, id) {
            Ok(parts) => parts,
            Err(e) => {
                self.forget(id.0);
                return Err(e);
            }
        };
        fsutil::rename_durable(&path, &self.path(id.0, SENDING))?;
        let m = self.index.get_mut(&id.0).expect("checked");
        m.place = Place::Sending { live: false };
        m.attempts += 1;
        Ok(Entry::from_parts(header, jpeg))
    }

    /// Settles a record that was being sent (live or from the queue).
    /// Returns the unknown-delivery record when that is its fate.
    pub fn settle(
        &mut self,
        id: EntryId,
        fate: SentFate,
    ) -> Result<Option<UnknownDelivery>, QueueError> {
        let Some(Place::Sending { live }) = self.index.get(&id.0).map(|m| m.place) else {
            return Err(QueueError::NoSuchEntry(id));
        };
        let sending = self.path(id.0, SENDING);
        match fate {
            SentFate::Delete => {
                fsutil::remove_durable(&sending)?;
                self.forget(id.0);
                Ok(None)
            }
            SentFate::Requeue {
                verification_id,
                not_before,
                answer,
            } => {
                self.requeue(id, live, verification_id)?;
                let m = self.index.get_mut(&id.0).expect("requeued");
                m.not_before = not_before;
                m.last_answer = Some(answer);
                Ok(None)
            }
            SentFate::Unknown {
                verification_id,
                reason,
            } => {
                let m = self.index.get(&id.0).expect("checked").clone();
                let record = UnknownDelivery {
                    schema: UNKNOWN_SCHEMA,
                    seq: id.0,
                    username: m.username.clone(),
                    verification_id: verification_id.or(m.verification_id),
                    created_unix: m.created.unix,
                    detected_unix: crate::time::unix_now(),
                    reason,
                };
                let len = std::fs::metadata(&sending).map(|x| x.len()).unwrap_or(0);
                self.record_as_unknown(id.0, &sending, record.clone(), m.created, len)?;
                self.forget(id.0);
                Ok(Some(record))
            }
            SentFate::Review {
                verification_id,
                answer,
            } => {
                let m = self.index.get(&id.0).expect("checked").clone();
                let header = Header {
                    seq: id.0,
                    username: m.username.clone(),
                    verification_id: verification_id.or(m.verification_id),
                    created: m.created.clone(),
                    ticket: None,
                    resent: false,
                    answer: Some(answer.clone()),
                };
                // The review record is durable before the capture goes: a crash in between
                // leaves both, which opening settles as registered (see `open`).
                self.write_record(&self.review_path(id.0), &header, &[])?;
                fsutil::remove_durable(&sending)?;
                self.forget(id.0);
                self.review.insert(
                    id.0,
                    super::ReviewMeta {
                        username: header.username,
                        verification_id: header.verification_id,
                        created: header.created,
                        answer,
                    },
                );
                Ok(None)
            }
            SentFate::Unsend => {
                fsutil::rename_durable(&sending, &self.path(id.0, BOUND))?;
                let m = self.forget(id.0).expect("checked");
                self.bound
                    .insert(id.0, (m.username, m.ticket, m.verification_id, m.created));
                Ok(None)
            }
        }
    }

    /// `<seq>.sending` back to `<seq>.entry`; rewritten when the send
    /// created a verification id, so the retry reuses it. The new entry is
    /// written before the marker goes: a crash in between leaves both, which
    /// opening reads as "queued".
    fn requeue(
        &mut self,
        id: EntryId,
        live: bool,
        verification_id: Option<String>,
    ) -> Result<(), QueueError> {
        let sending = self.path(id.0, SENDING);
        let entry = self.path(id.0, ENTRY);
        let known = self.index[&id.0].verification_id.clone();
        let mut file_bytes = self.index[&id.0].file_bytes;
        match verification_id {
            Some(v) if known.as_ref() != Some(&v) => {
                let (mut header, jpeg) = self.read_or_move_aside(&sending, id)?;
                header.verification_id = Some(v.clone());
                file_bytes = self.write_record(&entry, &header, &jpeg)?;
                fsutil::remove_durable(&sending)?;
                self.index.get_mut(&id.0).expect("checked").verification_id = Some(v);
            }
            _ => fsutil::rename_durable(&sending, &entry)?,
        }
        let m = self.index.get_mut(&id.0).expect("checked");
        let old_bytes = if live { 0 } else { m.file_bytes };
        m.place = Place::Queued;
        m.file_bytes = file_bytes;
        self.bytes = self.bytes - old_bytes + file_bytes;
        Ok(())
    }

    /// Records an unknown delivery: its JSON first, then its sealed file
    /// moved beside it (a crash in between is finished at the next open).
    pub(super) fn record_as_unknown(
        &mut self,
        seq: u64,
        sealed: &std::path::Path,
        record: UnknownDelivery,
        created: super::Created,
        file_bytes: u64,
    ) -> Result<(), QueueError> {
        self.write_unknown_json(&record)?;
        fsutil::rename_durable(sealed, &self.unknown_image(seq))?;
        self.unknown.insert(
            seq,
            UnknownMeta {
                record,
                created,
                image_bytes: Some(file_bytes),
            },
        );
        Ok(())
    }

    pub(super) fn forget(&mut self, seq: u64) -> Option<Meta> {
        let meta = self.index.remove(&seq)?;
        if meta.place != (Place::Sending { live: true }) {
            self.bytes -= meta.file_bytes;
        }
        Some(meta)
    }
}

fn meta(header: Header, place: Place, file_bytes: u64, not_before: Option<Instant>) -> Meta {
    Meta {
        place,
        created: header.created,
        username: header.username,
        verification_id: header.verification_id,
        ticket: header.ticket,
        file_bytes,
        not_before,
        last_answer: None,
        attempts: 0,
    }
}
