//! Crash anywhere: kill -9 at random instants spread over the whole life of
//! an enrollment (start-up and repairs, binding, capture, create-verification,
//! the registration on the wire, queueing, draining), 200 rounds, mixing
//! tickets (with and without their own verification id) and template names,
//! against an HTTPS stand-in that sometimes stalls past the request timeout,
//! sometimes answers slowly, and sometimes refuses connections.
//!
//! The stand-in's ledger records every registration request that reached it
//! (answered or not). At the end it must show:
//! - **nobody twice**: no username in two requests;
//! - **never under another name**: no capture (each simulated frame is
//!   stamped, so every capture's JPEG is unique) under two names, and an
//!   unknown delivery's image on record is the very capture its name was
//!   sent with, if it was sent at all — so a name is never bound to a later
//!   capture after its first send;
//! - **nothing accepted is lost**: every ticket the daemon acknowledged and
//!   every enrollment it stored ends registered or on record as an unknown
//!   delivery (the stand-in refuses nothing for good, so nothing fails), and
//!   the counts add up.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::daemon::{Harness, Knobs, wait_for};
use enrolld_standin::Behaviour;

const ROUNDS: usize = 200;

fn knobs() -> Knobs {
    Knobs {
        username_template: Some("k-{seq}".to_owned()),
        request_timeout_ms: 1_500,
        backoff_base_ms: 100,
        backoff_max_ms: 200,
        ..Knobs::default()
    }
}

/// What the stand-in does this round.
fn behaviour(round: usize) -> Behaviour {
    match fastrand::u8(0..20) {
        0..=7 => Behaviour::Ok,
        // Answers, slowly: the kill often lands while it waits.
        8..=11 => Behaviour::Stall(Duration::from_millis(400)),
        // Never answers in time: unknown deliveries.
        12..=14 => Behaviour::Stall(Duration::from_secs(5)),
        15..=17 => Behaviour::Refuse,
        _ if round.is_multiple_of(2) => Behaviour::Unavailable { retry_after_s: 1 },
        _ => Behaviour::Ok,
    }
}

#[test]
fn kill_9_at_random_instants_loses_nothing_and_sends_nothing_twice() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&knobs());
    let started = Instant::now();
    let mut tickets: BTreeSet<String> = BTreeSet::new();
    let mut stored: BTreeSet<String> = BTreeSet::new();
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    for round in 0..ROUNDS {
        let b = behaviour(round);
        h.standin.set_behaviour(b.clone());
        let d = h.spawn();
        if fastrand::u8(0..10) == 0 {
            // Killed during start-up and the repairs of the last kill.
            std::thread::sleep(Duration::from_micros(fastrand::u64(0..20_000)));
            *phases.entry("start-up").or_default() += 1;
        } else {
            let up = wait_for(Duration::from_secs(10), || {
                enrolld::control::client::status(&h.socket()).ok()
            });
            assert!(up.is_some(), "daemon never answered:\n{}", d.stderr());
            if fastrand::bool() {
                let name = format!("tk-{round}");
                let vid = fastrand::bool().then(|| format!("v-{round}"));
                if enrolld::control::client::enroll(&h.socket(), &name, vid.as_deref()).is_ok() {
                    tickets.insert(name);
                }
            }
            if fastrand::u8(0..4) > 0 {
                let _ = enrolld::control::client::trigger(&h.socket());
                *phases.entry("after a press").or_default() += 1;
            } else {
                *phases.entry("draining").or_default() += 1;
            }
            // The kill instant (a random delay, not an assertion): spread
            // over capture, create-verification, the request, queueing.
            std::thread::sleep(Duration::from_millis(fastrand::u64(0..=1_200)));
        }
        d.kill9();
        stored.extend(h.queued_names());
    }
    let elapsed = started.elapsed();

    // A last, undisturbed run: every pending ticket pressed, the queue drained.
    h.standin.set_behaviour(Behaviour::Ok);
    let d = h.start();
    let drained = wait_for(Duration::from_secs(120), || {
        let s = d.status();
        if s["tickets_pending"].as_u64().unwrap_or(0) > 0 && s["state"] == "idle" {
            let _ = d.trigger();
        }
        (s["tickets_pending"] == 0 && s["queue"]["depth"] == 0 && s["state"] == "idle")
            .then_some(())
    });
    assert!(drained.is_some(), "not drained: {:#}", d.status());
    d.terminate(Duration::from_secs(15));

    // The ledger: every registration request that reached the stand-in.
    let mut by_name: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut by_capture: BTreeMap<Vec<u8>, BTreeSet<String>> = BTreeMap::new();
    // A 503 is the server saying it did not process the request: sending
    // again after it is right, so those answers are not registrations.
    let (processed, declined): (Vec<_>, Vec<_>) = h
        .registrations()
        .into_iter()
        .partition(|r| !r.behaviour.starts_with("unavailable"));
    let behaviours = |name: &str| -> Vec<String> {
        h.registrations()
            .into_iter()
            .filter(|r| r.field("username") == Some(name))
            .map(|r| r.behaviour.clone())
            .collect()
    };
    for r in processed {
        assert!(r.problems.is_empty(), "{r:?}");
        let name = r.field("username").unwrap().to_owned();
        let capture = r.jpeg.clone().expect("image");
        by_name
            .entry(name.clone())
            .or_default()
            .push(capture.clone());
        by_capture.entry(capture).or_default().insert(name);
    }
    let twice: Vec<_> = by_name
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(n, _)| (n, behaviours(n)))
        .collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let shared: Vec<_> = by_capture.values().filter(|n| n.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "one capture under several names: {shared:?}"
    );

    // Unknown deliveries, with the image each keeps for an operator.
    let unknown = h.unknown_images();
    for (name, capture) in &unknown {
        if let Some(sent) = by_name.get(name) {
            assert_eq!(
                &sent[0], capture,
                "{name} was sent with a capture other than the one on record"
            );
        }
    }
    let registered: BTreeSet<&String> = by_name.keys().collect();
    let accepted: BTreeSet<&String> = tickets.iter().chain(&stored).collect();
    let lost: Vec<_> = accepted
        .iter()
        .filter(|n| !registered.contains(*n) && !unknown.contains_key(**n))
        .collect();
    assert!(
        lost.is_empty(),
        "accepted, then neither registered nor on record: {lost:?}"
    );
    assert!(
        h.corrupt_files().is_empty(),
        "corrupt: {:?}",
        h.corrupt_files()
    );
    assert!(h.queued_names().is_empty());
    assert!(h.pending_tickets().is_empty());
    // Each declined request was sent again under its own name and capture.
    for r in &declined {
        let name = r.field("username").unwrap();
        assert!(
            registered.contains(&name.to_owned()) || unknown.contains_key(name),
            "{name}: declined with 503, then never delivered"
        );
        let later = by_name
            .get(name)
            .map(|c| &c[0])
            .or_else(|| unknown.get(name));
        assert_eq!(
            later,
            r.jpeg.as_ref(),
            "{name}: sent again with another capture"
        );
    }
    let unsent_unknown = unknown.keys().filter(|n| !registered.contains(n)).count();
    eprintln!(
        "{ROUNDS} kills in {elapsed:?} ({phases:?}): {} tickets and {} stored enrollments \
         accepted; {} registered, {} unknown deliveries on record ({unsent_unknown} of them \
         never reached the stand-in)",
        tickets.len(),
        stored.len(),
        registered.len(),
        unknown.len()
    );
    // The kills must have landed in every phase for the test to prove anything.
    assert!(
        !unknown.is_empty(),
        "no kill landed with a request on the wire"
    );
    assert!(registered.len() >= ROUNDS / 4, "too few registrations");
    assert!(tickets.len() >= ROUNDS / 4, "too few tickets");
}
