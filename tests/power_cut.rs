//! Power cuts in a real kernel: enrolld's promise ("nothing lost, nothing twice") checked by
//! cutting the power, not only by kill -9 (which keeps the kernel's page cache, so a missing
//! fsync passes it). Run with:
//!
//!     cargo test --test power_cut -- --nocapture
//!
//! A QEMU guest (Debian's kernel, busybox) has enrolld's state directory, /var/lib/enrolld,
//! on an ext4 file system on a virtual disk. Each boot judges what the previous cut left and
//! then drives enrollments until the host kills QEMU when the chosen step's marker shows on
//! the console (the daemon's own log, after a random delay); the next boot starts on the same
//! disk. The stand-in's ledger and the guest's events reach the host through virtio serial
//! ports written to host files, so they survive each cut; `power_cut/judge.rs` gives the
//! verdict from them. See docs/testing.md ("Power cuts").
//!
//! Knobs: `PC_CUTS` (cuts in the main chain, default 20, the first three the self-test's),
//! `PC_SEED` (the plan's seed, printed by every run; set it to replay one), and the
//! real-kernel stage's `RK_CACHE`, `RK_KERNEL_VERSION`, `RK_KERNEL_ABI`.
//!
//! Missing prerequisites (QEMU, mkfs.ext4, the Rust target, apt): the test fails naming what
//! is missing, unless `ENROLLD_SKIP=power_cut` asks to skip it outside CI (a loud `SKIP
//! power_cut` line).

#[path = "power_cut/boot.rs"]
mod boot;
#[path = "power_cut/found.rs"]
mod found;
#[path = "power_cut/judge.rs"]
mod judge;
#[path = "power_cut/plan.rs"]
mod plan;
#[path = "real_kernel/script.rs"]
mod script;
#[path = "power_cut/wear.rs"]
mod wear;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use boot::{Build, Ended};
use judge::{BootData, Kind, Verdict};
use plan::{Cut, Step};

/// What `tests/power_cut/run.sh` prepared.
pub struct Guest {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The QEMU machine (program first), without memory, disks or devices.
    pub qemu: Vec<String>,
    pub out: PathBuf,
}

/// Prepared once for both tests; `None` when a prerequisite is missing and its skip was asked for.
fn guest() -> Option<&'static Guest> {
    static GUEST: OnceLock<Option<Guest>> = OnceLock::new();
    GUEST
        .get_or_init(|| {
            let named = script::run_stage_script("power_cut", "x86_64")?;
            let script = "tests/power_cut/run.sh";
            Some(Guest {
                kernel: named.path("KERNEL", script),
                initrd: named.path("INITRD", script),
                qemu: named
                    .get("QEMU")
                    .unwrap_or_else(|| panic!("{script} named no QEMU"))
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                out: named.path("OUT", script),
            })
        })
        .as_ref()
}

/// One TCG guest at a time: two would only slow each other down (and the cut instants).
static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text}: not a number")),
    )
}

/// The plan's seed, one per process: both tests plan from it, so the main chain's first cuts
/// are the self-test's.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| env_number("PC_SEED").unwrap_or_else(|| fastrand::u64(..)))
}

/// The self-test's cuts: just after the daemon acknowledged a ticket (it has replaced the
/// tickets file; without fsync the rename waits in ext4's journal for its 5 s commit).
fn self_test_cuts() -> Vec<Cut> {
    plan::only(Step::TicketAcked, 3, seed())
}

/// Every step of an enrollment cut, on the ordinary build. The chain starts with the
/// self-test's cuts, so it is also the self-test's control: the same cuts after the same
/// delays that find losses without fsync must find none with it.
#[test]
fn x86_64_power_cuts_lose_nothing_and_send_nothing_twice() {
    let _one = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some(guest) = guest() else { return };
    let cuts = env_number("PC_CUTS").unwrap_or(20) as usize;
    let first = self_test_cuts();
    assert!(
        cuts >= first.len() + Step::ALL.len(),
        "PC_CUTS={cuts}: at least {} (the self-test's cuts, then every step once)",
        first.len() + Step::ALL.len()
    );
    let seed = seed();
    let mut plan = first.clone();
    plan.extend(plan::spread(cuts - first.len(), seed));
    let verdict = run_chain(guest, "spread", Build::Normal, &plan, seed);
    assert!(
        verdict.problems.is_empty(),
        "{} problem(s) after {cuts} power cuts (PC_SEED={seed} replays the plan):\n  {}\n{}",
        verdict.problems.len(),
        list(&verdict.problems),
        verdict.summary
    );
}

/// The harness's own test: with enrolld built without fsync (the test-only feature
/// `test-no-fsync`), the self-test's cuts must find a loss. (With fsync, the same cuts find
/// none: they open the main chain.)
#[test]
fn x86_64_the_cuts_find_what_a_build_without_fsync_loses() {
    let _one = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some(guest) = guest() else { return };
    let seed = seed();
    let cuts = self_test_cuts();
    let verdict = run_chain(guest, "nofsync", Build::NoFsync, &cuts, seed);
    let (harness, losses): (Vec<_>, Vec<_>) = verdict
        .problems
        .iter()
        .partition(|p| p.kind == Kind::Harness);
    assert!(
        harness.is_empty(),
        "the chain without fsync did not run as planned:\n  {}",
        list(&harness)
    );
    // A loss, not any problem: a daemon that merely started uncleanly would otherwise pass
    // for a harness that notices a missing fsync.
    assert!(
        losses.iter().any(|p| p.kind == Kind::Lost),
        "{} cuts just after a ticket was acknowledged found no loss in a build without fsync \
         (PC_SEED={seed}): the harness would not notice a missing fsync\n  {}\n{}",
        cuts.len(),
        list(&losses),
        verdict.summary
    );
    println!(
        "power_cut[nofsync]: the cuts found {} loss(es), as they must:\n  {}",
        losses.len(),
        list(&losses)
    );
}

/// What the SD card is written per enrollment (issue: at most 3 fsyncs and 2x the JPEG for a
/// registered press, nothing while idle): one boot on a fresh disk, not cut, whose driver
/// measures each step with the block device's own counters (drive.sh `measure_wear`). Idle
/// must write nothing and a registered press meet the goals (docs/testing.md keeps the
/// figures), with the metrics textfile on that disk and a ticket pushed and pressed.
#[test]
fn x86_64_disk_writes_per_enrollment() {
    let _one = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some(guest) = guest() else { return };
    let dir = guest.out.join("wear");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let disk = dir.join("disk.img");
    make_disk(&disk);
    let found = found::read(&disk, &dir.join("found"));
    let b = BootData::read(boot::boot_measuring_wear(guest, &dir, &disk), found);
    let failed: Vec<&String> = b.events.iter().filter(|e| e.contains("FAILED")).collect();
    let done = b.events.iter().any(|e| e == "PC-WEAR-DONE");
    assert!(
        failed.is_empty() && done,
        "the wear boot did not measure every step ({:?}; failures: {failed:?}); console: {}\n{}",
        b.boot.ended,
        b.boot.console.display(),
        tail(&b.console, 30)
    );
    let steps: Vec<wear::Step> = b
        .events
        .iter()
        .filter_map(|e| wear::Step::parse(e))
        .collect();
    let jpeg_bytes: Vec<u64> = b
        .ledger
        .iter()
        .filter_map(|r| r.get("jpeg_len")?.as_u64())
        .collect();
    let report = wear::Report::new(&steps, &jpeg_bytes)
        .unwrap_or_else(|e| panic!("the wear boot's figures: {e}; events: {:?}", b.events));
    println!("{report}");
    let missed = report.goals_missed();
    assert!(
        missed.is_empty(),
        "the SD card wear goals are not met:\n  {}",
        missed.join("\n  ")
    );
}

fn list<T: ToString>(problems: &[T]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Boots the chain: a fresh disk, one boot per planned cut, and a last boot that judges the
/// last cut and powers off. Returns the verdict (and prints the summary and timings).
fn run_chain(guest: &Guest, name: &str, build: Build, cuts: &[Cut], seed: u64) -> Verdict {
    let dir = guest.out.join(format!("chain-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let disk = dir.join("disk.img");
    make_disk(&disk);
    println!(
        "power_cut[{name}]: {} cuts (PC_SEED={seed}), {build:?} build, logs in {}",
        cuts.len(),
        dir.display()
    );
    let started = Instant::now();
    let mut boots = Vec::new();
    let plan = cuts.iter().map(|&c| Some(c)).chain([None]);
    for (index, cut) in plan.enumerate() {
        // What the last cut left, read before this boot's daemon can touch it.
        let found = found::read(&disk, &dir.join("found"));
        let b = boot::boot(guest, &dir, &disk, index, cut, build);
        let what = match (&b.ended, cut) {
            (
                Ended::Cut {
                    marker_line,
                    after_arm,
                },
                Some(c),
            ) => format!(
                "cut at {} +{} ms after '{}' ({:.1} s after arming)",
                c.step,
                c.delay.as_millis(),
                marker_line.trim(),
                after_arm.as_secs_f64()
            ),
            (ended, _) => format!("{ended:?}"),
        };
        println!(
            "power_cut[{name}] boot {index}: {what}, {:.1} s",
            b.took.as_secs_f64()
        );
        let stop = cut.is_some() && !matches!(b.ended, Ended::Cut { .. });
        boots.push(BootData::read(b, found));
        if stop {
            break; // The chain is broken; what ran is judged (and fails).
        }
    }
    let took = started.elapsed();
    let verdict = judge::judge(&boots);
    println!(
        "power_cut[{name}]: {} boots in {:.0} s ({:.1} s each); {}",
        boots.len(),
        took.as_secs_f64(),
        took.as_secs_f64() / boots.len() as f64,
        verdict.summary
    );
    check_build(name, build, &boots);
    if !verdict.problems.is_empty() {
        let last = boots.last().expect("one boot at least");
        println!(
            "--- last lines of {} ---\n{}",
            last.boot.console.display(),
            tail(&last.console, 40)
        );
    }
    verdict
}

/// The disk: a raw ext4 image, made as mkfs.ext4 makes one by default, with the inode
/// tables and journal written out now (so the guest's kernel does no background
/// initialisation of its own during the cuts).
fn make_disk(disk: &Path) {
    let out = Command::new("mkfs.ext4")
        .args([
            "-q",
            "-F",
            "-L",
            "enrolld",
            "-E",
            "lazy_itable_init=0,lazy_journal_init=0",
        ])
        .arg(disk)
        .arg("64M")
        .output()
        .unwrap_or_else(|e| panic!("cannot run mkfs.ext4: {e}"));
    assert!(
        out.status.success(),
        "mkfs.ext4 {}: {}",
        disk.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The daemon said at start which build it is: the self-test must really run without fsync,
/// and the main chain with it.
fn check_build(name: &str, build: Build, boots: &[BootData]) {
    let warned = boots
        .iter()
        .any(|b| b.console.contains("built with the test-no-fsync feature"));
    assert_eq!(
        warned,
        build == Build::NoFsync,
        "power_cut[{name}]: the {build:?} build was asked for, but the daemon's start-up log \
         {} the test-no-fsync warning",
        if warned { "has" } else { "lacks" }
    );
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
