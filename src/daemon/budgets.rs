//! How long each step may take, derived from the configuration, in one
//! place: the machine's deadlines, the grace a stop gives a request on the
//! wire, and what the unit's `TimeoutStopSec=` must cover.

use std::time::Duration;

use crate::config::Config;
use crate::machine::Budgets;

/// How long a result (registered, retake, ...) is shown before idle.
pub const RESULT_HOLD: Duration = Duration::from_secs(3);

/// Added to every budget: thread wake-ups, the disk, a slow board.
pub const MARGIN: Duration = Duration::from_secs(5);

pub use crate::api::config::MAX_REQUEST_TIMEOUT_MS;

/// The longest a stop can take: after SIGTERM no new request starts (no
/// finalize, no next queued entry), so at most one request per path is on
/// the wire, each bounded by the request timeout. `systemd/enrolld.service`
/// sets `TimeoutStopSec=` above this (checked by a test).
pub const LONGEST_STOP: Duration =
    Duration::from_millis(MAX_REQUEST_TIMEOUT_MS).saturating_add(MARGIN);

/// The machine's budgets for this configuration.
pub fn budgets(config: &Config) -> Budgets {
    let request = Duration::from_millis(config.api.request_timeout_ms);
    let calls = if config.api.finalize { 2 } else { 1 };
    // Warm-up and burst frames, plus one for opening the stream, each no
    // longer than the dequeue timeout.
    let frames = config.camera.warmup_frames + config.camera.burst + 1;
    // The face check looks for up to its deadline, then finishes the burst it is in.
    let face = if config.face.enabled {
        config.face.deadline() + config.camera.dequeue_timeout() * config.camera.burst
    } else {
        Duration::ZERO
    };
    Budgets {
        result_hold: RESULT_HOLD,
        capture: config.camera.dequeue_timeout() * frames + face + MARGIN,
        create: request + MARGIN,
        submit: request * calls + MARGIN,
    }
}

/// How long a stop waits for a request on the wire before recording it as
/// an unknown delivery and exiting.
pub fn stop_grace(config: &Config) -> Duration {
    Duration::from_millis(config.api.request_timeout_ms) + MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TimeoutStopSec=` of the shipped unit, in seconds.
    fn unit_stop_timeout() -> u64 {
        let unit = include_str!("../../systemd/enrolld.service");
        let value = unit
            .lines()
            .find_map(|l| l.strip_prefix("TimeoutStopSec="))
            .expect("the unit sets TimeoutStopSec=");
        value
            .trim()
            .strip_suffix('s')
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("TimeoutStopSec={value} is not in seconds"))
    }

    #[test]
    fn the_unit_gives_a_stop_the_time_the_longest_request_needs() {
        let unit = Duration::from_secs(unit_stop_timeout());
        // A few seconds more for the LEDs, the status file and the exit.
        assert!(
            unit >= LONGEST_STOP + Duration::from_secs(5),
            "TimeoutStopSec={unit:?} is shorter than {LONGEST_STOP:?} plus 5 s"
        );
    }
}
