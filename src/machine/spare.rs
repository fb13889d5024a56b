//! The spare verification: one created at a press whose enrollment then
//! ended without sending (a retake, a failed capture), kept for the next
//! press so retakes do not leave unused verifications on the server.
//!
//! Without a ticket that brings one, every registration needs a fresh
//! verification (`create-verification`). Creating it at the press overlaps
//! that HTTPS round trip with the camera's warm-up, frame wait and encoding;
//! the price is a verification for a press whose capture fails, which is
//! what the spare recovers. At most one is left behind when the daemon stops.

use std::time::{Duration, Instant};

/// A spare older than this is dropped rather than used: the API does not say
/// how long an unfinished verification stays usable.
pub const SPARE_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default)]
pub struct Spare {
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
