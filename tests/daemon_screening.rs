//! v3's watchlist screening on the real daemon as a process, against the HTTPS stand-in, a real
//! mosquitto and the Prometheus textfile: a registration the screening flags is registered AND
//! flagged in every place an operator looks (the status file, the log line's journal fields,
//! the MQTT event, the metrics, `enrolld queue list`), the person at the wall is sent to
//! reception only when the operator turned that on, and whom it matched (a blocklist entry's
//! name, its reference id) reaches no log line, status file, metric or MQTT message: only the
//! operator's own `enrolld queue list --json`.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, Harness, Knobs, lit_periods, wait_for};
use common::mosquitto::{self, TERMINAL_PASSWORD};
use enrolld::api::ApiVersion;
use enrolld_standin::Behaviour;
use enrolld_standin::answer::{BLOCKLISTED_NAME, BLOCKLISTED_REFERENCE};
use serde_json::Value;

const BASE: &str = "enrolld/test-terminal";

/// Once the result has been shown (the terminal is idle again), the lit periods of the LED
/// record after the first `from`, from the first one longer than a busy blink (the result's).
fn result_periods(d: &Daemon, from: usize) -> Vec<(u64, u64)> {
    d.wait_status("idle after the result", Duration::from_secs(20), |s| {
        s["state"] == "idle"
    });
    let periods = lit_periods(&d.leds());
    let start = periods
        .iter()
        .skip(from)
        .position(|p| p.1 > 400)
        .unwrap_or_else(|| panic!("no result on the LED: {periods:?}"));
    periods[from + start..].to_vec()
}

#[test]
fn a_watchlist_match_is_registered_and_flagged_everywhere_and_whom_only_for_the_operator() {
    let Some(broker) = mosquitto::start(false) else {
        return;
    };
    let mut h = Harness::new(Behaviour::WatchlistMatch);
    let pw = h.path("mqtt-password");
    std::fs::write(&pw, format!("{TERMINAL_PASSWORD}\n")).unwrap();
    let prom = h.path("enrolld.prom");
    let mut knobs = Knobs {
        version: ApiVersion::V3,
        see_reception: true,
        extra: mosquitto::mqtt_section(&broker, &pw, "")
            + &format!("\n[metrics]\ntextfile = \"{}\"\n", prom.display()),
        ..Knobs::default()
    };
    h.write_config(&knobs);
    let everything = broker.subscribe(&format!("{BASE}/#"));
    let events = broker.subscribe(&format!("{BASE}/event"));
    let responses = broker.subscribe(&format!("{BASE}/response/+"));
    let d = h.start();
    d.wait_status("mqtt.connected", Duration::from_secs(20), |s| {
        s["mqtt"]["connected"] == true
    });

    // The press: registered, flagged, and the person asked to see reception.
    let reply = d.trigger().expect("trigger");
    assert_eq!(reply["started"], true);
    let s = d.wait_status("see_reception", Duration::from_secs(20), |s| {
        s["state"] == "see_reception"
    });
    assert_eq!(Daemon::counter(&s, "registered_review"), 1, "{s:#}");
    assert_eq!(Daemon::counter(&s, "registered"), 0, "{s:#}");
    // The review record is written as the registration is settled, a moment later.
    d.wait_status("queue.review 1", Duration::from_secs(10), |s| {
        s["queue"]["review"] == 1
    });
    let last = &s["last_outcome"];
    assert_eq!(last["code"], "registered_review", "{s:#}");
    let seq = h.registrations()[0].seq;
    assert_eq!(
        last["face_id"],
        enrolld_standin::answer::reference_of(seq).as_str()
    );
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("watchlist screening matched 1 record(s)"),
        "{s:#}"
    );
    // The LED: solid (registered) for a second, then four blinks at 2 Hz.
    let periods = result_periods(&d, 0);
    assert!((800..=1_800).contains(&periods[0].1), "{periods:?}");
    let blinks = &periods[1..];
    assert_eq!(blinks.len(), 4, "{periods:?}");
    assert!(
        blinks.iter().all(|p| (150..=500).contains(&p.1)),
        "{periods:?}"
    );

    // The log line: the count in its journal field, never whom.
    let line = wait_for(Duration::from_secs(5), || {
        d.stderr()
            .lines()
            .find(|l| l.contains("enrollment 1 for t-1") && l.contains("enrolld_outcome="))
            .map(str::to_owned)
    })
    .unwrap_or_else(|| panic!("no conclusion line:\n{}", d.stderr()));
    assert!(line.contains("enrolld_outcome=registered_review"), "{line}");
    assert!(line.contains("enrolld_screen_matches=1"), "{line}");

    // The MQTT event: the outcome and the count.
    let event = events.wait_on(&format!("{BASE}/event"), 1)[0].json();
    assert_eq!(event["outcome"], "registered_review", "{event}");
    assert_eq!(event["screen_matches"], 1, "{event}");

    // The metrics: counted as an outcome, and the records waiting for a look.
    let text = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&prom)
            .ok()
            .filter(|t| t.contains("enrolld_review_records 1"))
    })
    .unwrap_or_else(|| panic!("{:?}", std::fs::read_to_string(&prom)));
    assert!(
        text.contains("enrolld_enrollments_total{outcome=\"registered_review\"} 1"),
        "{text}"
    );

    // The operator: `enrolld queue list --json` shows whom it matched; over MQTT the same
    // request does not.
    let (code, out, err) = h.queue_command(&["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 1, "{out}");
    assert_eq!(listed[0]["state"], "review");
    let matched = &listed[0]["answer"]["screening"]["details"][0];
    assert_eq!(matched["name"], BLOCKLISTED_NAME, "{out}");
    assert_eq!(matched["reference_id"], BLOCKLISTED_REFERENCE, "{out}");
    let (_, table, _) = h.queue_command(&["list"]);
    assert!(table.contains("review") && table.contains("t-1"), "{table}");
    broker.publish(&format!("{BASE}/request/queue_list"), b"{}");
    let response = responses.wait_on(&format!("{BASE}/response/queue_list"), 1)[0].json();
    assert_eq!(response["records"][0]["last_answer"], "registered_review");
    assert!(response["records"][0].get("answer").is_none(), "{response}");

    // Operator off: a flag shows as a plain registration at the wall, and is still flagged.
    knobs.see_reception = false;
    h.write_config(&knobs);
    d.signal(libc::SIGHUP);
    wait_for(Duration::from_secs(10), || {
        d.stderr().contains("configuration reloaded").then_some(())
    })
    .unwrap_or_else(|| panic!("no reload:\n{}", d.stderr()));
    d.wait_status("idle", Duration::from_secs(20), |s| s["state"] == "idle");
    let before = lit_periods(&d.leds()).len();
    d.press_until("registered_review", 2);
    let s = d.status();
    assert_ne!(s["state"], "see_reception", "{s:#}");
    let periods = result_periods(&d, before);
    assert_eq!(periods.len(), 1, "one solid result: {periods:?}");
    assert!((2_500..=4_500).contains(&periods[0].1), "{periods:?}");
    assert_eq!(d.status_file()["queue"]["review"], 2);

    // Whom it matched is nowhere but the operator's list.
    d.terminate(Duration::from_secs(15));
    let mut seen = d_stderr_and_files(&h);
    seen.push_str(&std::fs::read_to_string(&prom).unwrap_or_default());
    for m in everything.messages() {
        seen.push_str(&m.text());
    }
    for whom in [BLOCKLISTED_NAME, BLOCKLISTED_REFERENCE, "similarity"] {
        assert!(
            !seen.contains(whom),
            "`{whom}` reached a log, the status file, a metric or MQTT"
        );
    }
}

/// The daemon's output and its status file, as one text.
fn d_stderr_and_files(h: &Harness) -> String {
    h.daemon_logs() + &std::fs::read_to_string(h.path("status.json")).unwrap_or_default()
}
