//! The control socket of a running `enrolld run`, as local clients meet it:
//! `enrolld status` is answered whatever other clients do with their
//! connections.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::daemon::{Harness, Knobs};
use enrolld::standin::Behaviour;

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
