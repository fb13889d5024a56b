//! Real-kernel tests: enrolld and the guest helpers against the kernel's own
//! gpio-sim and vivid drivers, in Debian's 6.1 kernel under QEMU (TCG), on
//! x86_64 and aarch64. Run with:
//!
//!     cargo test --test real_kernel -- --nocapture
//!
//! `tests/real_kernel/run.sh <arch>` builds and boots the guest (see
//! README.md); `real_kernel/harness.rs` judges the verdict the guest printed
//! on its serial console. Each scenario script under
//! `tests/real_kernel/guest/scenarios/` must report PASS: a scenario that
//! reports nothing, a log without `ENROLLD-DONE`, or a garbled file block is a
//! failure. QEMU's own exit status is not evidence of anything.
//!
//! Missing prerequisites (QEMU, cross compiler, musl target, apt): the test
//! fails naming what is missing, unless `ENROLLD_SKIP=real_kernel` asks to skip
//! it outside CI (then it prints a loud `SKIP real_kernel` line and passes).

#[path = "real_kernel/harness.rs"]
mod harness;
#[path = "real_kernel/report.rs"]
mod report;
#[path = "real_kernel/script.rs"]
mod script;

use std::path::Path;
use std::sync::Mutex;

use harness::check_jpeg;

/// Two TCG guests and their builds at once would only slow each other down.
static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn x86_64_guest_scenarios() {
    run_guest("x86_64");
}

#[test]
fn aarch64_guest_scenarios() {
    run_guest("aarch64");
}

fn run_guest(arch: &str) {
    let _one = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    harness::run("real_kernel", arch, host_check);
}

/// Checks made on the host after a scenario passed in the guest, on the files
/// it exported.
fn host_check(scenario: &str, artifacts: &Path) -> Result<(), String> {
    let read = |name: &str| {
        std::fs::read_to_string(artifacts.join(name))
            .map_err(|e| format!("exported file {name} missing: {e}"))
    };
    match scenario {
        "guest-boots" => {
            let modules = read("proc-modules")?;
            for m in ["gpio_sim ", "vivid ", "configfs ", "v4l2loopback "] {
                if !modules.lines().any(|l| l.starts_with(m)) {
                    return Err(format!("/proc/modules from the guest lacks {}", m.trim()));
                }
            }
            Ok(())
        }
        "capture-vivid-yuyv" => check_jpeg(&artifacts.join("capture-yuyv.jpg"), 1280, 720),
        "capture-vivid-nv12" => check_jpeg(&artifacts.join("capture-nv12.jpg"), 1280, 720),
        // The camera's own frame, passed through: byte for byte the file made here.
        "capture-loopback-mjpeg" => {
            let fed = read("loopback-mjpeg.fed")?;
            same_bytes(
                &artifacts.join("loopback-mjpeg.jpg"),
                &loopback_frames(artifacts).join(fed.trim()),
            )?;
            check_jpeg(&artifacts.join("loopback-mjpeg.jpg"), 1280, 720)
        }
        // Encoded by enrolld from the YUYV frame of face-1: the same picture as face-1.jpg.
        "capture-loopback-yuyv" => {
            let jpg = artifacts.join("loopback-yuyv.jpg");
            check_jpeg(&jpg, 1280, 720)?;
            same_picture(&jpg, &loopback_frames(artifacts).join("face-1.jpg"))
        }
        // The registration the stand-in received from the daemon (640x480 in
        // guest/lib.sh's daemon_config).
        "daemon-button" => check_jpeg(&artifacts.join("daemon-button.jpg"), 640, 480),
        _ => Ok(()),
    }
}

/// The frames the guest's camera played, made on the host by tests/real_kernel/host/loopback.sh
/// in `$RK_CACHE/loopback-frames`, beside `$RK_CACHE/<arch>/artifacts`.
fn loopback_frames(artifacts: &Path) -> std::path::PathBuf {
    artifacts
        .parent()
        .and_then(Path::parent)
        .unwrap_or(artifacts)
        .join("loopback-frames")
}

fn same_bytes(got: &Path, want: &Path) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    if read(got)? == read(want)? {
        Ok(())
    } else {
        Err(format!("{} differs from {}", got.display(), want.display()))
    }
}

/// Luma within a few levels on average: the same picture through another encoder (a
/// garbled, shifted or other picture differs by tens of levels).
fn same_picture(got: &Path, want: &Path) -> Result<(), String> {
    const MAX_MEAN_DIFFERENCE: f64 = 6.0;
    let luma = |p: &Path| {
        image::open(p)
            .map(|i| i.to_luma8())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (a, b) = (luma(got)?, luma(want)?);
    if a.dimensions() != b.dimensions() {
        return Err(format!(
            "{} and {} differ in size",
            got.display(),
            want.display()
        ));
    }
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    let mean = total as f64 / a.as_raw().len() as f64;
    if mean <= MAX_MEAN_DIFFERENCE {
        Ok(())
    } else {
        Err(format!(
            "{} is not the picture of {}: mean luma difference {mean:.1} (at most {MAX_MEAN_DIFFERENCE})",
            got.display(),
            want.display()
        ))
    }
}
