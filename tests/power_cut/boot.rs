//! One boot of the guest under QEMU, ended by a power cut or by the guest itself.
//!
//! The disk is a raw image on the host, attached as virtio-blk with `cache=writeback`:
//! QEMU's own process holds nothing the guest wrote (raw has no format metadata of its own,
//! unlike qcow2, whose cluster tables sit in QEMU's memory until a flush), and every write
//! QEMU has issued is in the host's page cache, which outlives QEMU. So SIGKILL of QEMU loses
//! exactly what the guest had not yet written to its disk (its own page cache, the ext4
//! journal's running transaction), as a power cut does; see docs/testing.md for why
//! `none` and `unsafe` behave the same under a kill and what this does not model.
//!
//! The console (the serial port) is read live from QEMU's stdout to find the cut's marker;
//! the two virtio serial ports are written to host files by QEMU before the guest's write
//! returns, so they keep everything the guest said up to the cut.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Guest;
use crate::plan::Cut;

/// Which enrolld the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Normal,
    /// Built with the test-only feature `test-no-fsync`.
    NoFsync,
}

impl Build {
    fn name(self) -> &'static str {
        match self {
            Build::Normal => "normal",
            Build::NoFsync => "nofsync",
        }
    }
}

/// How a boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Killed as planned: the marker line seen, and how long after the arming line.
    Cut {
        marker_line: String,
        after_arm: Duration,
    },
    /// The guest powered off by itself (the chain's last boot, or a guest that gave up).
    PoweredOff,
    /// Killed at the time limit; what was awaited.
    TimedOut { waiting_for: String },
}

/// What one boot left on the host.
#[derive(Debug, Clone)]
pub struct Boot {
    pub index: usize,
    pub planned: Option<Cut>,
    pub ended: Ended,
    pub took: Duration,
    pub console: PathBuf,
    pub events: PathBuf,
    pub ledger: PathBuf,
}

/// Longest a boot may take: a TCG boot, the judging of the last cut (a few enrollments
/// and deliveries, resends) and the step's workload took 15-40 s on a loaded 2-core host.
const BOOT_LIMIT: Duration = Duration::from_secs(240);

/// Boots the guest on `disk` and cuts the power as `cut` says (or lets the last boot,
/// `cut` = None, run to its power-off).
pub fn boot(
    guest: &Guest,
    dir: &Path,
    disk: &Path,
    index: usize,
    cut: Option<Cut>,
    build: Build,
) -> Boot {
    let step = cut.map_or("none", |c| c.step.name());
    run(guest, dir, disk, index, cut, build, step)
}

/// One boot, not cut, that measures what the disk is written per enrollment (drive.sh's
/// `measure_wear`) after judging the disk as it found it, then powers off.
pub fn boot_measuring_wear(guest: &Guest, dir: &Path, disk: &Path) -> Boot {
    run(guest, dir, disk, 0, None, Build::Normal, "wear")
}

fn run(
    guest: &Guest,
    dir: &Path,
    disk: &Path,
    index: usize,
    cut: Option<Cut>,
    build: Build,
    step: &str,
) -> Boot {
    let file = |what: &str, ext: &str| dir.join(format!("{what}-{index:03}.{ext}"));
    let (console, events, ledger) = (
        file("console", "log"),
        file("events", "log"),
        file("ledger", "jsonl"),
    );
    let append = format!(
        "console=ttyS0 quiet loglevel=3 panic=-1 pc.boot={index} pc.step={step} pc.build={} pc.last={}",
        build.name(),
        u8::from(cut.is_none())
    );
    let mut qemu = Command::new(&guest.qemu[0]);
    qemu.args(&guest.qemu[1..])
        .args([
            "-m",
            "512",
            "-nic",
            "none",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&guest.kernel)
        .arg("-initrd")
        .arg(&guest.initrd)
        .args(["-append", &append, "-serial", "stdio"])
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=virtio,cache=writeback",
            disk.display()
        ))
        .args(["-device", "virtio-serial-pci"])
        .arg("-chardev")
        .arg(format!("file,id=ledger,path={}", ledger.display()))
        .args(["-device", "virtserialport,chardev=ledger,name=ledger"])
        .arg("-chardev")
        .arg(format!("file,id=events,path={}", events.display()))
        .args(["-device", "virtserialport,chardev=events,name=events"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = qemu
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", guest.qemu[0]));
    let lines = read_console(&mut child, &console, started);
    let ended = watch(&mut child, &lines, cut);
    let _ = child.kill();
    let _ = child.wait();
    Boot {
        index,
        planned: cut,
        ended,
        took: started.elapsed(),
        console,
        events,
        ledger,
    }
}

/// Console lines as they arrive; the channel closes when QEMU ends. Also saved to `log`,
/// each line after the host's time since QEMU started (`  12.345 `), which shows how long
/// each step took in the guest and where a cut fell.
fn read_console(child: &mut Child, log: &Path, started: Instant) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut log = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut raw = Vec::new();
        while reader.read_until(b'\n', &mut raw).is_ok_and(|n| n > 0) {
            let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
            let _ = writeln!(log, "{:8.3} {line}", started.elapsed().as_secs_f64());
            raw.clear();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the cut's marker (then waits its delay and returns, for the caller to kill
/// QEMU) or for the guest to power off.
fn watch(child: &mut Child, lines: &mpsc::Receiver<String>, cut: Option<Cut>) -> Ended {
    let deadline = Instant::now() + BOOT_LIMIT;
    let mut armed_at: Option<Instant> = None;
    let mut seen = 0;
    let waiting_for = match cut {
        Some(c) => format!("the marker '{}' of step {}", c.step.marker().0, c.step),
        None => "the power-off".to_owned(),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                return Ended::PoweredOff;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => return Ended::TimedOut { waiting_for },
        };
        let Some(cut) = cut else { continue };
        if armed_at.is_none() {
            if line.contains(cut.step.armed_by()) {
                armed_at = Some(Instant::now());
            }
            continue;
        }
        let (marker, occurrence) = cut.step.marker();
        if line.contains(marker) {
            seen += 1;
            if seen == occurrence {
                std::thread::sleep(cut.delay);
                let after_arm = armed_at.expect("armed").elapsed();
                return Ended::Cut {
                    marker_line: line,
                    after_arm,
                };
            }
        }
    }
}
