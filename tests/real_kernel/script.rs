//! Running a QEMU test stage's host script (`bash tests/<stage>/run.sh <arch>`), shared by
//! `tests/real_kernel.rs`, `tests/systemd_guest.rs` and `tests/power_cut.rs`.
//!
//! The script builds (and for some stages boots) a guest and names what it made on stdout,
//! one `WHAT <value>` line each; its exit status only says whether that worked. Status 77 is
//! a missing prerequisite, named in a `MISSING <what>` line: a failure, unless the person
//! running the tests asked to skip the stage by name outside CI (`ENROLLD_SKIP=<stage>`,
//! `.ci/skip`'s rule).

use std::path::PathBuf;

#[path = "../common/skip.rs"]
mod skip;
use std::process::{Command, Stdio};

/// Exit status of a stage script for a missing prerequisite (automake's "skip").
const MISSING_PREREQUISITE: i32 = 77;

/// Prefixes of the variables cargo sets for a test about its package (not the user's own,
/// such as CARGO_HOME or CARGO_TARGET_DIR). Found by the fingerprints' RerunIfEnvChanged
/// entries (target/<target>/release/.fingerprint/ring-*/run-build-script-*.json).
const CARGO_PACKAGE_VARS: &[&str] = &[
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    // The test's own build-script output directory; the cc crate declares it too.
    "OUT_DIR",
];

/// What a stage script printed on stdout.
pub struct Named(String);

impl Named {
    /// The value of the first `<what> <value>` line.
    pub fn get(&self, what: &str) -> Option<String> {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
            .map(str::to_owned)
    }

    /// [`Named::get`] as a path, panicking with the script's name when it is missing.
    pub fn path(&self, what: &str, script: &str) -> PathBuf {
        self.get(what)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{script} named no {what} on stdout"))
    }
}

/// Runs `tests/<stage>/run.sh <arch>` with its progress on the terminal. `None`: a
/// prerequisite is missing and `ENROLLD_SKIP` asked to skip this stage, outside CI (a SKIP
/// was printed; the caller's test passes). Panics when the script fails, or a prerequisite is
/// missing otherwise.
pub fn run_stage_script(stage: &str, arch: &str) -> Option<Named> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(stage)
        .join("run.sh");
    // Progress and timings (stderr) go straight to the terminal: a first run downloads and
    // builds for minutes.
    let mut bash = Command::new("bash");
    // cargo gives this test the package's variables (CARGO_PKG_NAME=enrolld, CARGO_MANIFEST_DIR,
    // ...). The script runs cargo, and some build scripts (ring's) declare those very names
    // rerun-if-env-changed: inherited, they would make cargo rebuild ring and everything above
    // it, fat LTO links included, that the release builds step made without them.
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if CARGO_PACKAGE_VARS.iter().any(|p| name_str.starts_with(p)) {
            bash.env_remove(&name);
        }
    }
    let run = bash
        .arg(&script)
        .arg(arch)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot start bash for {}: {e}", script.display()));
    let named = Named(String::from_utf8_lossy(&run.stdout).into_owned());
    match run.status.code() {
        Some(0) => Some(named),
        Some(MISSING_PREREQUISITE) => {
            let missing = named.get("MISSING").unwrap_or_else(|| "(unnamed)".into());
            skip::or_fail(stage, &format!("[{arch}] prerequisite missing: {missing}"));
            None
        }
        _ => panic!(
            "{stage}[{arch}]: building or booting the guest failed ({}); see the messages above",
            run.status
        ),
    }
}
