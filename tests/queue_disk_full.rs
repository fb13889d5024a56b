//! A full disk, for real: the queue lives on a 256 KiB tmpfs mounted for the
//! test. Pushes fail with an error that says "disk full", nothing accepted
//! before is damaged, no temporary file is left behind, and once space is
//! freed pushes work again.
//!
//! Mounting needs CAP_SYS_ADMIN (root, as in CI and the development
//! container). Without it the test FAILS with a message rather than skip:
//! `ENROLLD_SKIP=mount` skips it deliberately and visibly, outside CI.

use std::path::{Path, PathBuf};

mod common;

use common::tmpfs::Tmpfs;
use enrolld::queue::{NewEntry, Now, Queue, QueueConfig, QueueError};

fn entry(i: usize) -> NewEntry {
    NewEntry {
        username: format!("user-{i}"),
        verification_id: Some(format!("v-{i}")),
        jpeg: vec![(i % 251) as u8; 30_000],
    }
}

fn names_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn full_disk_refuses_with_disk_full_and_keeps_what_it_had() {
    let Some(fs) = Tmpfs::mount("size=256k,mode=0700") else {
        return;
    };
    let cfg = QueueConfig {
        dir: fs.path().join("queue"),
        ..QueueConfig::default() // limits far above what fits on the disk
    };
    let now = Now::read();
    let mut q = Queue::open(&cfg).unwrap();
    let mut accepted = 0;
    let err = loop {
        match q.push(entry(accepted), &now) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "the 256 KiB disk never filled");
    };
    let QueueError::Storage(fs_err) = &err else {
        panic!("expected a storage error, got {err}");
    };
    assert!(fs_err.is_disk_full(), "{err}");
    assert!(err.to_string().contains("disk full (ENOSPC)"), "{err}");
    assert!(
        err.to_string().contains(&cfg.dir.display().to_string()),
        "{err}"
    );
    assert!(accepted >= 3, "only {accepted} entries fit");
    eprintln!("{accepted} entries of 30 kB fit on the 256 KiB tmpfs");
    assert_eq!(q.depth(), accepted);

    // The failed write left no temporary file and damaged nothing.
    let leftovers: Vec<_> = names_in(&cfg.dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp.")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(q);
    let mut q = Queue::open(&cfg).unwrap();
    assert!(q.report().corrupt.is_empty(), "{:?}", q.report());
    assert_eq!(q.depth(), accepted);

    // Delivering one frees space: the queue accepts again.
    let id = q.next_ready(std::time::Instant::now()).unwrap();
    let e = q.begin(id).unwrap();
    assert_eq!(e.jpeg, entry(0).jpeg);
    q.settle(id, enrolld::queue::SentFate::Delete).unwrap();
    q.push(entry(1000), &now).unwrap();
    assert_eq!(q.depth(), accepted);
}
