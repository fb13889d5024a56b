//! The daemon's offline queue, as a process: an outage of 50 presses, the
//! maximum age, a full queue. Asserted through the control socket, the status
//! file, the LED record, the queue directory and the stand-in's records.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, Harness, Knobs, lit_periods, wait_for};
use enrolld::queue::{NewEntry, Now, Queue, QueueConfig};
use enrolld_standin::Behaviour;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}{i}")).collect()
}

/// Every registration carried a decodable JPEG and was what the API documents.
fn assert_well_formed(h: &Harness) {
    for r in h.registrations() {
        assert!(r.problems.is_empty() && r.token_ok, "{r:?}");
        let jpeg = r.jpeg.as_ref().expect("image");
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("JPEG");
    }
}

fn wait_queue_empty(d: &Daemon, within: Duration) -> serde_json::Value {
    d.wait_status("queue.depth 0", within, |s| s["queue"]["depth"] == 0)
}

#[test]
fn fifty_presses_during_an_outage_are_all_delivered_once_in_order() {
    const N: usize = 50;
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&Knobs::default());
    let d = h.start();
    for i in 1..=N as u64 {
        d.press_until("queued", i);
    }
    let status = d.status_file();
    assert_eq!(status["queue"]["depth"], N, "{status:#}");
    assert_eq!(status["last_outcome"]["code"], "queued");
    assert_eq!(h.queued_names().len(), N);
    assert!(h.registrations().is_empty());

    h.standin.set_behaviour(Behaviour::Ok);
    // The depth drops when an entry is deleted; the counter follows when the
    // worker's report reaches the loop: wait for both.
    let status = d.wait_status("drained and counted", Duration::from_secs(60), |s| {
        s["queue"]["depth"] == 0 && Daemon::counter(s, "delivered_from_queue") >= N as u64
    });
    assert_eq!(h.registered_names(), names("t-", N), "in order, each once");
    assert_eq!(Daemon::counter(&status, "delivered_from_queue"), N as u64);
    assert_well_formed(&h);
    assert!(h.queued_names().is_empty() && h.corrupt_files().is_empty());
    d.terminate(Duration::from_secs(15));
}

#[test]
fn entries_past_max_age_are_removed_never_sent() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs {
        max_age_secs: 60,
        ..Knobs::default()
    });
    // Two entries left by an earlier run of this boot: one made two minutes
    // ago, one just now. They go in through the queue's own code, stamped
    // the way `Now::read()` would have stamped them then (same boot id,
    // CLOCK_BOOTTIME and wall clock two minutes earlier; the queue ages
    // same-boot entries by CLOCK_BOOTTIME, see queue::clock).
    let now = Now::read();
    let two_minutes = Duration::from_secs(120);
    assert!(
        now.boottime > two_minutes,
        "the machine booted less than two minutes ago"
    );
    let two_minutes_ago = Now {
        unix: now.unix - two_minutes.as_secs(),
        boot_id: now.boot_id.clone(),
        boottime: now.boottime - two_minutes,
        mono: now.mono,
    };
    let mut queue = Queue::open(&QueueConfig {
        dir: h.queue_dir(),
        max_age_secs: 60,
        ..QueueConfig::default()
    })
    .unwrap();
    let entry = |username: &str| NewEntry {
        username: username.to_owned(),
        verification_id: None,
        jpeg: common::jpeg(),
    };
    queue.push(entry("old"), &two_minutes_ago).unwrap();
    queue.push(entry("fresh"), &now).unwrap();
    drop(queue);

    let d = h.start();
    let status = d.wait_status("expired and delivered", Duration::from_secs(20), |s| {
        s["queue"]["depth"] == 0 && Daemon::counter(s, "delivered_from_queue") == 1
    });
    assert_eq!(Daemon::counter(&status, "expired"), 1, "{status:#}");
    assert_eq!(
        h.registered_names(),
        ["fresh"],
        "the old entry was never sent"
    );
    assert!(h.queued_names().is_empty());
    assert!(
        d.stderr().contains("expired") || d.stderr().contains("older than"),
        "{}",
        d.stderr()
    );
    d.terminate(Duration::from_secs(15));
}

#[test]
fn a_full_queue_refuses_visibly_and_keeps_what_it_has() {
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&Knobs {
        max_entries: 3,
        ..Knobs::default()
    });
    let d = h.start();
    for i in 1..=3 {
        d.press_until("queued", i);
    }
    let before = d.leds().len();
    d.press_until("queue_full", 1);
    let status = d.status_file();
    assert_eq!(status["last_outcome"]["code"], "queue_full", "{status:#}");
    assert_eq!(status["last_outcome"]["username"], "t-4");
    assert_eq!(status["queue"]["depth"], 3);
    // The failed pattern: three long blinks (700 ms lit) in 3 s, then off. The first may run
    // on from what was lit before (the queued blink, busy), so only the last two are certain.
    let flashes = wait_for(Duration::from_secs(10), || {
        let leds = d.leds()[before..].to_vec();
        let long: Vec<_> = lit_periods(&leds)
            .into_iter()
            .filter(|p| (600..=1_200).contains(&p.1))
            .collect();
        (long.len() >= 2 && leds.last().is_some_and(|l| !l.1)).then_some(long)
    });
    assert!(
        flashes.is_some(),
        "no failed pattern: {:?}",
        &d.leds()[before..]
    );

    h.standin.set_behaviour(Behaviour::Ok);
    wait_queue_empty(&d, Duration::from_secs(30));
    assert_eq!(
        h.registered_names(),
        names("t-", 3),
        "nothing queued was lost"
    );
    assert_well_formed(&h);
    d.terminate(Duration::from_secs(15));
}

#[test]
fn sigterm_while_the_queue_drains_stops_after_the_send_in_flight() {
    const N: u64 = 6;
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&Knobs {
        request_timeout_ms: 3_000,
        ..Knobs::default()
    });
    let mut d = h.start();
    for i in 1..=N {
        d.press_until("queued", i);
    }
    // IDMeta is back but slow: each call takes 700 ms.
    h.standin
        .set_behaviour(Behaviour::Stall(Duration::from_millis(700)));
    wait_for(Duration::from_secs(20), || {
        (!h.registrations().is_empty()).then_some(())
    })
    .expect("the worker delivers");
    let at_sigterm = h.registrations().len();
    d.signal(libc::SIGTERM);
    // Bound: the send in flight (two calls, each under the request timeout).
    let exit = d.wait_exit(Duration::from_secs(8));
    assert!(exit.success(), "exit {exit}\n{}", d.stderr());
    let after = h.registrations().len();
    assert!(
        after <= at_sigterm + 1,
        "no new delivery starts after SIGTERM: {at_sigterm} registrations then, {after} at exit"
    );
    // What was not sent is still queued, whole, for the next start.
    let left = h.queued_names();
    assert!(!left.is_empty(), "SIGTERM came while entries were waiting");
    assert_eq!(left.len() + after, N as usize, "left {left:?}");
    assert!(h.unknown_records().is_empty() && h.corrupt_files().is_empty());
}

/// The queue directory on a real, tiny filesystem: once it is full, the next
/// enrollment fails visibly naming the full disk, and what was queued before
/// is delivered intact when IDMeta is back.
#[test]
fn a_full_disk_refuses_visibly_and_keeps_what_it_has() {
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&Knobs::default());
    let Some(small) = common::tmpfs::Tmpfs::mount("size=160k,mode=0700") else {
        return;
    };
    let _bind = common::tmpfs::BindMount::new(small.path(), &h.queue_dir());

    let d = h.start();
    let mut queued = 0;
    let full = loop {
        let reply = d.trigger().expect("trigger accepted");
        assert_eq!(reply["started"], true, "trigger reply {reply}");
        let s = d.wait_status("a result", Duration::from_secs(20), |s| {
            Daemon::counter(s, "queued") + Daemon::counter(s, "queue_full") > queued
        });
        if Daemon::counter(&s, "queue_full") > 0 {
            break s;
        }
        queued += 1;
        assert!(queued < 20, "a 160 KiB disk never filled: {s:#}");
    };
    assert!(queued >= 1, "nothing fitted at all: {full:#}");
    assert_eq!(full["last_outcome"]["code"], "queue_full", "{full:#}");
    let message = full["last_outcome"]["message"].as_str().unwrap_or("");
    assert!(message.contains("disk full"), "{message}");
    assert_eq!(full["queue"]["depth"], queued, "{full:#}");

    h.standin.set_behaviour(Behaviour::Ok);
    d.wait_status("drained", Duration::from_secs(30), |s| {
        s["queue"]["depth"] == 0 && Daemon::counter(s, "delivered_from_queue") >= queued
    });
    assert_eq!(h.registered_names(), names("t-", queued as usize));
    assert_well_formed(&h);
    assert!(h.corrupt_files().is_empty());
    d.terminate(Duration::from_secs(15));
}

/// A queued record damaged on disk (its image altered, or the file cut
/// short) is not sent, and the journal line names whom it was for and where
/// the file went: the header is sealed on its own and still says who.
#[test]
fn a_damaged_queued_record_is_reported_with_the_person_and_the_file() {
    let mut h = Harness::new(Behaviour::Refuse);
    h.write_config(&Knobs::default());
    let d = h.start();
    d.press_until("queued", 1);
    d.press_until("queued", 2);
    d.terminate(Duration::from_secs(15));
    let mut entries: Vec<_> = std::fs::read_dir(h.queue_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "entry"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "{entries:?}");
    // t-1: one image byte flipped (found when it is about to be sent).
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&entries[0], &bytes).unwrap();
    // t-2: cut short (found when the queue is opened).
    let bytes = std::fs::read(&entries[1]).unwrap();
    std::fs::write(&entries[1], &bytes[..bytes.len() - 100]).unwrap();

    h.standin.set_behaviour(Behaviour::Ok);
    let d = h.start();
    d.wait_status("both found damaged", Duration::from_secs(30), |s| {
        s["queue"]["depth"] == 0 && Daemon::counter(s, "corrupt") >= 1
    });
    for (name, entry) in [("t-1", &entries[0]), ("t-2", &entries[1])] {
        let moved = h
            .queue_dir()
            .join("corrupt")
            .join(entry.file_name().unwrap());
        let moved = moved.display().to_string();
        wait_for(Duration::from_secs(10), || {
            d.stderr()
                .lines()
                .any(|l| {
                    l.contains(&format!("the enrollment of {name} is damaged"))
                        && l.contains(&moved)
                })
                .then_some(())
        })
        .unwrap_or_else(|| panic!("no line naming {name} and {moved}:\n{}", d.stderr()));
    }
    assert!(h.registrations().is_empty(), "nothing damaged is sent");
    assert_eq!(h.corrupt_files().len(), 2);
    d.terminate(Duration::from_secs(15));
}

/// An unknown delivery whose record no longer reads is reported at the
/// next start with the person its image was for, and where the record went.
#[test]
fn an_unreadable_unknown_delivery_record_is_reported_with_the_person() {
    let mut h = Harness::new(Behaviour::Status(502));
    h.write_config(&Knobs::default());
    let d = h.start();
    h.enroll("ann");
    d.press_until("unknown_delivery", 1);
    d.terminate(Duration::from_secs(15));
    let record = h.queue_dir().join(format!("unknown/{:020}.json", 1));
    std::fs::write(&record, b"{ not json").unwrap();
    let d = h.start();
    let moved = h.queue_dir().join(format!("corrupt/{:020}.json", 1));
    let moved = moved.display().to_string();
    wait_for(Duration::from_secs(10), || {
        d.stderr()
            .lines()
            .any(|l| l.contains("the enrollment of ann is damaged") && l.contains(&moved))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no line naming ann and {moved}:\n{}", d.stderr()));
    d.terminate(Duration::from_secs(15));
}
