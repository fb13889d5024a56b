//! How `enrolld run` fails at start when its state directory cannot be
//! written: a clear error naming the path, the exit status the unit does not
//! restart on (73), and no crash loop.

mod common;

use std::time::Duration;

use common::daemon::{Harness, Knobs};
use common::tmpfs::{BindMount, Tmpfs};
use enrolld_standin::Behaviour;

#[test]
fn read_only_state_directory_is_a_clear_error_not_a_crash() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs::default());
    // The queue directory is a read-only filesystem, as on a card the kernel
    // remounted read-only after errors.
    let Some(ro) = Tmpfs::mount("ro,size=64k") else {
        return;
    };
    let queue = h.queue_dir();
    let bind = BindMount::new(ro.path(), &queue);

    let mut daemon = h.spawn();
    let status = daemon.wait_exit(Duration::from_secs(20));
    let stderr = daemon.stderr();
    assert_eq!(status.code(), Some(73), "exit status; stderr:\n{stderr}");
    assert!(stderr.contains(&queue.display().to_string()), "{stderr}");
    assert!(stderr.to_lowercase().contains("read-only"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(bind);
}

/// Every path the daemon writes at run time, each configured where it
/// cannot be written: the daemon does not start (73), naming the path and
/// what to do, instead of running until the first write fails.
#[test]
fn every_path_written_at_run_time_is_checked_at_start() {
    let keys = [
        ("status", "path", "status.json"),
        ("control", "socket", "control.sock"),
        ("control", "tickets_file", "tickets.json"),
        ("queue", "dir", "queue"),
        ("indicator", "record_file", "leds.jsonl"),
        ("metrics", "textfile", "enrolld.prom"),
    ];
    // Below a regular file: no directory can be made there.
    for (section, key, name) in keys {
        let mut h = Harness::new(Behaviour::Ok);
        let blocker = h.path("blocker");
        std::fs::write(&blocker, b"a file, not a directory").unwrap();
        h.write_config(&Knobs {
            paths: vec![(section, key, blocker.join(name))],
            ..Knobs::default()
        });
        let stderr = exits_73(&mut h, &format!("{section}.{key} under a file"));
        assert!(stderr.contains(&blocker.display().to_string()), "{stderr}");
        assert!(
            stderr.contains("a file stands where a directory is needed"),
            "{section}.{key}: {stderr}"
        );
    }
    // A directory where the file should be (the queue's is a directory).
    for (section, key, name) in keys.into_iter().filter(|k| k.0 != "queue") {
        let mut h = Harness::new(Behaviour::Ok);
        let taken = h.path("taken").join(name);
        std::fs::create_dir_all(&taken).unwrap();
        h.write_config(&Knobs {
            paths: vec![(section, key, taken.clone())],
            ..Knobs::default()
        });
        let stderr = exits_73(&mut h, &format!("{section}.{key} is a directory"));
        assert!(stderr.contains(&taken.display().to_string()), "{stderr}");
        let fix = match section {
            "control" if key == "socket" => "exists and is not a socket",
            _ => "a directory stands where a file is needed",
        };
        assert!(stderr.contains(fix), "{section}.{key}: {stderr}");
    }
    // In a directory that exists but is read-only.
    let Some(ro) = Tmpfs::mount("ro,size=64k") else {
        return;
    };
    for (section, key, name) in keys {
        let mut h = Harness::new(Behaviour::Ok);
        h.write_config(&Knobs {
            paths: vec![(section, key, ro.path().join(name))],
            ..Knobs::default()
        });
        let stderr = exits_73(&mut h, &format!("{section}.{key} read-only"));
        assert!(
            stderr.contains(&ro.path().display().to_string()),
            "{stderr}"
        );
        assert!(
            stderr.contains("read-only file system"),
            "{section}.{key}: {stderr}"
        );
        assert!(
            stderr.contains("ReadWritePaths="),
            "{section}.{key}: {stderr}"
        );
    }
}

/// Starts the daemon, which must exit 73 without a panic; its stderr.
fn exits_73(h: &mut Harness, what: &str) -> String {
    let mut daemon = h.spawn();
    let status = daemon.wait_exit(Duration::from_secs(20));
    let stderr = daemon.stderr();
    assert_eq!(
        status.code(),
        Some(73),
        "{what}: exit status; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    stderr
}
