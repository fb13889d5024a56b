//! The file protocol: durability, limits, damage, sealing, expiry.

use std::fs;
use std::time::Duration;

use super::*;

#[test]
fn push_is_durable_private_and_ordered() {
    let (_tmp, cfg, mut q) = fresh();
    let now = Now::read();
    assert_eq!(q.push(new("a", 100), &now).unwrap(), EntryId(1));
    assert_eq!(q.push(new("b", 100), &now).unwrap(), EntryId(2));
    assert_eq!(fs::metadata(&cfg.dir).unwrap().mode() & 0o777, 0o700);
    let file = cfg.dir.join("00000000000000000001.entry");
    assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    drop(q);

    let mut q = Queue::open(&cfg).unwrap();
    assert_eq!(q.depth(), 2);
    assert_eq!(q.bytes(), 2 * fs::metadata(&file).unwrap().len());
    assert_eq!(oldest(&q), Some(EntryId(1)));
    let e = q.begin(EntryId(1)).unwrap();
    assert_eq!((e.username.as_str(), e.jpeg.len()), ("a", 100));
    // In flight: not offered again, not begun twice.
    assert_eq!(oldest(&q), Some(EntryId(2)));
    assert_eq!(
        q.begin(EntryId(1)),
        Err(QueueError::NoSuchEntry(EntryId(1)))
    );
    q.settle(EntryId(1), SentFate::Delete).unwrap();
    assert_eq!(q.depth(), 1);
    drop(q);
    // Sequence numbers continue after a restart, past the reserved block.
    let mut q = Queue::open(&cfg).unwrap();
    assert!(q.push(new("c", 10), &now).unwrap() > EntryId(2));
}

#[test]
fn debug_never_shows_image_bytes() {
    let e = new("ann", 3);
    assert_eq!(
        format!("{e:?}"),
        "NewEntry { username: \"ann\", verification_id: None, jpeg_bytes: 3, .. }"
    );
}

#[test]
fn full_by_entries_or_bytes_refuses_visibly() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Now::read();
    let mut q = Queue::open(&config(tmp.path())).unwrap();
    for _ in 0..4 {
        q.push(new("a", 10), &now).unwrap();
    }
    let err = q.push(new("a", 10), &now).unwrap_err();
    assert!(matches!(err, QueueError::Full { entries: 4, .. }), "{err}");
    assert!(err.to_string().starts_with("offline queue full (4 entries"));

    let tmp = tempfile::tempdir().unwrap();
    let mut q = Queue::open(&config(tmp.path())).unwrap();
    q.push(new("a", 6_000), &now).unwrap();
    assert!(matches!(
        q.push(new("b", 6_000), &now),
        Err(QueueError::Full { .. })
    ));
    assert_eq!(q.depth(), 1);
}

#[test]
fn retry_later_keeps_order_and_records_a_created_verification() {
    let (_tmp, cfg, mut q) = fresh();
    let now = Now::read();
    q.push(new("a", 50), &now).unwrap();
    q.push(new("b", 50), &now).unwrap();
    q.begin(EntryId(1)).unwrap();
    q.settle(EntryId(1), requeue(Some("v-created"))).unwrap();
    assert_eq!(oldest(&q), Some(EntryId(1)));
    drop(q);
    let mut q = Queue::open(&cfg).unwrap();
    let e = q.begin(EntryId(1)).unwrap();
    assert_eq!(e.verification_id.as_deref(), Some("v-created"));
    assert_eq!(e.jpeg, vec![0xab; 50]);
    q.settle(EntryId(1), requeue(None)).unwrap();
    let bytes = q.bytes();
    drop(q);
    assert_eq!(bytes, Queue::open(&cfg).unwrap().bytes());
}

#[test]
fn interrupted_delivery_becomes_unknown_and_is_never_resent() {
    let (_tmp, cfg, mut q) = fresh();
    let now = Now::read();
    q.push(
        NewEntry {
            verification_id: Some("v-9".into()),
            ..new("ann", 20)
        },
        &now,
    )
    .unwrap();
    q.begin(EntryId(1)).unwrap();
    drop(q); // the process dies while sending

    let mut q = Queue::open(&cfg).unwrap();
    assert_eq!(q.depth(), 0);
    assert_eq!(q.unknown_count(), 1);
    let u = &q.report().unknown[0];
    assert_eq!((u.seq, u.verification_id.as_deref()), (1, Some("v-9")));
    assert_eq!(u.reason, "interrupted");
    let rec = fs::read_to_string(cfg.dir.join("unknown/00000000000000000001.json")).unwrap();
    assert!(rec.contains("\"v-9\""), "{rec}");
    assert!(!rec.contains("jpeg"));
    // The image is kept beside the record, for an operator's resend.
    assert!(cfg.dir.join("unknown/00000000000000000001.entry").exists());
    // The next entry gets a fresh number, not the recorded one.
    assert!(q.push(new("b", 1), &now).unwrap() > EntryId(1));
}

#[test]
fn unknown_outcome_is_recorded_with_the_verification_used() {
    let (_tmp, cfg, mut q) = fresh();
    q.push(new("ann", 20), &Now::read()).unwrap();
    q.begin(EntryId(1)).unwrap();
    let r = q
        .settle(EntryId(1), unknown(Some("v-new")))
        .unwrap()
        .unwrap();
    assert_eq!(r.verification_id.as_deref(), Some("v-new"));
    assert_eq!((q.depth(), q.bytes(), q.unknown_count()), (0, 0, 1));
    assert_eq!(names(&cfg.dir), BARE);
}

#[test]
fn damaged_files_are_moved_aside_reported_and_not_sent() {
    let (_tmp, cfg, mut q) = fresh();
    let now = Now::read();
    for n in ["a", "b", "c", "d"] {
        q.push(new(n, 300), &now).unwrap();
    }
    drop(q);
    let path = |n: u64| cfg.dir.join(format!("{n:020}.entry"));
    // 1: truncated; 2: garbage; 3: image bytes flipped (found at send time).
    let f1 = fs::read(path(1)).unwrap();
    fs::write(path(1), &f1[..f1.len() - 10]).unwrap();
    fs::write(path(2), b"not a queue entry at all\n").unwrap();
    let mut f3 = fs::read(path(3)).unwrap();
    let last = f3.len() - 1;
    f3[last] ^= 1;
    fs::write(path(3), f3).unwrap();
    fs::write(cfg.dir.join("stray.txt"), b"?").unwrap();
    fs::write(cfg.dir.join(".tmp.00000000000000000009.entry.1.1"), b"half").unwrap();

    let mut q = Queue::open(&cfg).unwrap();
    assert_eq!(
        corrupt_reasons(&q),
        [
            "not a queue file",
            "size 400 bytes, expected 410 (truncated or extended)"
                .replace("400", &(f1.len() - 10).to_string())
                .replace("410", &f1.len().to_string())
                .as_str(),
            "not a queue entry",
        ]
    );
    assert_eq!(q.report().leftovers_removed, 1);
    assert_eq!(q.depth(), 2);
    let err = q.begin(EntryId(3)).unwrap_err();
    assert!(
        matches!(&err, QueueError::Corrupt { reason, .. } if reason.starts_with("jpeg failed authentication")),
        "{err}"
    );
    assert_eq!(oldest(&q), Some(EntryId(4)));
    assert_eq!(names(&cfg.dir.join("corrupt")).len(), 4);
}

#[test]
fn old_entries_expire_unsent() {
    let (_tmp, cfg, mut q) = fresh();
    let now = Now::read();
    q.push(new("a", 10), &now).unwrap();
    q.push(new("b", 10), &now).unwrap();
    q.begin(EntryId(2)).unwrap(); // in flight: not expired under the sender
    let later = Now {
        boottime: now.boottime + cfg.max_age(),
        ..now.clone()
    };
    // Creation times are kept in milliseconds: the age is within 1 ms.
    let age = q.oldest_age(&later).unwrap();
    assert!(age >= cfg.max_age() && age < cfg.max_age() + Duration::from_millis(1));
    let expired = q.expire(&later).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, EntryId(1));
    assert_eq!(q.depth(), 1);
    assert!(!cfg.dir.join("00000000000000000001.entry").exists());
    let just_before = Now {
        boottime: now.boottime + cfg.max_age() - Duration::from_secs(1),
        ..now
    };
    q.settle(EntryId(2), requeue(None)).unwrap();
    assert!(q.expire(&just_before).unwrap().is_empty());
}

#[test]
fn config_defaults_and_checks() {
    let c = QueueConfig::default();
    assert_eq!(c.dir, Path::new("/var/lib/enrolld/queue"));
    assert_eq!(c.max_age_secs, 86_400);
    c.validate().unwrap();
    let bad = QueueConfig {
        dir: "rel".into(),
        ..QueueConfig::default()
    };
    assert_eq!(bad.validate().unwrap_err().key, "dir");
    let bad = QueueConfig {
        backoff_max_ms: 10,
        ..QueueConfig::default()
    };
    assert_eq!(bad.validate().unwrap_err().key, "backoff_max_ms");
}

#[test]
fn old_corrupt_files_are_pruned() {
    let (_tmp, cfg, mut q) = fresh();
    fs::write(cfg.dir.join("corrupt/00000000000000000001.entry"), b"x").unwrap();
    let now = Now::read();
    assert_eq!(q.prune_corrupt(&now).unwrap(), 0);
    let later = Now {
        unix: now.unix + cfg.max_age_secs,
        ..now
    };
    assert_eq!(q.prune_corrupt(&later).unwrap(), 1);
    assert!(names(&cfg.dir.join("corrupt")).is_empty());
}

#[test]
fn a_crash_after_recording_an_unknown_keeps_the_record() {
    let (_tmp, cfg, mut q) = fresh();
    q.push(new("ann", 20), &Now::read()).unwrap();
    q.begin(EntryId(1)).unwrap();
    let sending = cfg.dir.join("00000000000000000001.sending");
    let image = cfg.dir.join("unknown/00000000000000000001.entry");
    q.settle(EntryId(1), unknown(Some("v-created"))).unwrap();
    drop(q);
    // As if killed after the record was written, before the image moved.
    fs::rename(&image, &sending).unwrap();
    let q = Queue::open(&cfg).unwrap();
    let u = &q.report().unknown[0];
    assert_eq!(u.verification_id.as_deref(), Some("v-created"));
    assert_eq!(u.reason, "unknown_delivery");
    assert_eq!((q.depth(), q.unknown_count()), (0, 1));
    assert!(!sending.exists() && image.exists());
}

#[test]
fn entries_are_sealed_swaps_and_foreign_keys_are_moved_aside_unsent() {
    let (tmp, cfg, mut q) = fresh();
    let now = Now::read();
    let face = b"\xff\xd8\xff\xe0 unique-face-bytes-7f3a9c \xff\xd9".to_vec();
    for name in ["zed-unique-user", "amy-unique-user", "bob"] {
        let new = NewEntry {
            username: name.into(),
            verification_id: Some(format!("vid-of-{name}")),
            jpeg: face.clone(),
        };
        q.push(new, &now).unwrap();
    }
    assert!(matches!(q.key_source(), Some(KeySource::Generated(_))));
    drop(q);
    let path = |n: u64| cfg.dir.join(format!("{n:020}.entry"));
    for n in 1..=3 {
        let bytes = fs::read(path(n)).unwrap();
        for needle in [
            &b"unique-face"[..],
            b"\xff\xd8\xff",
            b"unique-user",
            b"vid-of",
        ] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        }
    }
    // Entries 1 and 2 swapped by renaming; entry 3 sealed under another key.
    let (one, two) = (fs::read(path(1)).unwrap(), fs::read(path(2)).unwrap());
    fs::write(path(1), &two).unwrap();
    fs::write(path(2), &one).unwrap();
    let foreign = QueueConfig {
        dir: tmp.path().join("other"),
        ..cfg.clone()
    };
    let mut other = Queue::open_with_key(&foreign, QueueKey::random()).unwrap();
    for _ in 0..3 {
        other.push(new("x", 10), &now).unwrap();
    }
    fs::copy(foreign.dir.join(format!("{:020}.entry", 3)), path(3)).unwrap();

    let q = Queue::open(&cfg).unwrap();
    assert_eq!(
        corrupt_reasons(&q),
        [
            "sequence number differs from file name",
            "sequence number differs from file name",
            "header failed authentication (altered, moved from another entry, or sealed under \
             another key)",
        ]
    );
    assert_eq!((q.depth(), oldest(&q)), (0, None));
}

#[test]
fn a_loose_key_file_stops_the_queue_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key_file = tmp.path().join("queue.key");
    fs::write(&key_file, [3u8; 32]).unwrap();
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = QueueConfig {
        key_file: Some(key_file.clone()),
        ..config(tmp.path())
    };
    let err = Queue::open(&cfg).unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Key(KeyError::Permissions { mode: 0o644, .. })
        ),
        "{err}"
    );
}

#[test]
fn an_entry_too_large_to_read_back_is_refused_not_written() {
    let (_tmp, cfg, mut q) = fresh();
    let err = q
        .push(new(&"\0".repeat(3000), 10), &Now::read())
        .unwrap_err();
    assert!(
        matches!(err, QueueError::HeaderTooLarge { bytes } if bytes > 18_000),
        "{err:?}"
    );
    assert!(err.to_string().contains("at most 16384"), "{err}");
    assert_eq!(q.depth(), 0);
    assert_eq!(names(&cfg.dir), BARE);
}
