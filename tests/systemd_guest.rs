//! The package as shipped, under a real systemd: enrolld's `.deb` installed with `apt` in a
//! Debian bookworm guest booted under QEMU (TCG) with systemd as PID 1, on the kernel, gpio-sim
//! and vivid of the real-kernel tests, and vimc driven by libcamera into v4l2loopback. Run with:
//!
//!     cargo test --test systemd_guest -- --nocapture
//!
//! `tests/systemd_guest/run.sh <arch>` builds the package, the root file system and the disk
//! and boots it (see docs/testing.md); the guest installs the package as README's install
//! steps say and runs the scenarios under `tests/systemd_guest/guest/scenarios/`, reporting
//! each on a virtio serial port. Every scenario must report PASS, and the guest must get to
//! the end (`ENROLLD-DONE`, after its own reboot): a scenario that reports nothing fails.
//!
//! Missing prerequisites (QEMU, mmdebstrap, cargo-deb, ...): the test fails naming what is
//! missing, unless `ENROLLD_SKIP=systemd_guest` asks to skip it outside CI (then it prints a
//! loud `SKIP systemd_guest` line and passes).

#[path = "real_kernel/harness.rs"]
mod harness;
#[path = "real_kernel/report.rs"]
mod report;
#[path = "real_kernel/script.rs"]
mod script;

use std::path::Path;

use harness::check_jpeg;

#[test]
fn x86_64_package_under_systemd() {
    harness::run("systemd_guest", "x86_64", host_check);
}

/// Checks made on the host after a scenario passed in the guest, on the files it exported.
fn host_check(scenario: &str, artifacts: &Path) -> Result<(), String> {
    match scenario {
        // The registration the stand-in received from the packaged daemon: a frame of the USB
        // camera (1280x720 MJPEG in guest/enrolld.toml) that passed the face check.
        "enroll" => check_jpeg(&artifacts.join("enroll.jpg"), 1280, 720),
        // vimc's test pattern through libcamera and the bridge unit into v4l2loopback: `enrolld capture`'s
        // picture and the one the daemon sent (480x360 in the scenario's configuration).
        "libcamera" => check_jpeg(&artifacts.join("libcamera-capture.jpg"), 480, 360)
            .and_then(|()| check_jpeg(&artifacts.join("libcamera-daemon.jpg"), 480, 360)),
        _ => Ok(()),
    }
}
