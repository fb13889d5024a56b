//! Running a QEMU test stage's host script and judging what its guest reported, shared by
//! `tests/real_kernel.rs` and `tests/systemd_guest.rs`.
//!
//! The script (`bash <script> <arch>`) builds and boots the guest and leaves the guest's
//! verdict log behind; its exit status only says whether that worked (77: a prerequisite is
//! missing). The verdict is the log: one PASS per scenario script, nothing else, and the
//! closing `ENROLLD-DONE` (see `report.rs`). QEMU's exit status is not evidence of anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::GuestReport;
use crate::script::run_stage_script;

/// Runs the stage `tests/<stage>/run.sh <arch>` and judges its guest: every scenario script
/// under `tests/<stage>/guest/scenarios/` must have reported PASS, and `host_check` must
/// accept what a passed scenario exported. Panics with every problem found, unless a
/// prerequisite is missing and `ENROLLD_SKIP` asked to skip the stage outside CI (then a loud
/// SKIP is printed and the test passes).
///
/// The script names on stdout where the guest's verdict log is (`RESULTS <path>`; exported
/// files are saved beside it in `artifacts/`) and, if there is one, a console log whose tail
/// helps on failure (`CONSOLE <path>`).
pub fn run(stage: &str, arch: &str, host_check: fn(&str, &Path) -> Result<(), String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(stage);
    let Some(named) = run_stage_script(stage, arch) else {
        return;
    };
    let log_path = named.path("RESULTS", &format!("tests/{stage}/run.sh"));
    let artifacts = log_path.with_file_name("artifacts");

    let log = std::fs::read(&log_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", log_path.display()));
    let report = GuestReport::parse(&String::from_utf8_lossy(&log));
    let mut failures = save_artifacts(&report, &artifacts);
    failures.extend(report.malformed.iter().cloned());

    let expected = expected_scenarios(&dir.join("guest/scenarios"));
    for scenario in &expected {
        match report.results.get(scenario) {
            None => failures.push(format!("{scenario}: no result")),
            Some(o) if !o.passed => failures.push(format!("{scenario}: FAIL {}", o.detail)),
            Some(o) => match host_check(scenario, &artifacts) {
                Ok(()) => println!("{stage}[{arch}] {scenario}: PASS {}", o.detail),
                Err(e) => {
                    failures.push(format!("{scenario}: guest PASS but host check failed: {e}"))
                }
            },
        }
    }
    for scenario in report.results.keys() {
        if !expected.contains(scenario) {
            failures.push(format!(
                "{scenario}: reported, but there is no such scenario script"
            ));
        }
    }
    if !report.done {
        failures.push("no ENROLLD-DONE: the guest stopped or was killed before the end".into());
    }
    if failures.is_empty() {
        return;
    }
    let console = named.get("CONSOLE").map_or_else(String::new, |path| {
        let text = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "\n--- last lines of {path} ---\n{}",
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    });
    panic!(
        "{stage}[{arch}]: {} problem(s):\n  {}\n--- last lines of {} ---\n{}{console}",
        failures.len(),
        failures.join("\n  "),
        log_path.display(),
        report.tail(60)
    );
}

/// Scenario names from the scripts' file names (`20-gpio-sim-lines.sh` is
/// `gpio-sim-lines`), so a scenario the guest never ran is noticed.
fn expected_scenarios(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
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

/// Decodes the JPEG fully (not just its header) and checks its size.
pub fn check_jpeg(path: &Path, width: u32, height: u32) -> Result<(), String> {
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
