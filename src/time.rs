//! Every clock enrolld reads. Timers use the monotonic clock everywhere; the
//! wall clock is only for labels (status file, usernames) and the TLS clock
//! gate; CLOCK_BOOTTIME ages queue entries across suspend.
//!
//! The kernel clocks are read here and nowhere else, so the one `unsafe` call
//! they need is written (and checked) once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Reads one kernel clock.
fn clock_gettime(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec owned by this frame, and
    // clock_gettime writes nothing else. It fails only for an unknown clock id;
    // the two used here exist on every Linux enrolld supports (MONOTONIC
    // always, BOOTTIME since 2.6.39), and a failure leaves `ts` at zero.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0, "clock_gettime({clock})");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// CLOCK_MONOTONIC: the clock of the kernel's GPIO edge timestamps
/// (gpiolib-cdev uses `ktime_get_ns`) and of V4L2 buffer timestamps with
/// `TIMESTAMP_MONOTONIC`, so times taken here compare with theirs.
pub fn monotonic() -> Duration {
    clock_gettime(libc::CLOCK_MONOTONIC)
}

/// [`monotonic`] in nanoseconds, the unit of GPIO edge timestamps.
pub fn monotonic_ns() -> u64 {
    u64::try_from(monotonic().as_nanos()).unwrap_or(u64::MAX)
}

/// CLOCK_BOOTTIME: monotonic, and it keeps counting while the board is suspended.
pub fn boottime() -> Duration {
    clock_gettime(libc::CLOCK_BOOTTIME)
}

/// Seconds since the Unix epoch when this binary was built (see `src/build.rs`).
pub const BUILD_EPOCH: u64 = match u64::from_str_radix(env!("ENROLLD_BUILD_EPOCH"), 10) {
    Ok(v) => v,
    Err(_) => 0,
};

/// Current wall-clock time in Unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A board without a real-time clock boots in the past; certificates then
/// look "not yet valid". A wall clock before the build date is certainly wrong.
pub fn wall_clock_plausible(unix_seconds: u64) -> bool {
    unix_seconds >= BUILD_EPOCH
}

/// What a wall clock before the build date means and what to do, for logs
/// and the status file.
pub const CLOCK_NOT_SET: &str = "the wall clock is not set (it reads before this build's date), \
     so TLS cannot check IDMeta's certificate: enrollments are queued until it is; enable time \
     sync (`timedatectl set-ntp true`, then `timedatectl timesync-status`) or fit a \
     battery-backed real-time clock";

/// (year, month, day, hour, minute, second) in UTC; Howard Hinnant's
/// days-from-civil inverse, valid for all dates after 1970.
pub fn civil_from_unix(unix_seconds: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// RFC 3339 UTC timestamp, e.g. `2025-07-30T09:15:00Z`.
pub fn rfc3339(unix_seconds: u64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(unix_seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_753_866_900), "2025-07-30T09:15:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn kernel_clocks_run() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
        assert!(boottime() >= monotonic() - Duration::from_millis(1));
    }

    #[test]
    fn clock_before_build_is_implausible() {
        assert!(!wall_clock_plausible(0));
        assert!(wall_clock_plausible(BUILD_EPOCH));
    }
}
