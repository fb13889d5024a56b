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
//! Missing prerequisites (QEMU, cross compiler, musl target, apt): with `CI`
//! set the test fails naming what is missing; elsewhere it prints a loud
//! `SKIP real_kernel[<arch>]: <missing>` and passes.

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
            for m in ["gpio_sim ", "vivid ", "configfs "] {
                if !modules.lines().any(|l| l.starts_with(m)) {
                    return Err(format!("/proc/modules from the guest lacks {}", m.trim()));
                }
            }
            Ok(())
        }
        "capture-vivid-yuyv" => check_jpeg(&artifacts.join("capture-yuyv.jpg"), 1280, 720),
        "capture-vivid-nv12" => check_jpeg(&artifacts.join("capture-nv12.jpg"), 1280, 720),
        // The registration the stand-in received from the daemon (640x480 in
        // guest/lib.sh's daemon_config).
        "daemon-button" => check_jpeg(&artifacts.join("daemon-button.jpg"), 640, 480),
        _ => Ok(()),
    }
}
