//! A check whose prerequisite is missing fails, unless the person running the tests asked to
//! skip it by name (`ENROLLD_SKIP=mqtt,...`), and never under CI. The rule is written once, in
//! `.ci/skip` (the .ci scripts use it too); the tests ask it.

use std::io::Write;
use std::process::Command;

/// `.ci/skip`'s answer when nobody asked to skip the check.
const NOT_ASKED: i32 = 10;

/// Returns when the check `name` may be skipped (after a loud `*** SKIP ***` line on the
/// terminal); panics with the reason (what is missing, how to skip it) otherwise.
pub fn or_fail(name: &str, missing: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/skip");
    let out = Command::new("bash")
        .arg(script)
        .args([name, missing])
        .output()
        .unwrap_or_else(|e| {
            panic!("{name}: {missing} (and bash to run {script} cannot start: {e})")
        });
    let said = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(NOT_ASKED) => {
            panic!(
                "{name}: {missing}; to skip this deliberately (never under CI): \
                 ENROLLD_SKIP={name}"
            )
        }
        _ => panic!("{}", said.trim_end()),
    }
    // Straight to stderr, not eprintln!: the harness swallows the output of a passing test,
    // and a skip must be seen.
    let _ = std::io::stderr().write_all(format!("\n{said}\n").as_bytes());
}
