//! The enrollment in progress: who, what was captured, how long each stage took.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::ports::Shot;
use super::verification::Early;
use crate::status::LastOutcome;

pub(super) struct Attempt {
    pub id: u64,
    pub username: String,
    pub verification_id: Option<String>,
    /// create-verification started at the press (when no id was known).
    pub early: Early,
    /// No ticket brought a verification id, so the one held (the spare, or
    /// one created early) is the terminal's own: if no registration uses it,
    /// the next press may.
    pub verification_is_own: bool,
    /// Taken from the ticket queue (so it must be finished or put back).
    pub from_ticket: bool,
    /// The ticket was already finished or put back.
    pub ticket_settled: bool,
    pub started: Instant,
    /// The JPEG, once captured. Held only until the enrollment is sent or queued.
    pub jpeg: Option<Vec<u8>>,
    pub stages_ms: BTreeMap<String, u64>,
    /// Why the first try did not register (when the enrollment got queued).
    pub first_try: Option<String>,
}

impl Attempt {
    pub fn new(
        id: u64,
        username: String,
        verification_id: Option<String>,
        from_ticket: bool,
    ) -> Self {
        Attempt {
            id,
            username,
            verification_id,
            early: Early::Idle,
            verification_is_own: false,
            from_ticket,
            ticket_settled: false,
            started: Instant::now(),
            jpeg: None,
            stages_ms: BTreeMap::new(),
            first_try: None,
        }
    }

    pub fn took(&mut self, shot: Shot) {
        self.stages_ms.extend(shot.stages_ms);
        self.jpeg = Some(shot.jpeg);
    }

    pub fn stage(&mut self, name: &str, took: Duration) {
        self.stages_ms.insert(
            name.to_owned(),
            u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        );
    }

    pub fn into_last_outcome(
        self,
        code: &str,
        message: &str,
        face_id: Option<String>,
    ) -> LastOutcome {
        LastOutcome {
            code: code.to_owned(),
            message: message.to_owned(),
            face_id,
            username: self.username,
            verification_id: self.verification_id,
            at: crate::time::rfc3339(crate::time::unix_now()),
            stages_ms: self.stages_ms,
        }
    }
}
