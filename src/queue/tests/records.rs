//! Records through their states: bound, sending, queued, unknown; operators; the lock.

use std::time::{Duration, Instant};

use super::*;

fn bind(q: &mut Queue, name: &str, ticket: Option<crate::tickets::Ticket>) -> EntryId {
    let seq = q.reserve_seq().unwrap();
    q.bind(
        Binding {
            seq,
            username: name.into(),
            verification_id: None,
            ticket,
        },
        &Now::read(),
    )
    .unwrap();
    EntryId(seq)
}

#[test]
fn a_binding_found_at_open_is_released_with_its_ticket() {
    let (_tmp, cfg, mut q) = fresh();
    let mut ticket = crate::tickets::Ticket::new("ann", None).unwrap();
    ticket.id = 5;
    let id = bind(&mut q, "ann", Some(ticket.clone()));
    assert_eq!(q.depth(), 0, "a binding is not queued");
    drop(q);
    let mut q = Queue::open(&cfg).unwrap();
    assert_eq!(
        q.report().released,
        [Released {
            id,
            username: "ann".into(),
            ticket: Some(ticket)
        }]
    );
    q.forget_released(id).unwrap();
    drop(q);
    let q = Queue::open(&cfg).unwrap();
    assert!(q.report().released.is_empty());
    assert_eq!(names(&cfg.dir), BARE);
}

#[test]
fn a_stored_capture_is_sending_or_queued_and_the_binding_goes() {
    let (_tmp, cfg, mut q) = fresh();
    let live = bind(&mut q, "ann", None);
    q.store_capture(live, b"jpeg-ann", Some("v-1".into()), Destination::Send)
        .unwrap();
    assert!(q.is_sending(live));
    assert_eq!((q.depth(), q.bytes()), (0, 0), "a live send is not queued");
    let queued = bind(&mut q, "bob", None);
    q.store_capture(
        queued,
        b"jpeg-bob",
        None,
        Destination::Queue { not_before: None },
    )
    .unwrap();
    assert_eq!(q.depth(), 1);
    assert_eq!(oldest(&q), Some(queued));
    // The live one came back "not sent": queued too, with its verification.
    q.settle(live, requeue(Some("v-1"))).unwrap();
    assert_eq!(q.depth(), 2);
    drop(q);
    let mut q = Queue::open(&cfg).unwrap();
    let e = q.begin(live).unwrap();
    assert_eq!(
        (e.username.as_str(), e.verification_id.as_deref()),
        ("ann", Some("v-1"))
    );
    assert_eq!(e.jpeg, b"jpeg-ann");
}

#[test]
fn a_retry_after_holds_an_entry_back() {
    let tmp = tempfile::tempdir().unwrap();
    let mut q = Queue::open(&config(tmp.path())).unwrap();
    let id = q.push(new("a", 10), &Now::read()).unwrap();
    q.begin(id).unwrap();
    let at = Instant::now() + Duration::from_secs(30);
    q.settle(
        id,
        SentFate::Requeue {
            verification_id: None,
            not_before: Some(at),
            answer: "rate_limited".into(),
        },
    )
    .unwrap();
    assert_eq!(oldest(&q), None);
    assert_eq!(q.next_wake(), Some(at));
    assert_eq!(q.next_ready(at), Some(id));
    let listed = q.list(&Now::read());
    assert_eq!(listed[0].last_answer.as_deref(), Some("rate_limited"));
    assert_eq!(listed[0].attempts, 1);
}

#[test]
fn an_operator_lists_resends_and_drops_unknown_deliveries() {
    let (_tmp, cfg, mut q) = fresh();
    for n in ["ann", "bob"] {
        let id = q.push(new(n, 10), &Now::read()).unwrap();
        q.begin(id).unwrap();
        q.settle(id, unknown(Some(&format!("v-{n}")))).unwrap();
    }
    let queued = q.push(new("cat", 10), &Now::read()).unwrap();
    let listed = q.list(&Now::read());
    let states: Vec<(String, ListedState, bool)> = listed
        .iter()
        .map(|l| (l.username.clone(), l.state, l.resendable))
        .collect();
    assert_eq!(
        states,
        [
            ("ann".into(), ListedState::Unknown, true),
            ("bob".into(), ListedState::Unknown, true),
            ("cat".into(), ListedState::Queued, false),
        ]
    );
    let json = serde_json::to_string(&listed).unwrap();
    assert!(!json.contains("jpeg") && !json.contains("image"), "{json}");

    q.resend(EntryId(1)).unwrap();
    assert_eq!(oldest(&q), Some(EntryId(1)));
    let e = q.begin(EntryId(1)).unwrap();
    assert!(e.resent);
    assert_eq!(e.verification_id.as_deref(), Some("v-ann"));
    assert_eq!(q.drop_record(EntryId(2)).unwrap(), "bob");
    assert_eq!(q.drop_record(queued).unwrap(), "cat");
    assert_eq!(
        q.drop_record(EntryId(1)),
        Err(QueueError::NoSuchEntry(EntryId(1))),
        "a record being sent cannot be dropped"
    );
    assert_eq!(q.unknown_count(), 0);
    assert_eq!(names(&cfg.dir.join("unknown")), Vec::<String>::new());
}

/// Unknown deliveries (with their image) and review records go after `max_age_secs`.
#[test]
fn unknown_deliveries_and_review_records_expire() {
    for (fate, was, dir) in [
        (unknown(None), Expiring::Unknown, "unknown"),
        (review(), Expiring::Review, "review"),
    ] {
        let (_tmp, cfg, mut q) = fresh();
        let now = Now::read();
        let id = q.push(new("ann", 10), &now).unwrap();
        q.begin(id).unwrap();
        q.settle(id, fate).unwrap();
        assert!(q.expire(&now).unwrap().is_empty());
        let later = Now {
            boottime: now.boottime + cfg.max_age(),
            ..now
        };
        let expired = q.expire(&later).unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].was, was);
        assert_eq!(expired[0].username, "ann");
        assert_eq!(names(&cfg.dir.join(dir)), Vec::<String>::new());
        assert_eq!((q.unknown_count(), q.review_count()), (0, 0));
    }
}

#[test]
fn one_owner_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let q = Queue::open(&cfg).unwrap();
    let err = Queue::open(&cfg).unwrap_err();
    assert!(matches!(err, QueueError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("another process holds the queue"),
        "{err}"
    );
    drop(q);
    Queue::open(&cfg).unwrap();
}

#[test]
fn sequence_numbers_are_never_reused_even_when_every_record_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut q = Queue::open(&cfg).unwrap();
        let id = q.push(new("a", 1), &Now::read()).unwrap();
        q.drop_record(id).unwrap();
        seen.push(id.0);
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

#[test]
fn stopping_records_what_is_still_in_flight_as_unknown() {
    let (_tmp, _, mut q) = fresh();
    let live = bind(&mut q, "ann", None);
    q.store_capture(live, b"j", Some("v".into()), Destination::Send)
        .unwrap();
    let queued = q.push(new("bob", 1), &Now::read()).unwrap();
    q.begin(queued).unwrap();
    let records = q.in_flight_to_unknown("stopped").unwrap();
    let names: Vec<&str> = records.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(names, ["ann", "bob"]);
    assert!(records.iter().all(|r| r.reason == "stopped"));
    assert_eq!((q.depth(), q.unknown_count()), (0, 2));
}

/// A flagged registration: its capture goes, a sealed record of the answer stays under
/// `review/` (no image), listed with the answer, through a restart, until an operator drops it.
#[test]
fn a_flagged_registration_keeps_its_answer_for_the_operator_until_dropped() {
    let (_tmp, cfg, mut q) = fresh();
    let id = q.push(new("ann", 10), &Now::read()).unwrap();
    q.begin(id).unwrap();
    let answer = serde_json::json!({"code": "registered_review",
        "screening": {"matches": 1, "details": [{"name": "Jane Listed"}]}});
    let fate = SentFate::Review {
        verification_id: Some("v-ann".into()),
        answer: answer.clone(),
    };
    assert_eq!(q.settle(id, fate).unwrap(), None);
    assert_eq!((q.depth(), q.bytes(), q.review_count()), (0, 0, 1));
    assert_eq!(names(&cfg.dir), BARE, "the capture is gone");
    let file = cfg.dir.join("review/00000000000000000001.entry");
    let sealed = std::fs::read(&file).unwrap();
    assert!(
        !sealed.windows(4).any(|w| w == b"Jane"),
        "the record is sealed"
    );
    drop(q);

    let mut q = Queue::open(&cfg).unwrap();
    let listed = q.list(&Now::read());
    assert_eq!(listed.len(), 1);
    let r = &listed[0];
    assert_eq!(
        (r.state, r.username.as_str(), r.verification_id.as_deref()),
        (ListedState::Review, "ann", Some("v-ann"))
    );
    assert_eq!(r.last_answer.as_deref(), Some("registered_review"));
    assert_eq!(r.answer.as_ref(), Some(&answer));
    assert!(!r.resendable);
    assert_eq!(
        q.resend(id),
        Err(QueueError::NoSuchEntry(id)),
        "registered: nothing to resend"
    );
    assert_eq!(q.drop_record(id).unwrap(), "ann");
    assert_eq!(q.review_count(), 0);
    assert_eq!(names(&cfg.dir.join("review")), Vec::<String>::new());
}

/// A crash after the review record was written and before the capture was deleted: the
/// registration is settled (registered), not taken for an unknown delivery.
#[test]
fn a_review_record_beside_its_sending_capture_settles_it_at_open() {
    let (_tmp, cfg, mut q) = fresh();
    let id = q.push(new("ann", 10), &Now::read()).unwrap();
    q.begin(id).unwrap();
    let sending = cfg.dir.join("00000000000000000001.sending");
    let kept = std::fs::read(&sending).unwrap();
    q.settle(id, review()).unwrap();
    drop(q);
    std::fs::write(&sending, kept).unwrap();
    let q = Queue::open(&cfg).unwrap();
    assert!(q.report().unknown.is_empty(), "{:?}", q.report());
    assert_eq!((q.unknown_count(), q.review_count(), q.depth()), (0, 1, 0));
    assert_eq!(names(&cfg.dir), BARE);
}
