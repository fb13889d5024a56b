//! Unit tests of the queue's file protocol, on real files in a temp dir.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use super::files::list;
use super::*;
use super::{Binding, Destination, ListedState, Released};

mod files;
mod records;

/// The next entry the worker would send now.
pub(super) fn oldest(q: &Queue) -> Option<EntryId> {
    q.next_ready(Instant::now())
}

pub(super) fn requeue(vid: Option<&str>) -> SentFate {
    SentFate::Requeue {
        verification_id: vid.map(str::to_owned),
        not_before: None,
        answer: "not_sent".into(),
    }
}

pub(super) fn unknown(vid: Option<&str>) -> SentFate {
    SentFate::Unknown {
        verification_id: vid.map(str::to_owned),
        reason: "unknown_delivery".into(),
    }
}

/// Registered and flagged: a review record with a minimal answer.
pub(super) fn review() -> SentFate {
    SentFate::Review {
        verification_id: None,
        answer: serde_json::json!({"code": "registered_review"}),
    }
}

/// What a fresh queue directory holds besides records.
pub(super) const BARE: [&str; 6] = [
    ".lock",
    "corrupt",
    "queue.key",
    "review",
    "sequence",
    "unknown",
];

pub(super) fn config(dir: &Path) -> QueueConfig {
    QueueConfig {
        dir: dir.join("queue"),
        max_entries: 4,
        max_bytes: 10_000,
        ..QueueConfig::default()
    }
}

/// A new queue in a temp dir of its own (removed when the guard drops).
pub(super) fn fresh() -> (tempfile::TempDir, QueueConfig, Queue) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let q = Queue::open(&cfg).unwrap();
    (tmp, cfg, q)
}

pub(super) fn new(name: &str, size: usize) -> NewEntry {
    NewEntry {
        username: name.into(),
        verification_id: None,
        jpeg: vec![0xab; size],
    }
}

pub(super) fn corrupt_reasons(q: &Queue) -> Vec<&str> {
    q.report()
        .corrupt
        .iter()
        .map(|c| c.reason.as_str())
        .collect()
}

pub(super) fn names(dir: &Path) -> Vec<String> {
    list(dir).unwrap()
}
