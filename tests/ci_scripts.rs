//! The CI scripts' checks of the test run itself, each seen catching what it exists to catch:
//! `.ci/skip`, the one rule for skipping a check whose prerequisite is missing (only when asked
//! by name, never under CI), and `.ci/fuzz-targets`, which makes the fuzz stage fail on an
//! empty or short list of targets instead of running nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `bash .ci/<script> args` with `env` (and no other `CI` or `ENROLLD_SKIP`), `stdin` fed:
/// the exit status and stderr, stdout.
fn run(script: &str, args: &[&str], env: Env, stdin: &str) -> (i32, String, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(".ci").join(script))
        .args(args)
        .current_dir(root())
        .env_remove("CI")
        .env_remove("ENROLLD_SKIP")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("bash runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Environment variables for a run.
type Env<'a> = &'a [(&'a str, &'a str)];

/// `.ci/skip`'s answers: 0 skip, 10 not asked, 1 refused.
const SKIP: i32 = 0;
const NOT_ASKED: i32 = 10;
const REFUSED: i32 = 1;

#[test]
fn a_skip_is_granted_only_when_asked_by_name_and_never_under_ci() {
    let cases: &[(Env, i32, &str)] = &[
        (&[], NOT_ASKED, ""),
        (&[("ENROLLD_SKIP", "mount")], NOT_ASKED, ""),
        (&[("CI", "true")], NOT_ASKED, ""),
        (
            &[("ENROLLD_SKIP", "mqtt")],
            SKIP,
            "*** SKIP mqtt: mosquitto is missing",
        ),
        (
            &[("ENROLLD_SKIP", "mount, mqtt"), ("CI", "false")],
            SKIP,
            "*** SKIP mqtt",
        ),
        (
            &[("ENROLLD_SKIP", "mqtt"), ("CI", "0")],
            SKIP,
            "*** SKIP mqtt",
        ),
        (
            &[("ENROLLD_SKIP", "mqtt"), ("CI", "true")],
            REFUSED,
            "ENROLLD_SKIP=mqtt is refused under CI",
        ),
        (
            &[("ENROLLD_SKIP", "mqtt"), ("CI", "1")],
            REFUSED,
            "refused under CI",
        ),
        (
            &[("ENROLLD_SKIP", "mqqt")],
            REFUSED,
            "ENROLLD_SKIP names an unknown check 'mqqt'",
        ),
    ];
    for (env, want, said) in cases {
        let (code, stderr, _) = run("skip", &["mqtt", "mosquitto is missing"], env, "");
        assert_eq!(code, *want, "{env:?}: {stderr}");
        assert!(
            stderr.contains(said),
            "{env:?}: {stderr:?} should say {said:?}"
        );
        if *want == NOT_ASKED {
            assert_eq!(stderr, "", "{env:?}: silent when not asked");
        }
    }
    let (code, stderr, _) = run("skip", &["nonsense", "x"], &[], "");
    assert_eq!(code, REFUSED, "{stderr}");
    assert!(stderr.contains("unknown check name 'nonsense'"), "{stderr}");
    // `--ci`: the same rule for knobs that narrow a check (SHIP_TARGETS).
    for (ci, want) in [
        (None, 1),
        (Some("false"), 1),
        (Some("true"), 0),
        (Some("yes"), 0),
    ] {
        let env: Vec<(&str, &str)> = ci.map(|v| ("CI", v)).into_iter().collect();
        assert_eq!(run("skip", &["--ci"], &env, "").0, want, "CI={ci:?}");
    }
}

/// The fuzz targets' sources, as `cargo fuzz list` names them.
fn fuzz_sources() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".rs").map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn the_fuzz_stage_refuses_an_empty_or_short_target_list() {
    let sources = fuzz_sources();
    assert!(sources.len() >= 5, "{sources:?}");
    let listed = |names: &[String]| names.join("\n") + "\n";
    let check = |stdin: &str| run("fuzz-targets", &["tests/fuzz"], &[], stdin);

    let (code, stderr, stdout) = check(&listed(&sources));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, listed(&sources));

    let (code, stderr, stdout) = check("");
    assert_ne!(code, 0, "an empty list passed: {stdout}");
    assert!(stderr.contains("listed none"), "{stderr}");
    assert_eq!(stdout, "");

    let (code, stderr, _) = check(&listed(&sources[1..]));
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!("source only: {}", sources[0])),
        "{stderr}"
    );

    let mut more = sources.clone();
    more.push("not_a_target".into());
    let (code, stderr, _) = check(&listed(&more));
    assert_ne!(code, 0);
    assert!(stderr.contains("listed only: not_a_target"), "{stderr}");
}
