//! The real-kernel stage's kernel choice (`tests/real_kernel/host/kernel-pick.sh`)
//! over recorded `apt-cache madison` answers, so the next Debian archive change
//! is caught here and not by a red CI run. Two fixtures are what the archive
//! answered on 2026-11-29 (linux-source-6.1 and linux-kbuild-6.1 a revision
//! ahead of the newest image); the others are shaped after past archive states
//! (an image ABI ahead of the source; one version complete for everything).

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_kernel")
}

/// Runs `kernel_pick <flavour> <pins>` on a fixture; returns its output lines.
fn pick(fixture: &str, flavour: &str, pin_version: &str, pin_abi: &str) -> Vec<String> {
    let out = Command::new("bash")
        .current_dir(dir())
        .arg("-c")
        .arg(r#". host/kernel-pick.sh && kernel_pick "$1" "$2" "$3" < "$4""#)
        .arg("kernel-pick")
        .args([
            flavour,
            pin_version,
            pin_abi,
            &format!("fixtures/{fixture}"),
        ])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "kernel_pick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn first_words(line: &str, n: usize) -> String {
    line.split(' ').take(n).collect::<Vec<_>>().join(" ")
}

#[test]
fn source_ahead_of_the_image_picks_the_newest_complete_version() {
    for (fixture, flavour) in [
        ("madison-2026-11-29-amd64.txt", "amd64"),
        ("madison-2026-11-29-arm64.txt", "arm64"),
    ] {
        let lines = pick(fixture, flavour, "", "");
        assert_eq!(
            first_words(&lines[0], 3),
            "PICK 6.1.0-50 6.1.176-1",
            "{fixture}: {lines:#?}"
        );
        // The log says why the newer images were passed over.
        assert!(
            lines
                .contains(&"SKIP 6.1.0-56 6.1.192-2 missing linux-kbuild-6.1=6.1.192-2".to_owned()),
            "{fixture}: {lines:#?}"
        );
        assert!(
            lines.iter().skip(1).all(|l| l.starts_with("SKIP ")),
            "{lines:#?}"
        );
    }
}

#[test]
fn image_ahead_of_the_source_picks_the_older_complete_abi() {
    let lines = pick("madison-image-ahead-amd64.txt", "amd64", "", "");
    assert_eq!(first_words(&lines[0], 3), "PICK 6.1.0-56 6.1.192-2");
    assert_eq!(
        lines[1],
        "SKIP 6.1.0-57 6.1.194-1 missing linux-source-6.1=6.1.194-1 linux-kbuild-6.1=6.1.194-1"
    );
    // Versions older than the pick are not listed: they explain nothing.
    assert!(!lines.iter().any(|l| l.contains("6.1.192-1")), "{lines:#?}");
}

#[test]
fn several_complete_abis_pick_the_newest_in_debian_version_order() {
    // 6.1.38-1~bpo11+1 sorts before 6.1.38-1 for dpkg (not for `sort -V`).
    let lines = pick("madison-all-complete-arm64.txt", "arm64", "", "");
    assert_eq!(first_words(&lines[0], 3), "PICK 6.1.0-10 6.1.38-1");
    assert_eq!(lines.len(), 1, "{lines:#?}");
}

#[test]
fn a_pin_reproduces_an_older_run_or_says_what_it_lacks() {
    let f = "madison-2026-11-29-amd64.txt";
    let pinned = pick(f, "amd64", "6.1.176-1", "");
    assert_eq!(first_words(&pinned[0], 3), "PICK 6.1.0-50 6.1.176-1");
    assert!(pinned[0].contains("pinned by RK_KERNEL_VERSION='6.1.176-1'"));
    let by_abi = pick(f, "amd64", "", "6.1.0-50");
    assert_eq!(first_words(&by_abi[0], 3), "PICK 6.1.0-50 6.1.176-1");

    let incomplete = pick(f, "amd64", "6.1.192-2", "");
    assert!(incomplete[0].starts_with("NONE "), "{incomplete:#?}");
    assert_eq!(
        incomplete[1..],
        ["SKIP 6.1.0-56 6.1.192-2 missing linux-kbuild-6.1=6.1.192-2".to_owned()]
    );
    let mismatched = pick(f, "amd64", "6.1.176-1", "6.1.0-56");
    assert!(mismatched[0].starts_with("NONE "), "{mismatched:#?}");
}

#[test]
fn another_flavour_or_an_empty_archive_picks_nothing() {
    let cloud = pick("madison-2026-11-29-amd64.txt", "cloud-amd64", "", "");
    assert!(cloud[0].starts_with("NONE "), "{cloud:#?}");
    let empty = pick("empty.txt", "amd64", "", "");
    assert_eq!(empty.len(), 1);
    assert!(empty[0].starts_with("NONE "));
}
