//! The wear boot's figures (drive.sh `measure_wear`): what the state directory's disk
//! received per step, as the block device counts it, and how that compares with the goals
//! for a registered press (at most 3 fsyncs, at most 2x the JPEG's bytes) and idle (nothing).

use std::fmt;

/// One `PC-WEAR <what> writes=N bytes=N flushes=N` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub what: String,
    pub writes: i64,
    pub bytes: i64,
    pub flushes: i64,
}

impl Step {
    pub fn parse(event: &str) -> Option<Step> {
        let mut words = event.strip_prefix("PC-WEAR ")?.split_whitespace();
        let what = words.next()?.to_owned();
        let mut field = |name: &str| -> Option<i64> {
            words
                .next()?
                .strip_prefix(name)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        Some(Step {
            writes: field("writes")?,
            bytes: field("bytes")?,
            flushes: field("flushes")?,
            what,
        })
    }
}

/// The figures, with the calibration the guest measured first.
pub struct Report {
    steps: Vec<Step>,
    /// Cache flushes one fsync of a new small file costs this disk (ext4's journal commit).
    flushes_per_fsync: i64,
    /// The registered press's JPEG (the stand-in's record), bytes.
    jpeg: u64,
}

const STEPS: [&str; 7] = [
    "sync-alone",
    "one-fsync",
    "idle-20s",
    "registered-press",
    "queued-press",
    "delivery",
    "idle-20s-after",
];

impl Report {
    pub fn new(steps: &[Step], jpeg_bytes: &[u64]) -> Result<Report, String> {
        for name in STEPS {
            if !steps.iter().any(|s| s.what == name) {
                return Err(format!("no figure for {name}"));
            }
        }
        let flushes_per_fsync = steps
            .iter()
            .find(|s| s.what == "one-fsync")
            .map_or(0, |s| s.flushes);
        if flushes_per_fsync < 1 {
            return Err(format!(
                "one fsync cost {flushes_per_fsync} cache flushes: the disk does not report them"
            ));
        }
        let jpeg = *jpeg_bytes
            .first()
            .ok_or("the stand-in recorded no JPEG (the registered press)")?;
        Ok(Report {
            steps: steps.to_vec(),
            flushes_per_fsync,
            jpeg,
        })
    }

    fn step(&self, what: &str) -> &Step {
        self.steps
            .iter()
            .find(|s| s.what == what)
            .expect("checked in new")
    }

    /// Idle steps that wrote anything.
    pub fn idle_writes(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| s.what.starts_with("idle") && (s.writes != 0 || s.bytes != 0))
            .collect()
    }

    /// fsyncs (journal commits) a step cost, from its cache flushes.
    fn fsyncs(&self, s: &Step) -> f64 {
        s.flushes as f64 / self.flushes_per_fsync as f64
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.step("one-fsync");
        writeln!(
            f,
            "power_cut[wear]: writes to the state directory's ext4 disk per step (JPEG {} bytes; \
             one fsync of a new 4 KiB file: {} write requests, {} bytes, {} cache flushes)",
            self.jpeg, one.writes, one.bytes, one.flushes
        )?;
        for s in &self.steps {
            if matches!(s.what.as_str(), "sync-alone" | "one-fsync") {
                continue;
            }
            writeln!(
                f,
                "  {:<17} {:>4} writes {:>9} bytes ({:.2}x the JPEG) {:>3} flushes (~{:.1} fsyncs)",
                s.what,
                s.writes,
                s.bytes,
                s.bytes as f64 / self.jpeg as f64,
                s.flushes,
                self.fsyncs(s)
            )?;
        }
        let press = self.step("registered-press");
        let (fsyncs, ratio) = (self.fsyncs(press), press.bytes as f64 / self.jpeg as f64);
        let met = |ok: bool| if ok { "met" } else { "NOT met" };
        write!(
            f,
            "  goals for a registered press: at most 3 fsyncs (~{fsyncs:.1}: {}), at most 2x the \
             JPEG ({ratio:.2}x: {}); idle: nothing written ({})",
            met(fsyncs <= 3.0),
            met(ratio <= 2.0),
            met(self.idle_writes().is_empty())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_parses_and_others_do_not() {
        assert_eq!(
            Step::parse("PC-WEAR delivery writes=12 bytes=163840 flushes=4"),
            Some(Step {
                what: "delivery".into(),
                writes: 12,
                bytes: 163_840,
                flushes: 4
            })
        );
        assert_eq!(Step::parse("PC-WEAR-DONE"), None);
        assert_eq!(Step::parse("PC-WEAR x writes=1 bytes=2"), None);
    }
}
