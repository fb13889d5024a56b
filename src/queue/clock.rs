//! How old an entry is, on a board that may not know the date.
//!
//! Boards without a real-time clock boot with the wall clock years behind and
//! jump forward when NTP syncs. An age taken from the wall clock alone would
//! expire every entry queued before the jump (or keep them forever after a
//! backward jump). So an entry records the wall clock, the kernel boot id and
//! CLOCK_BOOTTIME; its age is, in order of trust:
//! 1. same boot: the CLOCK_BOOTTIME difference (monotonic, exact);
//! 2. another boot, both wall clocks plausible (after the build date): their difference;
//! 3. otherwise: the time since this process opened the queue, which is
//!    shorter than the truth, so the entry is kept a little longer rather
//!    than dropped on a guess.

use std::time::{Duration, Instant};

use super::entry::Created;

/// The present, measured the same three ways as [`Created`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    pub unix: u64,
    pub boot_id: String,
    pub boottime: Duration,
    pub mono: Instant,
}

impl Now {
    /// Reads the clocks.
    pub fn read() -> Now {
        Now {
            unix: crate::time::unix_now(),
            boot_id: boot_id(),
            boottime: crate::time::boottime(),
            mono: Instant::now(),
        }
    }

    /// The creation record for an entry made now.
    pub fn created(&self) -> Created {
        Created {
            unix: self.unix,
            boot_id: self.boot_id.clone(),
            boottime_ms: u64::try_from(self.boottime.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Age of an entry created at `created`; `opened` is when the queue was opened.
    pub fn age_of(&self, created: &Created, opened: Instant) -> Duration {
        if !created.boot_id.is_empty() && created.boot_id == self.boot_id {
            return self
                .boottime
                .saturating_sub(Duration::from_millis(created.boottime_ms));
        }
        let plausible = crate::time::wall_clock_plausible;
        if plausible(created.unix) && plausible(self.unix) {
            return Duration::from_secs(self.unix.saturating_sub(created.unix));
        }
        self.mono.saturating_duration_since(opened)
    }
}

/// The kernel's random id of this boot; empty if unreadable (then ages fall
/// back to the wall clock). The shipped unit passes it as `ENROLLD_BOOT_ID=%b`
/// because its `ProcSubset=pid` hides /proc/sys.
fn boot_id() -> String {
    boot_id_from(
        std::env::var("ENROLLD_BOOT_ID").ok(),
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok(),
    )
}

/// systemd's `%b` is the boot id without dashes, the kernel's file has them:
/// both become the dashed form, so entries queued under either compare equal.
fn boot_id_from(env: Option<String>, proc_file: Option<String>) -> String {
    let raw = env
        .filter(|v| !v.trim().is_empty())
        .or(proc_file)
        .unwrap_or_default();
    let hex: String = raw.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return String::new();
    }
    let hex = hex.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(unix: u64, boot: &str, boottime_s: u64, mono: Instant) -> Now {
        Now {
            unix,
            boot_id: boot.into(),
            boottime: Duration::from_secs(boottime_s),
            mono,
        }
    }

    #[test]
    fn age_prefers_the_monotonic_clock_of_the_same_boot() {
        let t0 = Instant::now();
        let good = crate::time::BUILD_EPOCH + 1000;
        // Created before NTP sync (wall clock in 1970), same boot.
        let created = now(10, "A", 100, t0).created();
        let later = now(good, "A", 160, t0);
        assert_eq!(later.age_of(&created, t0), Duration::from_secs(60));
        // Another boot with plausible clocks: wall difference.
        let created = now(good, "A", 100, t0).created();
        let later = now(good + 30, "B", 5, t0);
        assert_eq!(later.age_of(&created, t0), Duration::from_secs(30));
        // Another boot, creation clock implausible: time since open.
        let created = now(10, "A", 100, t0).created();
        let later = now(good, "B", 5, t0 + Duration::from_secs(7));
        assert_eq!(later.age_of(&created, t0), Duration::from_secs(7));
    }

    #[test]
    fn reads_real_clocks() {
        let n = Now::read();
        assert_eq!(n.boot_id.len(), 36, "boot id {:?}", n.boot_id);
        assert!(n.boottime > Duration::ZERO);
    }

    #[test]
    fn the_boot_id_from_the_unit_and_from_proc_are_the_same() {
        let dashed = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let systemd = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
        assert_eq!(boot_id_from(Some(systemd.into()), None), dashed);
        assert_eq!(boot_id_from(None, Some(format!("{dashed}\n"))), dashed);
        // Hidden /proc/sys and no variable: no boot id (ages use the wall clock).
        assert_eq!(boot_id_from(None, None), "");
        assert_eq!(boot_id_from(Some("".into()), Some(dashed.into())), dashed);
        assert_eq!(boot_id_from(Some("%b".into()), None), "");
    }
}
