//! The terminal on a site's MQTT broker, against Debian's real mosquitto
//! (started here on loopback with a password file and an ACL; TLS with a
//! fresh CA where it says so) and `mosquitto_sub`/`mosquitto_pub` as the
//! reception app, with `enrolld run` as a process.

mod common;

use std::time::{Duration, Instant};

use common::daemon::{Daemon, Harness, Knobs};
use common::mosquitto::{
    self, APP, APP_PASSWORD, Access, Broker, Message, OTHER, OTHER_PASSWORD, TERMINAL,
    TERMINAL_PASSWORD,
};
use enrolld_standin::Behaviour;
use serde_json::{Value, json};

const BASE: &str = "enrolld/test-terminal";

/// A harness whose daemon uses `broker` with the terminal's credentials
/// (`password` in its password file) and `extra` `[mqtt]` lines.
fn harness(broker: &Broker, password: &str, extra: &str) -> Harness {
    let h = Harness::new(Behaviour::Ok);
    let pw = h.path("mqtt-password");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    h.write_config(&Knobs {
        extra: mosquitto::mqtt_section(broker, &pw, extra),
        ..Knobs::default()
    });
    h
}

fn mqtt(status: &Value) -> &Value {
    &status["mqtt"]
}

/// The client id the daemon connected as (its log says it).
fn client_id(d: &Daemon) -> String {
    let log = d.stderr();
    let id = log
        .split("MQTT: connected to ")
        .nth(1)
        .and_then(|rest| rest.split('`').nth(1))
        .unwrap_or_else(|| panic!("never connected: {log}"));
    id.to_owned()
}

fn wait_connected(d: &Daemon) -> Value {
    d.wait_status("mqtt.connected", Duration::from_secs(20), |s| {
        mqtt(s)["connected"] == true
    })
}

/// Publishes a request as the app and waits for its response.
fn request(
    broker: &Broker,
    responses: &mosquitto::Subscriber,
    name: &str,
    payload: Value,
) -> Value {
    request_raw(broker, responses, name, payload.to_string().as_bytes())
}

/// [`request`] with any payload.
fn request_raw(
    broker: &Broker,
    responses: &mosquitto::Subscriber,
    name: &str,
    payload: &[u8],
) -> Value {
    let topic = format!("{BASE}/response/{name}");
    let before = responses
        .messages()
        .iter()
        .filter(|m| m.topic == topic)
        .count();
    broker.publish(&format!("{BASE}/request/{name}"), payload);
    responses.wait_on(&topic, before + 1)[before].json()
}

/// A broker, and a daemon connected to it with `extra` `[mqtt]` lines.
fn connected(tls: bool, extra: &str) -> Option<(Broker, Harness, Daemon)> {
    let broker = mosquitto::start(tls)?;
    let mut h = harness(&broker, TERMINAL_PASSWORD, extra);
    let d = h.start();
    wait_connected(&d);
    Some((broker, h, d))
}

#[test]
fn discovery_and_availability_are_retained_and_a_kill_shows_offline_through_the_last_will() {
    let Some((broker, mut h, d)) = connected(true, "") else {
        return;
    };
    let availability = format!("{BASE}/availability");
    broker.wait_retained(&availability, |m| m.text() == "online");
    let discovery_topic = format!("homeassistant/device/{TERMINAL}/config");
    let discovery = broker.wait_retained(&discovery_topic, |_| true).json();
    assert_eq!(discovery["dev"]["ids"][0], "enrolld_test-terminal_device");
    assert_eq!(discovery["o"]["name"], "enrolld");
    assert_eq!(discovery["avty_t"], availability);
    for entity in [
        "state",
        "queue_depth",
        "registered",
        "unknown_deliveries",
        "last_outcome",
        "fault",
        "trigger",
        "next_name",
        "outcome",
    ] {
        assert!(
            discovery["cmps"][entity].is_object(),
            "{entity} missing: {discovery}"
        );
    }
    let status = broker.wait_retained(&format!("{BASE}/status"), |m| m.json()["state"] == "idle");
    let text = status.text();
    assert!(
        !text.contains(TERMINAL_PASSWORD) && !text.contains(common::TOKEN),
        "{text}"
    );

    // Home Assistant restarted: the discovery message comes again.
    let watch = broker.subscribe(&discovery_topic);
    let retained_copy = watch.wait_on(&discovery_topic, 1);
    assert!(retained_copy[0].retained);
    broker.publish("homeassistant/status", b"online");
    let again = watch.wait_on(&discovery_topic, 2);
    assert!(!again[1].retained, "sent again live: {again:?}");

    // A press: one event, without the name, the face id or the image.
    let events = broker.subscribe(&format!("{BASE}/event"));
    d.press_until("registered", 1);
    let event = events.wait_on(&format!("{BASE}/event"), 1)[0].json();
    assert_eq!(event["outcome"], "registered");
    assert_eq!(event["queue_depth"], 0);
    assert!(event["durations_ms"]["total"].is_u64(), "{event}");
    assert!(event.get("username").is_none(), "{event}");
    let status = broker.wait_retained(&format!("{BASE}/status"), |m| {
        m.json()["last_outcome"]["code"] == "registered"
    });
    assert_eq!(
        status.json()["last_outcome"]["username"],
        "",
        "{}",
        status.text()
    );
    assert!(
        status.json()["last_outcome"]["face_id"].is_null(),
        "{}",
        status.text()
    );
    let face_id = d.status()["last_outcome"]["face_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!events.messages()[0].text().contains(&face_id));

    d.kill9();
    broker.wait_retained(&availability, |m| m.text() == "offline");

    // A clean stop publishes `offline` itself.
    let d = h.start();
    wait_connected(&d);
    broker.wait_retained(&availability, |m| m.text() == "online");
    let id = client_id(&d);
    d.terminate(Duration::from_secs(15));
    broker.wait_retained(&availability, |m| m.text() == "offline");
    let log = broker.log();
    assert!(
        log.contains(&format!("Client {id} disconnected.")),
        "the last stop was a clean disconnect:\n{log}"
    );
}

#[test]
fn a_ticket_over_mqtt_is_enrolled_once_however_often_it_is_delivered() {
    let Some(broker) = mosquitto::start(false) else {
        return;
    };
    // Junk someone left retained on a request topic is never executed.
    let junk = json!({"username": "Retained Junk", "transaction": "junk-1"});
    broker.publish_as(
        mosquitto::APP,
        mosquitto::APP_PASSWORD,
        &format!("{BASE}/request/enroll"),
        junk.to_string().as_bytes(),
        true,
    );
    let mut h = harness(&broker, TERMINAL_PASSWORD, "");
    let responses = broker.subscribe(&format!("{BASE}/response/+"));
    let events = broker.subscribe(&format!("{BASE}/event"));
    let d = h.start();
    wait_connected(&d);

    let ticket = json!({"username": "Ann Lee", "transaction": "desk-42"});
    let first = request(&broker, &responses, "enroll", ticket.clone());
    assert_eq!(
        first,
        json!({"ok": true, "position": 1, "transaction": "desk-42"})
    );
    let second = request(&broker, &responses, "enroll", ticket.clone());
    assert_eq!(
        second,
        json!({"ok": true, "repeated": true, "transaction": "desk-42"})
    );
    assert_eq!(h.pending_tickets(), ["Ann Lee"]);
    assert!(
        d.stderr()
            .contains("ignored a retained message on enrolld/test-terminal/request/enroll"),
        "{}",
        d.stderr()
    );

    // Redelivered after a restart of the terminal: still once.
    d.terminate(Duration::from_secs(15));
    let d = h.start();
    wait_connected(&d);
    let third = request(&broker, &responses, "enroll", ticket);
    assert_eq!(third["repeated"], true, "{third}");
    assert_eq!(h.pending_tickets(), ["Ann Lee"]);

    let pressed = request(&broker, &responses, "trigger", json!({"transaction": "p"}));
    assert_eq!(pressed["ok"], true, "{pressed}");
    assert_eq!(pressed["started"], true, "{pressed}");
    d.wait_counter("registered", 1, Duration::from_secs(20));
    let event = events.wait_on(&format!("{BASE}/event"), 1)[0].json();
    assert_eq!(event["transaction"], "desk-42");
    assert_eq!(event["outcome"], "registered");
    assert_eq!(h.registered_names(), ["Ann Lee"]);

    // Every request the control socket knows, with its answer.
    for (name, payload, field, want) in [
        (
            "status",
            json!({"transaction": "s-1"}),
            "/status/counters/registered",
            json!(1),
        ),
        ("queue_list", json!({}), "/records", json!([])),
        ("queue_drop", json!({"id": 999}), "/ok", json!(false)),
        (
            "queue_resume",
            json!({"transaction": "r"}),
            "/ok",
            json!(true),
        ),
    ] {
        let reply = request(&broker, &responses, name, payload);
        assert_eq!(reply.pointer(field), Some(&want), "{name}: {reply}");
    }

    // Hostile payloads: answered with an error naming what is wrong,
    // nothing queued, the connection kept.
    let attempts = mqtt(&d.status())["connect_attempts"].clone();
    let hostile: Vec<(&str, Vec<u8>, &str)> = vec![
        ("enroll", vec![b'{'; 1 << 20], "request too large"),
        ("enroll", b"\xff\xfe\x00binary".to_vec(), "not valid UTF-8"),
        (
            "enroll",
            br#"{"username": 7, "transaction": "h1"}"#.to_vec(),
            "username",
        ),
        (
            "enroll",
            br#"{"username": "Bob"}"#.to_vec(),
            "transaction: missing",
        ),
        (
            "enroll",
            br#"{"username": " Bob", "transaction": "h2"}"#.to_vec(),
            "username: must not start or end with spaces",
        ),
        (
            "enroll",
            br#"{"username": "Bob", "transaction": ["x"]}"#.to_vec(),
            "transaction: must be a string",
        ),
        (
            "reboot",
            br#"{"transaction": "h3"}"#.to_vec(),
            "unknown command `reboot`",
        ),
        ("trigger", br#"[1, 2]"#.to_vec(), "one JSON object"),
    ];
    for (name, payload, expect) in hostile {
        let reply = request_raw(&broker, &responses, name, &payload);
        assert_eq!(reply["ok"], false, "{reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains(expect),
            "{name}: {error:?} should say {expect:?}"
        );
    }
    assert!(h.pending_tickets().is_empty());
    let status = d.status();
    assert_eq!(mqtt(&status)["connected"], true);
    assert_eq!(
        mqtt(&status)["connect_attempts"],
        attempts,
        "the connection was kept"
    );
    assert_eq!(
        h.registered_names(),
        ["Ann Lee"],
        "nothing more was enrolled"
    );
    d.terminate(Duration::from_secs(15));
}

/// Values of "next attempt in X s" in the daemon's log, in order.
fn retry_delays(stderr: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter_map(|l| l.split("next attempt in ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect()
}

/// The issue asks for a minute's outage; with `reconnect_max_ms = 1600` a
/// few seconds already show the delays growing to their ceiling, which is
/// what the minute would show, without a test waiting a minute.
#[test]
fn a_broker_outage_backs_off_reconnects_resubscribes_and_enrollments_carry_on() {
    let Some((mut broker, _h, d)) = connected(false, "") else {
        return;
    };
    broker.stop();
    d.wait_status("mqtt down", Duration::from_secs(20), |s| {
        mqtt(s)["connected"] == false
    });

    // Enrollments go on locally.
    d.press_until("registered", 1);
    d.press_until("registered", 2);
    // Past the ceiling: 200, 400, 800, 1600, 1600 ms (less jitter).
    let s = d.wait_status("6 attempts", Duration::from_secs(30), |s| {
        mqtt(s)["connect_attempts"].as_u64() >= Some(6)
    });
    let detail = mqtt(&s)["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("connection refused (is it running?)"),
        "{detail}"
    );
    let attempts = mqtt(&d.status())["connect_attempts"].as_u64().unwrap();
    // Every attempt after the first waited a logged delay, and the delays
    // grow to the ceiling (less at most half of jitter): no busy loop.
    let delays = retry_delays(&d.stderr());
    assert!(
        attempts as usize <= delays.len() + 1,
        "{attempts} attempts, {delays:?}"
    );
    for (i, delay) in delays.iter().enumerate() {
        let ceiling = (0.2 * 2f64.powi(i as i32)).min(1.6);
        assert!(
            *delay >= ceiling / 2.0 - 0.05 && *delay <= ceiling + 0.05,
            "delay {i} is {delay} s, expected {} to {ceiling}: {delays:?}",
            ceiling / 2.0
        );
    }

    broker.resume_service();
    wait_connected(&d);
    let responses = broker.subscribe(&format!("{BASE}/response/+"));
    let reply = request(&broker, &responses, "status", json!({"transaction": "a"}));
    assert_eq!(reply["ok"], true, "subscribed again: {reply}");
    // The outage's events reached the broker afterwards, or were counted.
    let dropped = mqtt(&d.status())["dropped"].as_u64().unwrap();
    let delivered = broker
        .log()
        .matches(&format!(
            "Received PUBLISH from {} (d0, q1, r0, m",
            client_id(&d)
        ))
        .count();
    let events_seen = broker
        .log()
        .lines()
        .filter(|l| l.contains(&format!("'{BASE}/event'")))
        .count();
    assert!(delivered > 0);
    assert!(
        events_seen >= 2 || dropped > 0,
        "events {events_seen}, dropped {dropped}"
    );
    d.terminate(Duration::from_secs(15));
}

#[test]
fn a_broker_down_a_wrong_password_or_a_bad_ca_are_said_in_words_and_enrolling_goes_on() {
    let Some(tls) = mosquitto::start(true) else {
        return;
    };
    let other_ca = Broker::start(true);
    let mut down = Broker::start(false);
    down.stop();
    let cases: [(&Broker, &str, &str, &str); 3] = [
        (
            &down,
            TERMINAL_PASSWORD,
            "",
            "connection refused (is it running?)",
        ),
        (&tls, "wrong-Password-123", "", "check mqtt.username"),
        (
            &tls,
            TERMINAL_PASSWORD,
            "bad-ca",
            "TLS with the broker at localhost",
        ),
    ];
    for (broker, password, variant, expect) in cases {
        let mut h = harness(broker, password, "");
        if variant == "bad-ca" {
            // Trusts another CA than the one that signed the broker's certificate.
            let text = std::fs::read_to_string(h.config_path()).unwrap().replace(
                &broker.ca_file().display().to_string(),
                &other_ca.ca_file().display().to_string(),
            );
            std::fs::write(h.config_path(), text).unwrap();
        }
        let mut d = h.start();
        d.press_until("registered", 1);
        let s = d.wait_status(expect, Duration::from_secs(20), |s| {
            mqtt(s)["detail"]
                .as_str()
                .is_some_and(|t| t.contains(expect))
                && mqtt(s)["connect_attempts"].as_u64() >= Some(3)
        });
        assert_eq!(mqtt(&s)["connected"], false);
        let file = d.status_file();
        assert!(
            file["mqtt"]["detail"].as_str().unwrap().contains(expect),
            "{file}"
        );
        let stderr = d.stderr();
        assert!(stderr.contains(expect), "{stderr}");
        assert!(!stderr.contains(password), "password in the log: {stderr}");
        assert!(!s.to_string().contains(password), "password in the status");
        assert!(d.is_running());
        // Backing off, not looping: a few attempts a second at most.
        assert!(retry_delays(&stderr).iter().all(|&d| d >= 0.1), "{stderr}");
        d.terminate(Duration::from_secs(15));
    }
}

#[test]
fn the_acl_keeps_each_terminal_to_its_topics_and_a_refusal_is_reported() {
    let Some(broker) = mosquitto::start(false) else {
        return;
    };
    // The other terminal's credentials cannot reach this terminal's requests.
    let watch = broker.subscribe(&format!("{BASE}/request/+"));
    broker.publish_as(
        OTHER,
        OTHER_PASSWORD,
        &format!("{BASE}/request/trigger"),
        b"{}",
        false,
    );
    broker.publish(
        &format!("{BASE}/request/status"),
        b"{\"transaction\":\"marker\"}",
    );
    let seen: Vec<Message> = watch.wait_on(&format!("{BASE}/request/status"), 1);
    assert_eq!(seen.len(), 1);
    assert!(
        watch
            .messages()
            .iter()
            .all(|m| !m.topic.ends_with("/trigger")),
        "the ACL let another terminal publish here: {:?}",
        watch.messages()
    );

    // A terminal configured onto topics its credentials may not use hears
    // the broker's refusal and says so, instead of waiting for requests.
    let mut h = harness(&broker, TERMINAL_PASSWORD, "topic_prefix = \"elsewhere\"\n");
    let d = h.start();
    let s = d.wait_status("topics refused", Duration::from_secs(30), |s| {
        mqtt(s)["detail"]
            .as_str()
            .is_some_and(|t| t.contains("refused this terminal's topics"))
    });
    let detail = mqtt(&s)["detail"].as_str().unwrap();
    assert!(detail.contains("elsewhere/test-terminal/#"), "{detail}");
    assert!(d.stderr().contains(detail), "said in the log too");
    d.press_until("registered", 1);
    d.terminate(Duration::from_secs(15));
}

/// Presses once and returns how long the enrollment took, trigger to counter.
fn timed_press(d: &Daemon, registered: u64) -> Duration {
    let started = Instant::now();
    d.press_until("registered", registered);
    started.elapsed()
}

/// A frozen broker (SIGSTOP: the connection stays open, nothing is answered) through the whole
/// of what the client does about it: connected and unanswered, the keep-alive running out, and
/// connection attempts that hang. Every enrollment in that time takes its normal time, measured
/// here with the broker answering: a loop that waited for the broker would wait at least until
/// the client gave it up, a keep-alive (5 s), so that above the slowest normal press is the
/// bound (a load spike on a shared machine stays well under it).
#[test]
fn a_stalled_broker_never_delays_an_enrollment() {
    const KEEPALIVE_SECS: u64 = 5;
    let Some((broker, h, d)) = connected(false, &format!("keepalive_secs = {KEEPALIVE_SECS}\n"))
    else {
        return;
    };
    let normal: Vec<Duration> = (1..=3).map(|n| timed_press(&d, n)).collect();
    let bound = *normal.iter().max().unwrap() + Duration::from_secs(KEEPALIVE_SECS);

    broker.freeze(true);
    let frozen_at = Instant::now();
    let mut frozen = Vec::new();
    let mut registered = 3;
    // Until the client has noticed (its second ping unanswered, two keep-alives), and three
    // more while it tries to connect to the frozen broker.
    let mut after_loss = 0;
    while after_loss < 3 {
        registered += 1;
        frozen.push(timed_press(&d, registered));
        if mqtt(&d.status())["connected"] == false {
            after_loss += 1;
        }
        assert!(
            after_loss > 0 || frozen_at.elapsed() < Duration::from_secs(4 * KEEPALIVE_SECS),
            "the client never noticed the frozen broker: {}",
            d.stderr()
        );
    }
    assert_eq!(h.registered_names().len() as u64, registered);
    for (i, took) in frozen.iter().enumerate() {
        assert!(
            *took <= bound,
            "press {i} with the broker frozen took {took:?}, normal ones {normal:?} (bound \
             {bound:?})"
        );
    }
    broker.freeze(false);
    wait_connected(&d);
    d.terminate(Duration::from_secs(15));
}

/// Two terminals configured with one client id (a cloned card with `mqtt.client_id` set): the
/// broker closes one's connection whenever the other connects. Each says so once, naming the
/// id and the fix, and backs off instead of taking the id back at its shortest wait.
#[test]
fn two_terminals_with_one_client_id_back_off_and_say_the_id_is_taken() {
    let Some(broker) = mosquitto::start(false) else {
        return;
    };
    let extra = "client_id = \"lobby\"\n";
    let (mut h1, mut h2) = (
        harness(&broker, TERMINAL_PASSWORD, extra),
        harness(&broker, TERMINAL_PASSWORD, extra),
    );
    let d1 = h1.start();
    wait_connected(&d1);
    let d2 = h2.start();
    let said = "same client id `lobby`";
    for d in [&d1, &d2] {
        let s = d.wait_status("the id named as taken", Duration::from_secs(60), |s| {
            mqtt(s)["detail"].as_str().is_some_and(|t| t.contains(said))
        });
        let detail = mqtt(&s)["detail"].as_str().unwrap();
        assert!(
            detail.contains("mqtt.client_id"),
            "the fix is named: {detail}"
        );
    }

    // Both back off to the ceiling (reconnect_max_ms = 1600, less at most half of jitter)
    // within a few more takeovers; then each takes the id at most once per 0.8 s.
    std::thread::sleep(Duration::from_secs(3));
    let takeovers = || {
        broker
            .log()
            .matches("Client lobby already connected, closing old connection.")
            .count()
    };
    let lines = |d: &Daemon| d.stderr().lines().filter(|l| l.contains("MQTT")).count();
    let (before, lines_before) = (takeovers(), [lines(&d1), lines(&d2)]);
    let window = Duration::from_secs(8);
    std::thread::sleep(window);
    let during = takeovers() - before;
    let most = 2 * (window.as_millis() as usize / 800 + 1);
    assert!(
        during <= most,
        "{during} takeovers in {window:?}: at most {most} with the backoff kept"
    );
    assert!(
        during > 0,
        "they still take turns: the broker log shows none"
    );
    // Said once, not per attempt: no MQTT line at all in the window.
    assert_eq!([lines(&d1), lines(&d2)], lines_before, "{}", d1.stderr());
    for d in [&d1, &d2] {
        assert_eq!(d.stderr().matches(said).count(), 1, "{}", d.stderr());
    }

    // The other gone, the id is this terminal's again: the note goes once the connection
    // has lasted.
    d2.terminate(Duration::from_secs(15));
    d1.wait_status("the id free again", Duration::from_secs(30), |s| {
        mqtt(s)["connected"] == true && mqtt(s)["detail"].is_null()
    });
    d1.terminate(Duration::from_secs(15));
}

/// A retained message over the 2 MiB the client reads, on the terminal's request topic: read
/// and dropped without holding it, said once, the connection kept (before, each connection
/// broke on it, and the next subscription brought it back, for ever). A live one is answered.
#[test]
fn an_oversize_retained_message_is_dropped_once_and_said_and_the_connection_stays() {
    let Some(broker) = mosquitto::start(false) else {
        return;
    };
    let topic = format!("{BASE}/request/enroll");
    let big = vec![b'x'; 3 << 20];
    broker.publish_as(APP, APP_PASSWORD, &topic, &big, true);
    let mut h = harness(&broker, TERMINAL_PASSWORD, "");
    let responses = broker.subscribe(&format!("{BASE}/response/+"));
    let d = h.start();
    let said = format!("dropped a retained message of 3145728 bytes on {topic}");
    let s = d.wait_status("the oversize message said", Duration::from_secs(20), |s| {
        mqtt(s)["detail"]
            .as_str()
            .is_some_and(|t| t.contains(&said))
    });
    let detail = mqtt(&s)["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("mosquitto_pub -r -n -t {topic}")),
        "how to clear it: {detail}"
    );
    // The connection works: a request is answered; a live oversize one with an error.
    let reply = request(
        &broker,
        &responses,
        "status",
        json!({"transaction": "after"}),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    let reply = request_raw(&broker, &responses, "trigger", &big);
    assert_eq!(reply["ok"], false, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("request too large: 3145728 bytes")),
        "{reply}"
    );
    assert_eq!(h.pending_tickets(), Vec::<String>::new());
    let s = d.status();
    assert_eq!(mqtt(&s)["connected"], true);
    assert_eq!(mqtt(&s)["connect_attempts"], 1, "never reconnected: {s}");
    assert_eq!(d.stderr().matches(&said).count(), 1, "{}", d.stderr());
    d.terminate(Duration::from_secs(15));
}

/// A broker whose ACL refuses a subscription (the dynamic security plugin answers it with a
/// SUBACK failure) while publishing works: the refused filter named, once, and what it costs
/// said (requests not received) only when it is the requests'. `subscribes`: what the
/// terminal may subscribe to, under its base unless absolute.
fn refused_subscription_is_said(subscribes: [&str; 2], said: &str, cost: Option<&str>) {
    let mut terminal_may = vec![
        ("publishClientSend", format!("{BASE}/#")),
        (
            "publishClientSend",
            format!("homeassistant/device/{TERMINAL}/config"),
        ),
    ];
    for topic in subscribes {
        let filter = match topic {
            "homeassistant/status" => topic.to_owned(),
            _ => format!("{BASE}/{topic}"),
        };
        terminal_may.push(("subscribePattern", filter));
    }
    let Some(broker) = mosquitto::start_with(false, Access::DynamicSecurity(terminal_may)) else {
        return;
    };
    let mut h = harness(&broker, TERMINAL_PASSWORD, "");
    let responses = broker.subscribe(&format!("{BASE}/response/+"));
    let d = h.start();
    let has_said = |s: &Value| mqtt(s)["detail"].as_str().is_some_and(|t| t.contains(said));
    d.wait_status("the refusal said", Duration::from_secs(20), has_said);
    // Its own `online` came back; the refusal stays what is said, past the echo check.
    broker.wait_retained(&format!("{BASE}/availability"), |m| m.text() == "online");
    std::thread::sleep(Duration::from_secs(12));
    let s = d.status();
    let detail = mqtt(&s)["detail"].as_str().unwrap().to_owned();
    assert!(has_said(&s), "{s}");
    assert_eq!(
        cost.is_some_and(|c| detail.contains(c)),
        cost.is_some(),
        "{detail}"
    );
    assert_eq!(d.stderr().matches(said).count(), 1, "{}", d.stderr());
    if cost.is_none() {
        let reply = request(&broker, &responses, "status", json!({"transaction": "r"}));
        assert_eq!(reply["ok"], true, "requests still work: {reply}");
    }
    d.press_until("registered", 1);
    d.terminate(Duration::from_secs(15));
}

#[test]
fn a_refused_request_subscription_is_said() {
    refused_subscription_is_said(
        ["availability", "homeassistant/status"],
        &format!("refused the subscription to {BASE}/request/+"),
        Some("requests are not received"),
    );
}

/// Before, any refused filter was said to be the requests'.
#[test]
fn a_refused_subscription_is_named_and_the_requests_still_work() {
    refused_subscription_is_said(
        ["availability", "request/+"],
        "refused the subscription to homeassistant/status ",
        None,
    );
}

/// mosquitto's ACL file never refuses a subscription: it grants it and delivers nothing the
/// user may not read. A terminal that may publish its topics but not read its requests sees
/// its own `online` come back and would look healthy while no request ever arrives; its own
/// probe on the request topic shows it.
#[test]
fn requests_the_acl_keeps_from_the_terminal_are_said_though_the_subscription_was_granted() {
    let acl = format!(
        "user {TERMINAL}\ntopic write {BASE}/#\ntopic read {BASE}/availability\n\
         topic write homeassistant/device/{TERMINAL}/config\ntopic read homeassistant/status\n\n\
         user {APP}\ntopic readwrite #\n"
    );
    let Some(broker) = mosquitto::start_with(false, Access::AclFile(acl)) else {
        return;
    };
    let mut h = harness(&broker, TERMINAL_PASSWORD, "");
    let d = h.start();
    let said = format!("{BASE}/request/");
    let s = d.wait_status("requests not received", Duration::from_secs(30), |s| {
        mqtt(s)["detail"]
            .as_str()
            .is_some_and(|t| t.contains("requests are not received") && t.contains(&said))
    });
    let detail = mqtt(&s)["detail"].as_str().unwrap();
    assert!(!detail.contains("availability"), "{detail}");
    assert!(d.stderr().contains(detail), "said in the log too");
    d.terminate(Duration::from_secs(15));
}

/// A machine without a machine id (the file empty, as in an image whose first boot has not
/// set it yet, or `uninitialized`): the default client id is random, new at every start, and
/// `check-config` says why and what to set. In a mount namespace of its own, over which the
/// test's file is bind-mounted on /etc/machine-id (mount rights, as the tmpfs tests).
#[test]
fn without_a_machine_id_the_client_id_is_random_and_said() {
    use std::process::Command;
    let namespace = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output()
        .expect("unshare(1) runs");
    if !namespace.status.success() {
        common::skip::or_fail(
            "mount",
            "cannot make a mount namespace (needs root or CAP_SYS_ADMIN)",
        );
        return;
    }
    let h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs {
        extra: "\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n".into(),
        ..Knobs::default()
    });
    let fake = h.path("machine-id");
    let check = || {
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount --bind \"$1\" /etc/machine-id && exec \"$2\" --config \"$3\" check-config")
            .arg("sh")
            .arg(&fake)
            .arg(env!("CARGO_BIN_EXE_enrolld"))
            .arg(h.config_path())
            .env("ENROLLD_API_TOKEN", common::TOKEN)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{text}");
        text
    };
    for (content, why) in [
        ("", "/etc/machine-id is empty"),
        ("uninitialized\n", "/etc/machine-id holds no machine id"),
    ] {
        std::fs::write(&fake, content).unwrap();
        let (first, second) = (check(), check());
        let id = client_id_in(&first);
        assert!(id.starts_with("test-terminal-"), "{first}");
        assert_ne!(id, client_id_in(&second), "random at every start");
        assert!(
            first.contains(&format!("{id} (random, new at every start: {why}"))
                && first.contains("set mqtt.client_id"),
            "{first}"
        );
    }
}

/// The client id `check-config` names (`client id X,`).
fn client_id_in(text: &str) -> String {
    let rest = text
        .split("client id ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    rest.split([',', ' ']).next().unwrap().to_owned()
}

#[test]
fn check_config_names_the_broker_and_refuses_an_unreadable_password_or_ca() {
    let h = Harness::new(Behaviour::Ok);
    let pw = h.path("mqtt-password");
    std::fs::write(&pw, format!("{TERMINAL_PASSWORD}\n")).unwrap();
    let check = |mqtt: String| {
        h.write_config(&Knobs {
            extra: mqtt,
            ..Knobs::default()
        });
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(h.config_path())
            .arg("check-config")
            .env("ENROLLD_API_TOKEN", common::TOKEN)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains(TERMINAL_PASSWORD), "{text}");
        (out.status.code(), text)
    };
    let section = |lines: &str| format!("\n[mqtt]\nurl = \"mqtts://localhost:8884\"\n{lines}");
    let (code, text) = check(section(&format!(
        "username = \"{TERMINAL}\"\npassword_file = \"{}\"\n",
        pw.display()
    )));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("# mqtt: localhost:8884 over TLS, client id test-terminal-"),
        "{text}"
    );
    assert!(
        text.contains(", user test-terminal, password [redacted]"),
        "{text}"
    );
    // The default client id: the terminal id and a suffix of this machine's, the same at
    // every start, never the bare terminal id (cloned cards share it), nor the machine id.
    let id = client_id_in(&text);
    assert_eq!(id, client_id_in(&check(section("")).1));
    let suffix = id.strip_prefix("test-terminal-").unwrap();
    assert!(
        suffix.len() == 12 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    let machine_id = std::fs::read_to_string("/etc/machine-id").unwrap();
    assert_eq!(machine_id.trim().len(), 32, "this machine has a machine id");
    for part in machine_id.trim().as_bytes().chunks(8) {
        assert!(!id.contains(std::str::from_utf8(part).unwrap()), "{id}");
    }
    let (code, text) = check(section("password_file = \"/nonexistent/pw\"\n"));
    assert_eq!(code, Some(78), "{text}");
    assert!(text.contains("mqtt.password_file"), "{text}");
    let (code, text) = check(section(&format!("ca_file = \"{}\"\n", pw.display())));
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains("mqtt.ca_file") && text.contains("no PEM certificate"),
        "{text}"
    );
    let (code, text) = check(section("keepalive_secs = 1\n"));
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains("mqtt.keepalive_secs: must be between 5 and 3600"),
        "{text}"
    );
}
