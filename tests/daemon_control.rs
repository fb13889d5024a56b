//! The control socket of a running `enrolld run`, as local clients meet it:
//! `enrolld status` is answered whatever other clients do with their
//! connections, and a request with a field of the wrong type is refused
//! naming the field and its rule.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::daemon::{Harness, Knobs};
use enrolld_standin::Behaviour;

/// `enrolld status` as a process (the CLI waits at most its own timeout).
fn status_cli(config: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .arg("--config")
        .arg(config)
        .arg("status")
        .output()
        .expect("enrolld status runs")
}

/// The first reply line on a connection, or "" at EOF.
fn first_line(stream: &UnixStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

#[test]
fn status_is_answered_while_other_clients_hold_connections() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs::default());
    let daemon = h.start();
    let socket = h.socket();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // A few that send a blank line every two seconds, never a request.
    for _ in 0..4 {
        let mut s = UnixStream::connect(&socket).unwrap();
        let stop = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) && s.write_all(b"\n").is_ok() {
                std::thread::sleep(Duration::from_secs(2));
            }
        }));
    }
    // A few that send requests and never read the replies.
    for _ in 0..4 {
        let mut s = UnixStream::connect(&socket).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        threads.push(std::thread::spawn(move || {
            let line = b"{\"cmd\":\"status\"}\n".repeat(64);
            while s.write_all(&line).is_ok() {}
        }));
    }
    // Hundreds that connect and say nothing.
    let silent: Vec<UnixStream> = (0..300)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();

    let out = status_cli(&h.config_path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "enrolld status failed ({}): {stderr}\n{}",
        out.status,
        daemon.stderr()
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(status["state"], "idle", "{status}");

    // The silent ones were closed, each told why.
    let told = first_line(&silent[0]);
    assert!(told.contains("\"ok\":false"), "{told:?}");
    assert!(
        told.contains("connections are taken") || told.contains("no complete request line"),
        "{told:?}"
    );
    stop.store(true, Ordering::SeqCst);
    drop(silent);
    for t in threads {
        t.join().unwrap();
    }
    daemon.terminate(Duration::from_secs(20));
}

/// Sends one line to the daemon's socket and returns the reply's error text.
fn refusal(socket: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(line.as_bytes()).unwrap();
    s.write_all(b"\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut text = String::new();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.read_to_string(&mut text).unwrap();
    let reply: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON reply");
    assert_eq!(reply["ok"], false, "{line}: {reply}");
    reply["error"].as_str().unwrap().to_owned()
}

#[test]
fn a_field_of_the_wrong_type_is_refused_naming_the_field_and_its_rule() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs::default());
    let daemon = h.start();
    let socket = h.socket();
    let cases = [
        (
            r#"{"cmd":"enroll","username":5}"#,
            "username: must be a string",
        ),
        (
            r#"{"cmd":"enroll","username":["Ann"]}"#,
            "username: must be a string",
        ),
        (
            r#"{"cmd":"enroll","username":"Ann","verification_id":{}}"#,
            "verification_id: must be a string",
        ),
        (
            r#"{"cmd":"queue_drop","id":"3"}"#,
            "id: must be a whole number",
        ),
        (
            r#"{"cmd":"queue_resend","id":-1}"#,
            "id: must be a whole number",
        ),
        (
            r#"{"cmd":"queue_drop","id":1.5}"#,
            "id: must be a whole number",
        ),
        (r#"{"cmd":7}"#, "cmd: must be a string, one of"),
        (r#"{"cmd":"status","admin":true}"#, "unknown field `admin`"),
        (r#"["status"]"#, "must be a JSON object"),
        (r#"{"cmd":"status""#, "not valid JSON"),
    ];
    for (line, want) in cases {
        let error = refusal(&socket, line);
        assert!(error.contains(want), "{line}: {error:?}");
        assert!(!error.contains("line 1 column"), "{line}: {error:?}");
    }
    // The rule is the ticket's: its length limit is spelled out.
    let error = refusal(&socket, r#"{"cmd":"enroll","username":true}"#);
    assert!(error.contains("1 to 128 characters"), "{error}");
    assert_eq!(daemon.status()["tickets_pending"], 0);
    daemon.terminate(Duration::from_secs(20));
}
