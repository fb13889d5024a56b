//! Real-kernel tests: enrolld and the guest helpers against the kernel's own
//! gpio-sim and vivid drivers, in Debian's 6.1 kernel under QEMU (TCG), on
//! x86_64 and aarch64. Run with:
//!
//!     cargo test --test real_kernel -- --nocapture
//!
//! `tests/real_kernel/run.sh <arch>` builds and boots the guest (see
//! README.md); this file reads the verdict the guest printed
//! on its serial console. Each scenario script under
//! `tests/real_kernel/guest/scenarios/` must report PASS: a scenario that
//! reports nothing, a log without `ENROLLD-DONE`, or a garbled file block is a
//! failure. QEMU's own exit status is not evidence of anything.
//!
//! Missing prerequisites (QEMU, cross compiler, musl target, apt): with `CI`
//! set the test fails naming what is missing; elsewhere it prints a loud
//! `SKIP real_kernel[<arch>]: <missing>` and passes.

#[path = "real_kernel/report.rs"]
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use report::GuestReport;

/// Two TCG guests and their builds at once would only slow each other down.
static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Exit status of run.sh for a missing prerequisite (automake's "skip").
const MISSING_PREREQUISITE: i32 = 77;

#[test]
fn x86_64_guest_scenarios() {
    run_guest("x86_64");
}

#[test]
fn aarch64_guest_scenarios() {
    run_guest("aarch64");
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_guest(arch: &str) {
    let _one = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // run.sh's cache and output directory (RK_CACHE overrides it there too).
    let cache = std::env::var_os("RK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/real-kernel"));
    let out_dir = cache.join(arch);
    // Progress and timings (stderr) go straight to the terminal: a first run
    // downloads and builds for minutes.
    let run = Command::new("bash")
        .arg(repo().join("tests/real_kernel/run.sh"))
        .arg(arch)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("cannot start bash for tests/real_kernel/run.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    match run.status.code() {
        Some(0) => {}
        Some(MISSING_PREREQUISITE) => {
            let missing = stdout
                .lines()
                .find_map(|l| l.strip_prefix("MISSING "))
                .unwrap_or("(unnamed)");
            if std::env::var_os("CI").is_some() {
                panic!("real_kernel[{arch}]: prerequisite missing in CI: {missing}");
            }
            // Straight to stderr, not eprintln!: the harness would swallow
            // the output of a passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIP real_kernel[{arch}]: {missing} ***\n"
            );
            return;
        }
        _ => panic!(
            "real_kernel[{arch}]: building or booting the guest failed ({}); see the messages above",
            run.status
        ),
    }

    let log_path = out_dir.join("serial.log");
    let log = std::fs::read(&log_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", log_path.display()));
    let report = GuestReport::parse(&String::from_utf8_lossy(&log));
    let artifacts = out_dir.join("artifacts");
    let mut failures = save_artifacts(&report, &artifacts);
    failures.extend(report.malformed.iter().cloned());

    for name in expected_scenarios() {
        match report.results.get(&name) {
            None => failures.push(format!("{name}: no result")),
            Some(o) if !o.passed => failures.push(format!("{name}: FAIL {}", o.detail)),
            Some(o) => match host_check(&name, &artifacts) {
                Ok(()) => println!("real_kernel[{arch}] {name}: PASS {}", o.detail),
                Err(e) => failures.push(format!("{name}: guest PASS but host check failed: {e}")),
            },
        }
    }
    for name in report.results.keys() {
        if !expected_scenarios().contains(name) {
            failures.push(format!(
                "{name}: reported, but there is no such scenario script"
            ));
        }
    }
    if !report.done {
        failures.push("no ENROLLD-DONE: the guest stopped or was killed before the end".into());
    }
    assert!(
        failures.is_empty(),
        "real_kernel[{arch}]: {} problem(s):\n  {}\n--- last lines of {} ---\n{}",
        failures.len(),
        failures.join("\n  "),
        log_path.display(),
        report.tail(60)
    );
}

/// Scenario names from the scripts' file names (`20-gpio-sim-lines.sh` is
/// `gpio-sim-lines`), so a scenario the guest never ran is noticed.
fn expected_scenarios() -> Vec<String> {
    let dir = repo().join("tests/real_kernel/guest/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| {
            let file = e.ok()?.file_name().into_string().ok()?;
            let stem = file.strip_suffix(".sh")?;
            Some(stem.split_once('-').map_or(stem, |(_, n)| n).to_owned())
        })
        .collect();
    names.sort();
    names
}

/// Writes each exported file under `dir` and checks it against the sha256
/// the guest announced. Returns the problems found.
fn save_artifacts(report: &GuestReport, dir: &Path) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create artifacts dir");
    let mut problems = Vec::new();
    for (name, artifact) in &report.artifacts {
        let path = dir.join(name);
        std::fs::write(&path, &artifact.bytes).expect("write artifact");
        let sum = Command::new("sha256sum")
            .arg(&path)
            .output()
            .expect("run sha256sum");
        let sum = String::from_utf8_lossy(&sum.stdout);
        if sum.split_whitespace().next() != Some(artifact.sha256.as_str()) {
            problems.push(format!(
                "file {name}: sha256 differs from the guest's (serial corruption?)"
            ));
        }
    }
    problems
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

/// Decodes the JPEG fully (not just its header) and checks its size.
fn check_jpeg(path: &Path, width: u32, height: u32) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .map_err(|e| format!("{} does not decode as JPEG: {e}", path.display()))?;
    if (img.width(), img.height()) != (width, height) {
        return Err(format!(
            "{} is {}x{}, expected {width}x{height}",
            path.display(),
            img.width(),
            img.height()
        ));
    }
    Ok(())
}
