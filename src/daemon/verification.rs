//! The verification id an enrollment registers under, made ready while the
//! camera works.
//!
//! Without a ticket that brings one, every registration needs a fresh
//! verification (`create-verification`). Creating it only once the JPEG is
//! ready puts a whole HTTPS round trip between the press and the
//! registration; creating it at the press overlaps that round trip with the
//! camera's warm-up, frame wait and encoding.
//!
//! The price is a verification created for a press whose capture then fails
//! (a retake, a camera fault). Such a verification is kept as the *spare* and
//! used by the next press, so retakes do not leave unused verifications on
//! the server; at most one is left behind when the daemon stops.

use std::time::{Duration, Instant};

use crate::api::Outcome;

/// A spare older than this is dropped rather than used: the API does not say
/// how long an unfinished verification stays usable.
pub(super) const SPARE_MAX_AGE: Duration = Duration::from_secs(300);

/// An attempt's early create-verification.
#[derive(Debug, Default)]
pub(super) enum Early {
    /// None running: the id is known (ticket, spare, created) or the submission creates it.
    #[default]
    Idle,
    /// Running; `submit_waiting` once the JPEG is ready and the submission waits for it.
    Running { submit_waiting: bool },
    /// It failed; the registration is not sent and this outcome says why.
    Failed(Outcome),
}

/// A verification created for an attempt that ended before using it.
#[derive(Debug, Default)]
pub(super) struct Spare {
    kept: Option<(String, Instant)>,
}

impl Spare {
    pub fn keep(&mut self, id: String, now: Instant) {
        self.kept = Some((id, now));
    }

    /// The spare, if it is young enough to use.
    pub fn take(&mut self, now: Instant) -> Option<String> {
        self.kept
            .take()
            .filter(|(_, created)| now.saturating_duration_since(*created) <= SPARE_MAX_AGE)
            .map(|(id, _)| id)
    }

    /// Forgets the spare (the template it was created for may have changed).
    pub fn clear(&mut self) {
        self.kept = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_is_used_once_and_only_while_young() {
        let t0 = Instant::now();
        let mut spare = Spare::default();
        assert_eq!(spare.take(t0), None);
        spare.keep("v-1".into(), t0);
        assert_eq!(spare.take(t0 + SPARE_MAX_AGE).as_deref(), Some("v-1"));
        assert_eq!(spare.take(t0 + SPARE_MAX_AGE), None, "used once");
        spare.keep("v-2".into(), t0);
        assert_eq!(
            spare.take(t0 + SPARE_MAX_AGE + Duration::from_millis(1)),
            None
        );
        spare.keep("v-3".into(), t0);
        spare.clear();
        assert_eq!(spare.take(t0), None);
    }
}
