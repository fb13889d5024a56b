//! `enrolld demo` as a person sees it: run in a real terminal (tmux), the
//! screen read back with `tmux capture-pane`. The LED status line keeps a line
//! of its own (no log line glued to it), log lines carry no journal fields,
//! and the LED is shown as a colour and a pattern.
//!
//! Needs tmux (`bash .ci/prereqs` installs it): without it the test fails
//! rather than skipping, so CI cannot pass without looking at the screen.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> Output {
    Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tmux cannot run ({e}): install it with `bash .ci/prereqs`"))
}

/// Kills the tmux server of this test however the test ends.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
    }
}

fn capture(socket: &str) -> String {
    let out = tmux(
        socket,
        &["capture-pane", "-p", "-J", "-S", "-200", "-t", "demo"],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_status(line: &str) -> bool {
    line.contains("LED ●") || line.contains("LED ○")
}

fn is_log(line: &str) -> bool {
    ["INFO ", "WARN ", "ERROR", "DEBUG"]
        .iter()
        .any(|level| line.contains(level))
}

#[test]
fn status_line_and_log_lines_never_share_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("enrolld-test-{}", std::process::id());
    let session = Session(socket.clone());
    let command = format!(
        "{} demo --every 1 --duration 40 --dir {}",
        env!("CARGO_BIN_EXE_enrolld"),
        dir.path().join("demo").display()
    );
    let started = tmux(
        &session.0,
        &[
            "new-session",
            "-d",
            "-s",
            "demo",
            "-x",
            "200",
            "-y",
            "60",
            &command,
        ],
    );
    assert!(started.status.success(), "tmux new-session: {started:?}");

    // Wait for a few enrollments' worth of log lines under a drawn status line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let screen = capture(&socket);
        let logs = screen.lines().filter(|l| is_log(l)).count();
        let registered = screen
            .lines()
            .any(|l| is_status(l) && l.contains("green solid"));
        if logs >= 6 && registered {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not show a registration under its status line:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };

    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let status: Vec<&&str> = lines.iter().filter(|l| is_status(l)).collect();
    assert_eq!(status.len(), 1, "one status line, at the bottom:\n{screen}");
    assert!(
        is_status(lines.last().unwrap()),
        "the status line is the last line:\n{screen}"
    );
    let status = status[0];
    assert!(status.starts_with("LED "), "status line: {status:?}");
    assert!(
        !is_log(status),
        "a log line shares the status line: {status:?}"
    );
    for line in &lines {
        assert!(
            !line.contains("enrolld_"),
            "journal fields in a demo line: {line:?}"
        );
        if is_log(line) {
            assert!(
                !line.contains("LED "),
                "log line glued to the LED line: {line:?}"
            );
        }
    }
    let _ = Path::new(dir.path()).exists();
}
