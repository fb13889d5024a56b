//! "Once, under the right name", proven on the real daemon as a process
//! against the HTTPS stand-in: what happens to a request on the wire at a
//! stop, to gateway errors, to a server asking to wait, to a refused token
//! during a drain, and what an operator can do with `enrolld queue`. Every
//! scenario runs for both registration API versions (`name::v1`, `name::v3`).

mod common;

use std::time::Duration;

use common::TOKEN;
use common::daemon::{Daemon, Harness, Knobs, wait_for};
use enrolld::api::ApiVersion;
use enrolld_standin::Behaviour;

fn ticket_knobs() -> Knobs {
    Knobs {
        username_template: None,
        request_timeout_ms: 3_000,
        ..Knobs::default()
    }
}

/// The registration requests the stand-in saw for `name`.
fn sent(h: &Harness, name: &str) -> usize {
    h.registered_names().iter().filter(|n| *n == name).count()
}

fn wait_registrations(h: &Harness, n: usize, within: Duration) {
    wait_for(within, || (h.registrations().len() >= n).then_some(()))
        .unwrap_or_else(|| panic!("{} registrations, waited for {n}", h.registrations().len()));
}

/// SIGTERM while the registration is on the wire and the server stalls:
/// the daemon waits for it (up to the request timeout), exits 0 well inside
/// the unit's TimeoutStopSec, records it as an unknown delivery, and never
/// binds that ticket to another capture.
fn sigterm_with_a_stalled_request_exits_cleanly_and_never_reuses_the_ticket(version: ApiVersion) {
    let mut h = Harness::new(Behaviour::Stall(Duration::from_secs(30)));
    h.write_config(&ticket_knobs().speaking(version));
    let mut d = h.start();
    h.enroll("ann");
    h.enroll("bob");
    let reply = d.trigger().expect("trigger");
    assert_eq!(reply["started"], true);
    wait_registrations(&h, 1, Duration::from_secs(20));
    let at = std::time::Instant::now();
    d.signal(libc::SIGTERM);
    let exit = d.wait_exit(Duration::from_secs(20));
    let took = at.elapsed();
    assert!(exit.success(), "exit {exit}\n{}", d.stderr());
    // The request timeout (3 s) plus the margin: far inside TimeoutStopSec=100s.
    assert!(took < Duration::from_secs(9), "stopping took {took:?}");
    assert_eq!(h.pending_tickets(), ["bob"], "ann is not pending again");
    let unknown: Vec<String> = h
        .unknown_records()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(unknown, ["ann"]);

    // The next start: the next press is bob, and ann is never sent again.
    h.standin.set_behaviour(Behaviour::Ok);
    let d = h.start();
    d.press_until("registered", 1);
    d.terminate(Duration::from_secs(15));
    assert_eq!(sent(&h, "ann"), 1, "ann's only request is the stalled one");
    assert_eq!(sent(&h, "bob"), 1);
}

/// A gateway that answered 502 or 504 may have passed the request on: it
/// is sent once, recorded for an operator, never retried.
fn gateway_errors_are_sent_once_and_recorded(version: ApiVersion) {
    for status in [502, 504] {
        let mut h = Harness::new(Behaviour::Status(status));
        h.write_config(&ticket_knobs().speaking(version));
        let d = h.start();
        h.enroll("ann");
        d.press_until("unknown_delivery", 1);
        // Long enough for several retries, were there any (backoff 100-300 ms).
        std::thread::sleep(Duration::from_millis(1_500));
        let s = d.status();
        assert_eq!(s["queue"]["unknown_deliveries"], 1, "{s:#}");
        assert_eq!(s["queue"]["depth"], 0, "{s:#}");
        d.terminate(Duration::from_secs(15));
        assert_eq!(h.registrations().len(), 1, "HTTP {status}: sent once only");
        assert_eq!(h.unknown_records().len(), 1);
    }
}

/// 503 and 429 mean "not now": queued, and sent again no sooner than the
/// Retry-After the server gave.
fn unavailable_and_rate_limited_are_retried_after_retry_after(version: ApiVersion) {
    for behaviour in [
        Behaviour::Unavailable { retry_after_s: 2 },
        Behaviour::RateLimited { retry_after_s: 2 },
    ] {
        let mut h = Harness::new(behaviour.clone());
        h.write_config(&ticket_knobs().speaking(version));
        let d = h.start();
        h.enroll("ann");
        d.press_until("queued", 1);
        wait_registrations(&h, 1, Duration::from_secs(10));
        h.standin.set_behaviour(Behaviour::Ok);
        d.wait_counter("delivered_from_queue", 1, Duration::from_secs(20));
        d.terminate(Duration::from_secs(15));
        let arrivals: Vec<u64> = h
            .registrations()
            .iter()
            .map(|r| r.arrived_mono_ns)
            .collect();
        assert_eq!(arrivals.len(), 2, "{behaviour}: one refusal, one delivery");
        let gap = Duration::from_nanos(arrivals[1] - arrivals[0]);
        assert!(
            gap >= Duration::from_secs(2),
            "{behaviour}: retried after {gap:?}"
        );
        assert_eq!(
            h.registered_names()[0],
            h.registered_names()[1],
            "the same enrollment"
        );
    }
}

/// An outage, then the server is back but refuses the token: every entry is
/// kept, at most one probe per interval goes out, and after the token is
/// fixed and reloaded (SIGHUP) each entry is delivered exactly once.
fn a_refused_token_while_draining_keeps_everything_until_a_reload(version: ApiVersion) {
    let mut h = Harness::new(Behaviour::Refuse);
    let token_file = h.path("token");
    std::fs::write(&token_file, "42|a-token-the-server-refuses").unwrap();
    let knobs = Knobs {
        token_file: Some(token_file.clone()),
        paused_probe_secs: Some(2),
        ..Knobs::default()
    };
    h.write_config(&knobs.speaking(version));
    let d = h.start();
    for i in 1..=3 {
        d.press_until("queued", i);
    }
    // Back, but the token is wrong: 401.
    h.standin.set_behaviour(Behaviour::Ok);
    d.wait_status("paused", Duration::from_secs(20), |s| {
        s["queue"]["paused"] == true && s["state"] == "paused"
    });
    // Every request counts (a probe of an entry without a verification id
    // is its create-verification call).
    let at_pause = h.standin.records().len();
    std::thread::sleep(Duration::from_millis(3_000));
    let probes = h.standin.records().len() - at_pause;
    assert!(probes <= 2, "{probes} probes in 3 s with one per 2 s");
    let s = d.status();
    assert_eq!(s["queue"]["depth"], 3, "every entry kept: {s:#}");
    assert!(h.standin.records().iter().all(|r| !r.token_ok));

    std::fs::write(&token_file, TOKEN).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_status("drained", Duration::from_secs(30), |s| {
        s["queue"]["depth"] == 0 && s["queue"]["paused"] == false
    });
    d.terminate(Duration::from_secs(15));
    assert!(h.registrations().iter().all(|r| r.token_ok));
    assert_eq!(
        h.registered_names(),
        ["t-1", "t-2", "t-3"].map(str::to_owned)
    );
}

fn list(h: &Harness) -> Vec<serde_json::Value> {
    let (code, out, err) = h.queue_command(&["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn unknown_ids(h: &Harness) -> Vec<u64> {
    list(h)
        .iter()
        .filter(|r| r["state"] == "unknown")
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

/// Two unknown deliveries: one resent (and registered), one dropped; then
/// the same commands with the daemon stopped, working on the files.
fn an_operator_lists_resends_drops_and_resumes_running_and_stopped(version: ApiVersion) {
    let mut h = Harness::new(Behaviour::Status(504));
    h.write_config(&ticket_knobs().speaking(version));
    let d = h.start();
    for (i, name) in ["t-1", "t-2", "t-3"].into_iter().enumerate() {
        h.enroll(name);
        d.press_until("unknown_delivery", i as u64 + 1);
    }
    let listed = list(&h);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    assert!(
        listed
            .iter()
            .all(|r| r["state"] == "unknown" && r["resendable"] == true)
    );
    assert!(listed.iter().all(|r| r["last_answer"] == "server_error"));
    let table = h.queue_command(&["list"]).1;
    assert!(
        table.contains("t-1") && table.contains("unknown"),
        "{table}"
    );

    h.standin.set_behaviour(Behaviour::Ok);
    let ids = unknown_ids(&h);
    let (code, out, err) = h.queue_command(&["resend", &ids[0].to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queued again"), "{out}");
    d.wait_counter("delivered_from_queue", 1, Duration::from_secs(20));
    let (code, out, _) = h.queue_command(&["drop", &ids[1].to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains("t-2"), "{out}");
    let (code, _, err) = h.queue_command(&["drop", "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("queue entry #999"), "{err}");
    let (code, out, _) = h.queue_command(&["resume"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(unknown_ids(&h), [ids[2]]);
    d.terminate(Duration::from_secs(15));
    assert_eq!(
        sent(&h, "t-1"),
        2,
        "the first send, and the operator's resend"
    );
    assert_eq!(sent(&h, "t-2"), 1);

    // Stopped: the same commands on the files, under the directory's lock.
    assert_eq!(unknown_ids(&h), [ids[2]]);
    let (code, _, err) = h.queue_command(&["resend", &ids[2].to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not running"), "{err}");
    let queued: Vec<_> = list(&h)
        .into_iter()
        .filter(|r| r["state"] == "queued")
        .collect();
    assert_eq!(queued.len(), 1);
    let (code, out, _) = h.queue_command(&["resume"]);
    assert_eq!(code, 0);
    assert!(out.contains("not running"), "{out}");
    // Started again, it delivers what the operator resent.
    let d: Daemon = h.start();
    d.wait_status("drained", Duration::from_secs(20), |s| {
        s["queue"]["depth"] == 0
    });
    d.terminate(Duration::from_secs(15));
    assert_eq!(sent(&h, "t-3"), 2);
}

/// A success answer naming another verification than the one sent (answers
/// mixed up on the way) is not a registration of this person: live and from
/// the queue, it is an unknown delivery on record for an operator, logged
/// with the reason, and never counted as registered.
fn a_success_for_another_verification_is_an_unknown_delivery_not_a_registration(
    version: ApiVersion,
) {
    let mut h = Harness::new(Behaviour::OtherVerification);
    h.write_config(&ticket_knobs().speaking(version));
    let d = h.start();
    // Live.
    h.enroll("ann");
    d.press_until("unknown_delivery", 1);
    let s = d.status();
    assert_eq!(s["last_outcome"]["code"], "unknown_delivery", "{s:#}");
    let message = s["last_outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("is for another request"), "{s:#}");
    assert!(message.contains("`v-ann` sent"), "{s:#}");
    // From the queue: stored during an outage, answered with another id.
    h.standin.set_behaviour(Behaviour::Refuse);
    h.enroll("bob");
    d.press_until("queued", 1);
    h.standin.set_behaviour(Behaviour::OtherVerification);
    let s = d.wait_status("bob on record", Duration::from_secs(30), |s| {
        s["queue"]["unknown_deliveries"] == 2 && s["queue"]["depth"] == 0
    });
    assert_eq!(Daemon::counter(&s, "registered"), 0, "{s:#}");
    assert_eq!(Daemon::counter(&s, "delivered_from_queue"), 0, "{s:#}");
    for name in ["ann", "bob"] {
        wait_for(Duration::from_secs(10), || {
            d.stderr()
                .lines()
                .any(|l| l.contains(name) && l.contains("is for another request"))
                .then_some(())
        })
        .unwrap_or_else(|| panic!("no log line for {name} with the reason:\n{}", d.stderr()));
    }
    d.terminate(Duration::from_secs(15));
    let mut on_record: Vec<String> = h
        .unknown_records()
        .into_iter()
        .map(|u| u.username)
        .collect();
    on_record.sort();
    assert_eq!(on_record, ["ann", "bob"]);
    assert_eq!(sent(&h, "ann") + sent(&h, "bob"), 2, "each sent once");
}

/// A created verification of another trust flow is another request's: no
/// registration is filed under it. The capture waits in the queue (nothing
/// was sent), the log says why, and once IDMeta answers for this request
/// it is registered, once.
fn a_verification_created_for_another_trust_flow_is_not_used(version: ApiVersion) {
    let mut h = Harness::new(Behaviour::OtherVerification);
    h.write_config(&Knobs::default().speaking(version));
    let d = h.start();
    d.press_until("queued", 1);
    wait_for(Duration::from_secs(10), || {
        d.stderr()
            .contains(
                "create-verification answer is for another request: its \
                 verification.template_id is `1`, not the `129` sent",
            )
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no reason in the log:\n{}", d.stderr()));
    assert!(h.registrations().is_empty(), "nothing registered under it");
    h.standin.set_behaviour(Behaviour::Ok);
    d.wait_counter("delivered_from_queue", 1, Duration::from_secs(30));
    assert_eq!(h.registered_names(), ["t-1"]);
    d.terminate(Duration::from_secs(15));
}

/// An unknown delivery an operator resends while its first send had in fact got through: v3's
/// duplicate detection matches the record enrolled moments before. It counts as registered and
/// is shown, not hidden: `registered_review`, a review record listing what it matched (the first
/// send's reference id), the log line with the count only. v1 has no screening: registered.
fn a_resend_matching_the_record_its_first_send_enrolled_is_shown_to_the_operator(
    version: ApiVersion,
) {
    let mut h = Harness::new(Behaviour::Status(504));
    h.write_config(&ticket_knobs().speaking(version));
    let d = h.start();
    h.enroll("ann");
    d.press_until("unknown_delivery", 1);
    let first = h.registrations()[0].seq;
    h.standin.set_behaviour(Behaviour::WatchlistMatch);
    let id = unknown_ids(&h)[0];
    let (code, _, err) = h.queue_command(&["resend", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    let s = d.wait_counter("delivered_from_queue", 1, Duration::from_secs(20));
    assert_eq!(
        sent(&h, "ann"),
        2,
        "the first send and the operator's resend"
    );
    match version {
        ApiVersion::V1 => {
            assert_eq!(Daemon::counter(&s, "registered"), 1, "{s:#}");
            assert_eq!(s["queue"]["review"], 0, "{s:#}");
            assert!(list(&h).is_empty());
        }
        ApiVersion::V3 => {
            assert_eq!(Daemon::counter(&s, "registered_review"), 1, "{s:#}");
            assert_eq!(Daemon::counter(&s, "registered"), 0, "{s:#}");
            assert_eq!(s["queue"]["review"], 1, "{s:#}");
            let listed = list(&h);
            assert_eq!(listed.len(), 1, "{listed:#?}");
            let r = &listed[0];
            assert_eq!(r["state"], "review");
            assert_eq!(r["username"], "ann");
            assert_eq!(r["last_answer"], "registered_review");
            let reference = enrolld_standin::answer::reference_of(first);
            let matched = &r["answer"]["screening"]["details"][0];
            assert_eq!(matched["reference_id"], reference.as_str(), "{r:#}");
            let logs = h.daemon_logs();
            let line = logs
                .lines()
                .find(|l| l.contains("delivered: registered_review"))
                .unwrap_or_else(|| panic!("no delivery line:\n{logs}"));
            assert!(line.contains("resent by an operator"), "{line}");
            assert!(line.contains("enrolld_screen_matches=1"), "{line}");
            assert!(
                !logs.contains(&reference),
                "the match's reference id was logged"
            );
            // Reviewed: the operator drops the record.
            let (code, out, _) = h.queue_command(&["drop", &id.to_string()]);
            assert_eq!(code, 0);
            assert!(out.contains("ann"), "{out}");
            assert!(list(&h).is_empty());
        }
    }
    d.terminate(Duration::from_secs(15));
}

for_each_version!(
    a_resend_matching_the_record_its_first_send_enrolled_is_shown_to_the_operator,
    sigterm_with_a_stalled_request_exits_cleanly_and_never_reuses_the_ticket,
    gateway_errors_are_sent_once_and_recorded,
    unavailable_and_rate_limited_are_retried_after_retry_after,
    a_refused_token_while_draining_keeps_everything_until_a_reload,
    an_operator_lists_resends_drops_and_resumes_running_and_stopped,
    a_success_for_another_verification_is_an_unknown_delivery_not_a_registration,
    a_verification_created_for_another_trust_flow_is_not_used,
);
