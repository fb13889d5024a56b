//! `enrolld demo` as a newcomer runs it (stdin not a terminal, so it presses by
//! itself): the story it promises happens, it stops cleanly, and neither the
//! token nor any JPEG (raw or base64) shows up in its output or its files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enrolld_standin::answer::{BLOCKLISTED_NAME, BLOCKLISTED_REFERENCE};

const TOKEN: &str = "4242|demo-token-that-must-never-leak-7f3a";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The token, the JPEG start-of-image marker and its base64 form. Queue
/// files are ciphertext and the screen's picture is compressed, where three
/// given bytes occur by chance, so the raw marker is looked for everywhere else.
fn assert_clean(bytes: &[u8], place: &str) {
    assert!(!contains(bytes, TOKEN.as_bytes()), "token in {place}");
    // Whom a watchlist match named (the blocklist entry, or a score) is kept sealed for the
    // operator, never shown.
    for whom in [BLOCKLISTED_NAME, BLOCKLISTED_REFERENCE, "similarity"] {
        assert!(!contains(bytes, whom.as_bytes()), "`{whom}` in {place}");
    }
    assert!(!contains(bytes, b"/9j/"), "base64 JPEG in {place}");
    if !place.contains("/queue/") && !place.ends_with("screen.png") {
        assert!(!contains(bytes, &[0xFF, 0xD8, 0xFF]), "raw JPEG in {place}");
    }
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn demo_tells_its_story_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .args(["demo", "--every", "1", "--duration", "34", "--dir"])
        .arg(dir.path())
        .env("ENROLLD_DEMO_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("enrolld demo runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(took < Duration::from_secs(60), "demo overran: {took:?}");

    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("status.json")).unwrap()).unwrap();
    let count = |code: &str| status["counters"][code].as_u64().unwrap_or(0);
    // The scripted acts: registered, retake, duplicate, a watchlist match
    // (registered, flagged), then the outage (queued) and its recovery
    // (delivered from the queue).
    for code in [
        "registered",
        "retake",
        "already_registered",
        "registered_review",
        "queued",
        "delivered_from_queue",
    ] {
        assert!(
            count(code) >= 1,
            "no `{code}` in the demo's counters: {status}"
        );
    }
    assert!(stdout.contains("IDMeta unreachable"), "{stdout}");
    assert!(stdout.contains("watchlist screening matches"), "{stdout}");
    // It speaks v3: every registration went to biometrics-detection.
    let records = std::fs::read_to_string(dir.path().join("standin-records.jsonl")).unwrap();
    assert!(
        records.contains("\"endpoint\":\"register_v3\"")
            && !records.contains("\"endpoint\":\"register\""),
        "{records}"
    );
    // The flagged registration waits for the operator, its screening kept with it.
    assert!(
        status["queue"]["review"].as_u64().unwrap_or(0) >= 1,
        "{status}"
    );
    // The screen a person would see, kept current as a picture whose path is printed.
    let screen = dir.path().join("screen.png");
    assert!(
        stdout.contains(&format!(
            "the terminal's screen, kept current: {}",
            screen.display()
        )),
        "{stdout}"
    );
    let shown = enrolld::screen::Picture::read_png(&std::fs::read(&screen).unwrap()).unwrap();
    assert_eq!(shown.size, enrolld::screen::Size::new(800, 480));
    assert!(stdout.contains("IDMeta is back"), "{stdout}");
    assert!(stderr.contains("enrolld stopped"), "{stderr}");

    assert_clean(&out.stdout, "stdout");
    assert_clean(&out.stderr, "stderr");
    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert_clean(&std::fs::read(&f).unwrap(), &f.display().to_string());
    }
}
