//! Keeps every LED line within three flashes a second when one pattern cuts into another.
//!
//! Each program on its own keeps its flashes [`MIN_FLASH_SPACING`] apart (the tests in
//! `patterns.rs` read the tables), but the indicator switches at once, mid-step: a refused
//! press right after a retake's double blink would start three more flashes a few tens of
//! milliseconds after the last one. The indicator asks here before it lights a line: a line
//! that would light again too soon stays dark until the spacing has passed, then lights for the
//! rest of its step. Pure; the caller passes the time.

use tokio::time::Instant;

use super::patterns::{Levels, MIN_FLASH_SPACING, OFF};

#[derive(Debug)]
pub struct FlashLimit {
    /// When each line last went from dark to lit.
    last_onset: [Option<Instant>; 2],
    /// What was last allowed: a line already lit is not a new flash.
    lit: Levels,
}

impl Default for FlashLimit {
    fn default() -> Self {
        FlashLimit {
            last_onset: [None, None],
            lit: OFF,
        }
    }
}

impl FlashLimit {
    /// The levels that may be shown now for the `wanted` ones, and when to ask again if a line
    /// was held dark (`None`: everything wanted is allowed).
    pub fn admit(&mut self, wanted: Levels, now: Instant) -> (Levels, Option<Instant>) {
        let mut allowed = wanted;
        let mut ask_again: Option<Instant> = None;
        for line in 0..wanted.len() {
            if !wanted[line] || self.lit[line] {
                continue;
            }
            match self.last_onset[line].map(|t| t + MIN_FLASH_SPACING) {
                Some(free_at) if now < free_at => {
                    allowed[line] = false;
                    ask_again = Some(ask_again.map_or(free_at, |t| t.min(free_at)));
                }
                _ => self.last_onset[line] = Some(now),
            }
        }
        self.lit = allowed;
        (allowed, ask_again)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ON: Levels = [true, false];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_flash_too_soon_after_the_last_is_held_dark_until_the_spacing_has_passed() {
        let t0 = Instant::now();
        let mut limit = FlashLimit::default();
        assert_eq!(limit.admit(ON, t0), (ON, None));
        assert_eq!(limit.admit(OFF, t0 + ms(100)), (OFF, None));
        // Lit again 150 ms after the first flash started: held until 334 ms.
        let free_at = t0 + MIN_FLASH_SPACING;
        assert_eq!(limit.admit(ON, t0 + ms(150)), (OFF, Some(free_at)));
        assert_eq!(limit.admit(ON, free_at), (ON, None));
    }

    #[test]
    fn a_line_that_stays_lit_is_not_a_new_flash() {
        let t0 = Instant::now();
        let mut limit = FlashLimit::default();
        limit.admit(ON, t0);
        // A pattern that starts lit while the last one is lit (busy, then success) runs on.
        assert_eq!(limit.admit(ON, t0 + ms(10)), (ON, None));
        assert_eq!(limit.admit(ON, t0 + ms(3_000)), (ON, None));
    }

    #[test]
    fn each_line_has_its_own_spacing() {
        let t0 = Instant::now();
        let mut limit = FlashLimit::default();
        limit.admit([true, false], t0);
        limit.admit(OFF, t0 + ms(100));
        // Red may light although green flashed 200 ms ago; green may not yet.
        let (allowed, again) = limit.admit([true, true], t0 + ms(200));
        assert_eq!(allowed, [false, true]);
        assert_eq!(again, Some(t0 + MIN_FLASH_SPACING));
    }
}
