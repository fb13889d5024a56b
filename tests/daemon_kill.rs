//! kill -9 at random instants while the real daemon writes its queue and
//! delivers it over HTTPS, at least 100 times, then: no entry lost, none
//! corrupt, none delivered twice.
//!
//! Twenty enrollments are queued during an outage. Then, round after round,
//! the daemon is started and SIGKILLed after a random 0-300 ms; in most
//! rounds the stand-in is up (deliveries are cut), in some it refuses
//! (presses in those rounds are cut while being queued), and every other
//! round a press arrives as soon as the socket answers and the kill is timed
//! from that press. Each round has its
//! own username template, so every enrollment has a unique name.
//!
//! "Accepted" is what the daemon said it had stored: the twenty, plus every
//! name seen in a queue entry file between rounds or as a `queued` outcome
//! in the status file. Each accepted name must end up registered exactly
//! once or on record as an unknown delivery (killed mid-request: it may or
//! may not have reached IDMeta, and is never re-sent).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::daemon::{Harness, Knobs, wait_for};
use enrolld::standin::Behaviour;

const QUEUED_FIRST: u64 = 20;
const ROUNDS: usize = 110;

fn knobs(template: String) -> Knobs {
    Knobs {
        username_template: Some(template),
        backoff_base_ms: 100,
        backoff_max_ms: 200,
        ..Knobs::default()
    }
}

#[test]
fn kill_9_at_random_instants_loses_nothing_and_sends_nothing_twice() {
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&knobs("k-{seq}".to_owned()));
    let d = h.start();
    for i in 1..=QUEUED_FIRST {
        d.press_until("queued", i);
    }
    d.terminate(Duration::from_secs(15));
    let mut accepted: BTreeSet<String> = h.queued_names().into_iter().collect();
    assert_eq!(accepted.len(), QUEUED_FIRST as usize);

    let mut pressed_rounds = 0;
    for round in 0..ROUNDS {
        let up = round % 10 < 7;
        h.standin
            .set_behaviour(if up { Behaviour::Ok } else { Behaviour::Refuse });
        h.write_config(&knobs(format!("r{round}-{{seq}}")));
        let d = h.spawn();
        // Every other round, press as soon as the daemon answers, and time
        // the kill from the press, so it lands in the capture, the send or
        // the queue write; otherwise from the start (opening, repairs,
        // deliveries).
        if round % 2 == 0 {
            pressed_rounds += 1;
            let pressed = wait_for(Duration::from_secs(10), || {
                enrolld::control::client::trigger(&h.socket()).ok()
            });
            assert!(pressed.is_some(), "daemon never answered:\n{}", d.stderr());
        }
        // The kill instant (a random delay, not an assertion).
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..=300)));
        d.kill9();
        accepted.extend(h.queued_names());
        if let Ok(bytes) = std::fs::read(h.path("status.json"))
            && let Ok(s) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && s["last_outcome"]["code"] == "queued"
            && let Some(name) = s["last_outcome"]["username"].as_str()
        {
            accepted.insert(name.to_owned());
        }
    }

    // A last, undisturbed run drains what is left.
    h.standin.set_behaviour(Behaviour::Ok);
    h.write_config(&knobs("final-{seq}".to_owned()));
    let d = h.start();
    d.wait_status("queue.depth 0", Duration::from_secs(60), |s| {
        s["queue"]["depth"] == 0
    });
    d.terminate(Duration::from_secs(15));

    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for r in h.registrations() {
        assert!(r.problems.is_empty(), "{r:?}");
        let jpeg = r.jpeg.as_ref().expect("image");
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("JPEG");
        *sent
            .entry(r.field("username").unwrap().to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let unknown: BTreeSet<String> = h
        .unknown_records()
        .into_iter()
        .map(|u| u.username)
        .collect();
    let lost: Vec<_> = accepted
        .iter()
        .filter(|n| !sent.contains_key(*n) && !unknown.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "accepted but neither delivered nor on record: {lost:?}"
    );
    assert!(
        h.corrupt_files().is_empty(),
        "corrupt: {:?}",
        h.corrupt_files()
    );
    assert!(h.queued_names().is_empty());
    eprintln!(
        "{ROUNDS} kills ({pressed_rounds} with a press): {} accepted, {} registrations, {} unknown deliveries on record",
        accepted.len(),
        sent.len(),
        unknown.len()
    );
}
