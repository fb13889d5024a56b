//! How long to wait before the next delivery attempt: exponential with
//! jitter, never shorter than the server's Retry-After. A pure function so
//! the schedule is tested without sleeping.

use std::time::Duration;

/// A Retry-After larger than this is treated as this: a misconfigured or
/// hostile header must not park the queue for days while entries expire.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// The delay before retry number `failures` (1 = after the first failure).
///
/// The exponential part is `base * 2^(failures-1)`, capped at `max`. "Equal
/// jitter" then picks uniformly in `[d/2, d]` (`jitter` in `[0, 1]`), so
/// terminals that lost the network together do not come back in lockstep, yet
/// never retry sooner than half the schedule. A Retry-After is honoured as a
/// floor (capped at [`RETRY_AFTER_CAP`]).
pub fn delay(
    failures: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let jittered = full / 2 + full.mul_f64(jitter) / 2;
    match retry_after {
        Some(ra) => jittered.max(ra.min(RETRY_AFTER_CAP)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Duration = Duration::from_secs(1);
    const M: Duration = Duration::from_secs(300);

    #[test]
    fn doubles_up_to_the_cap_within_the_jitter_band() {
        assert_eq!(delay(1, B, M, None, 1.0), B);
        assert_eq!(delay(1, B, M, None, 0.0), B / 2);
        assert_eq!(delay(4, B, M, None, 1.0), 8 * B);
        assert_eq!(delay(20, B, M, None, 1.0), M);
        assert_eq!(delay(u32::MAX, B, M, None, 0.0), M / 2);
        for j in [0.0, 0.3, 0.99] {
            let d = delay(3, B, M, None, j);
            assert!(d >= 2 * B && d <= 4 * B, "{d:?}");
        }
        assert_eq!(delay(0, B, M, None, f64::NAN), B / 2);
    }

    #[test]
    fn retry_after_is_a_capped_floor() {
        let ra = Duration::from_secs(120);
        assert_eq!(delay(1, B, M, Some(ra), 0.5), ra);
        assert_eq!(
            delay(1, B, M, Some(Duration::from_secs(86_400)), 0.5),
            RETRY_AFTER_CAP
        );
        // A short Retry-After does not shorten the schedule.
        assert_eq!(delay(9, B, M, Some(B), 1.0), 256 * B);
    }
}
