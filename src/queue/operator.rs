//! What an operator does with the records (`enrolld queue list|resend|drop`),
//! in the manner of a mail server's `mailq` and `postsuper`.

use serde::Serialize;

use super::{ENTRY, EntryId, Now, Place, Queue, QueueError};
use crate::fsutil;

/// A record as `enrolld queue list` shows it: never the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub id: u64,
    pub state: ListedState,
    pub username: String,
    pub verification_id: Option<String>,
    pub age_secs: u64,
    /// The last answer (queued: since this start; unknown: why it is unknown).
    pub last_answer: Option<String>,
    /// Delivery attempts since this start (queued entries).
    pub attempts: u32,
    /// An unknown delivery can be resent only with its image on record.
    pub resendable: bool,
    /// A review record's answer: IDMeta's, as the client classified it, with what the
    /// watchlist screening matched. Operator eyes only (not over MQTT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListedState {
    Queued,
    Sending,
    Unknown,
    /// Registered, and flagged for review (a watchlist match).
    Review,
}

impl Queue {
    /// Queued, in-flight, unknown and review records, oldest first.
    pub fn list(&self, now: &Now) -> Vec<Listed> {
        let mut out: Vec<Listed> = self
            .index
            .iter()
            .map(|(&seq, m)| Listed {
                id: seq,
                state: match m.place {
                    Place::Queued => ListedState::Queued,
                    Place::Sending { .. } => ListedState::Sending,
                },
                username: m.username.clone(),
                verification_id: m.verification_id.clone(),
                age_secs: now.age_of(&m.created, self.opened).as_secs(),
                last_answer: m.last_answer.clone(),
                attempts: m.attempts,
                resendable: false,
                answer: None,
            })
            .collect();
        out.extend(self.unknown.iter().map(|(&seq, u)| Listed {
            id: seq,
            state: ListedState::Unknown,
            username: u.record.username.clone(),
            verification_id: u.record.verification_id.clone(),
            age_secs: now.age_of(&u.created, self.opened).as_secs(),
            last_answer: Some(u.record.reason.clone()),
            attempts: 0,
            resendable: u.image_bytes.is_some(),
            answer: None,
        }));
        out.extend(self.review.iter().map(|(&seq, r)| Listed {
            id: seq,
            state: ListedState::Review,
            username: r.username.clone(),
            verification_id: r.verification_id.clone(),
            age_secs: now.age_of(&r.created, self.opened).as_secs(),
            last_answer: r.answer["code"].as_str().map(str::to_owned),
            attempts: 0,
            resendable: false,
            answer: Some(r.answer.clone()),
        }));
        out.sort_by_key(|l| l.id);
        out
    }

    /// An operator accepts the risk of a duplicate: the unknown delivery is
    /// queued again, marked as resent (an "already registered" answer then
    /// means the first send had reached IDMeta).
    pub fn resend(&mut self, id: EntryId) -> Result<(), QueueError> {
        let u = self.unknown.get(&id.0).ok_or(QueueError::NoSuchEntry(id))?;
        if u.image_bytes.is_none() {
            return Err(QueueError::NoImage(id));
        }
        let image = self.unknown_image(id.0);
        let (mut header, jpeg) = self.read_or_move_aside(&image, id)?;
        header.resent = true;
        header.verification_id = header
            .verification_id
            .or_else(|| self.unknown[&id.0].record.verification_id.clone());
        let entry = self.path(id.0, ENTRY);
        let file_bytes = self.write_record(&entry, &header, &jpeg)?;
        self.remove_unknown(id.0)?;
        self.bytes += file_bytes;
        self.index.insert(
            id.0,
            super::Meta {
                place: Place::Queued,
                created: header.created,
                username: header.username,
                verification_id: header.verification_id,
                ticket: header.ticket,
                file_bytes,
                not_before: None,
                last_answer: Some("resent by an operator".to_owned()),
                attempts: 0,
            },
        );
        Ok(())
    }

    /// Deletes a queued entry, an unknown delivery or a review record (the operator has
    /// looked) for good. Returns the username it was for. A record being sent cannot be
    /// dropped.
    pub fn drop_record(&mut self, id: EntryId) -> Result<String, QueueError> {
        if let Some(m) = self.index.get(&id.0) {
            if m.place != Place::Queued {
                return Err(QueueError::NoSuchEntry(id));
            }
            fsutil::remove_durable(&self.path(id.0, ENTRY))?;
            return Ok(self.forget(id.0).expect("checked").username);
        }
        if self.review.contains_key(&id.0) {
            return Ok(self.remove_review(id.0)?.username);
        }
        Ok(self.remove_unknown(id.0)?.record.username)
    }
}
