//! Tickets and records in step, including after a crash at each point of
//! binding and releasing (simulated by leaving the files as a crash would).

use std::path::Path;

use super::*;
use crate::queue::{Destination, ListedState, QueueKey};

fn config(dir: &Path) -> QueueConfig {
    QueueConfig {
        dir: dir.join("queue"),
        ..QueueConfig::default()
    }
}

fn open(dir: &Path, key: &QueueKey) -> (Store, OpenReport) {
    let queue = Queue::open_with_key(&config(dir), key.clone()).unwrap();
    let tickets = Tickets::open(&dir.join("tickets.json"), 10).unwrap();
    Store::assemble(queue, tickets).unwrap()
}

fn names(store: &Store) -> Vec<String> {
    store.tickets.iter().map(|t| t.username.clone()).collect()
}

fn ticket(name: &str) -> Ticket {
    Ticket::new(name, None).unwrap()
}

#[test]
fn a_bound_ticket_leaves_the_list_and_a_release_puts_it_back_in_front() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let (mut store, _) = open(dir.path(), &key);
    store.push_ticket(ticket("ann")).unwrap();
    store.push_ticket(ticket("bob")).unwrap();
    let now = Now::read();
    let bound = store.bind(NameSource::Ticket, &now).unwrap();
    assert_eq!(bound.username, "ann");
    assert!(bound.from_ticket);
    assert_eq!(names(&store), ["bob"]);
    store.release(bound.record).unwrap();
    assert_eq!(names(&store), ["ann", "bob"]);
}

#[test]
fn a_crash_while_bound_gives_the_ticket_back_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let (mut store, _) = open(dir.path(), &key);
    store.push_ticket(ticket("ann")).unwrap();
    store.push_ticket(ticket("bob")).unwrap();
    store.bind(NameSource::Ticket, &Now::read()).unwrap();
    drop(store);
    let (store, report) = open(dir.path(), &key);
    assert_eq!(report.released.len(), 1);
    assert_eq!(names(&store), ["ann", "bob"]);
    drop(store);
    // Opened again: nothing left to release, nothing listed twice.
    let (store, report) = open(dir.path(), &key);
    assert!(report.released.is_empty());
    assert_eq!(names(&store), ["ann", "bob"]);
}

#[test]
fn a_crash_between_the_record_and_the_ticket_list_lists_the_ticket_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let (mut store, _) = open(dir.path(), &key);
    store.push_ticket(ticket("ann")).unwrap();
    // The record is written, the ticket not yet removed: what a kill in
    // between leaves.
    let front = store.tickets.front().cloned().unwrap();
    let seq = store.queue.reserve_seq().unwrap();
    store
        .queue
        .bind(
            Binding {
                seq,
                username: "ann".into(),
                verification_id: None,
                ticket: Some(front),
            },
            &Now::read(),
        )
        .unwrap();
    drop(store);
    let (store, _) = open(dir.path(), &key);
    assert_eq!(names(&store), ["ann"]);
}

#[test]
fn a_sent_record_answered_with_a_retake_gives_its_ticket_back() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let (mut store, _) = open(dir.path(), &key);
    store.push_ticket(ticket("ann")).unwrap();
    let b = store.bind(NameSource::Ticket, &Now::read()).unwrap();
    store
        .store_capture(b.record, b"jpeg", Some("v".into()), Destination::Send)
        .unwrap();
    assert!(names(&store).is_empty());
    store.release(b.record).unwrap();
    assert_eq!(names(&store), ["ann"]);
    assert!(store.queue.list(&Now::read()).is_empty());
}

#[test]
fn a_crash_while_sending_consumes_the_name_and_records_an_unknown_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let (mut store, _) = open(dir.path(), &key);
    store.push_ticket(ticket("ann")).unwrap();
    let b = store.bind(NameSource::Ticket, &Now::read()).unwrap();
    store
        .store_capture(b.record, b"jpeg", Some("v".into()), Destination::Send)
        .unwrap();
    drop(store);
    let (store, report) = open(dir.path(), &key);
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].username, "ann");
    assert!(names(&store).is_empty(), "the name is never bound again");
    let listed = store.queue.list(&Now::read());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, ListedState::Unknown);
    assert!(listed[0].resendable);
}

#[test]
fn template_names_use_a_sequence_that_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let key = QueueKey::random();
    let template = NameSource::Template {
        template: "t-{seq}",
        terminal_id: "x",
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (mut store, _) = open(dir.path(), &key);
        for _ in 0..2 {
            let b = store.bind(template, &Now::read()).unwrap();
            seen.push(b.username.clone());
            store.release(b.record).unwrap();
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
}
