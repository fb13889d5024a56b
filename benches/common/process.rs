//! What the process benchmarks (footprint, soak) share: the shipped binaries they run, a child
//! ended with the bench, and waiting for `enrolld-standin` to listen.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Child;

/// A binary of the shared release builds (`.ci/release-builds.sh`), or the one `var` names.
pub fn shipped(var: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/x86_64-unknown-linux-gnu/release")
            .join(name)
    });
    assert!(
        path.is_file(),
        "{} is missing: run `bash .ci/release-builds.sh` (or set {var})",
        path.display()
    );
    path
}

/// Ends the child when the bench ends, whichever way it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The stand-in, spawned with its stdout piped, once it says it listens; its output is drained
/// from then on so it never blocks on a full pipe.
pub fn until_listening(mut child: Child) -> Running {
    let stdout = child.stdout.take().expect("the stand-in's stdout is piped");
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening on") => break,
            Some(Ok(_)) => continue,
            _ => panic!("the stand-in ended before listening"),
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    running
}
