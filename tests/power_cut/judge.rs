//! The verdict on a chain of power cuts, from what the host kept: the stand-in's ledger
//! (every request it received, written out before it answered), what each cut left on the
//! disk (read by the host from the image before the next boot, `found.rs`: before any daemon
//! started on it) and the guest's events (tickets the daemon acknowledged, enrollments it
//! queued, its records and files when each boot was done judging, what the operator resent or
//! dropped). QEMU's exit status plays no part; the console only explains where the cuts landed.
//!
//! What must hold, as `tests/daemon_kill.rs` asks of kill -9:
//! - **nobody twice**: no name in two requests IDMeta would have registered, unless an
//!   operator resent it (each resend allows one more);
//! - **never under another name**: no capture under two names, and every registering request
//!   of a name carries the same capture (a resend sends the capture on record);
//! - **nothing accepted lost**: every name the daemon acknowledged (a ticket, a queued
//!   enrollment) or kept on disk (tickets file, records) ends registered, refused, or dropped
//!   by the operator after it was listed as an unknown delivery; nothing is left pending;
//! - **a clean start**: each boot's daemon reached idle on what the cut left, finished its
//!   repairs, drained, and left no file it could not read (nothing in `corrupt/`, no
//!   `tickets.json.corrupt`, no temporary or unknown file).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::boot::{Boot, Ended};
use crate::found::Found;
use crate::plan::Step;

/// What kind of promise a problem breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Twice,
    OtherName,
    Lost,
    Unclean,
    /// The chain itself went wrong (a cut that never came, a boot that stopped early).
    Harness,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

/// One boot as the host recorded it.
pub struct BootData {
    pub boot: Boot,
    /// What the disk held when this boot started (what the last cut left), or why it could
    /// not be read.
    pub found: Result<Found, String>,
    pub events: Vec<String>,
    pub ledger: Vec<Value>,
    pub console: String,
}

impl BootData {
    pub fn read(boot: Boot, found: Result<Found, String>) -> BootData {
        let text = |p: &std::path::Path| {
            String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
        };
        let events = text(&boot.events).lines().map(str::to_owned).collect();
        let ledger = text(&boot.ledger)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|_| Value::String(format!("unreadable: {l}")))
            })
            .collect();
        let console = text(&boot.console);
        BootData {
            boot,
            found,
            events,
            ledger,
            console,
        }
    }

    /// The rest of each event `<prefix> <rest>` (or `<prefix>` alone: "").
    fn events<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.events
            .iter()
            .filter_map(move |e| match e.strip_prefix(prefix)? {
                "" => Some(""),
                rest => rest.strip_prefix(' '),
            })
    }

    fn has(&self, prefix: &str) -> bool {
        self.events(prefix).next().is_some()
    }

    fn cut_at_startup(&self) -> bool {
        self.boot.planned.is_some_and(|c| c.step == Step::Startup)
    }
}

/// A registration request, as the ledger has it.
struct Request {
    boot: usize,
    username: String,
    capture: String,
    behaviour: String,
}

impl Request {
    /// Whether IDMeta would have registered the person (or may have: a stalled answer the
    /// cut interrupted). Retakes and refusals register nobody, so a later send is right.
    fn registers(&self) -> bool {
        !(self.behaviour.starts_with("retake") || self.behaviour == "status-false")
    }
}

/// How a name can end well.
#[derive(Debug, Default)]
struct Ends {
    registered: bool,
    refused: bool,
    dropped: bool,
    unknown: bool,
}

pub struct Verdict {
    pub problems: Vec<Problem>,
    /// Counts for the report: requests, names, where the cuts landed.
    pub summary: String,
}

pub fn judge(boots: &[BootData]) -> Verdict {
    let mut problems = Vec::new();
    let mut add = |kind, detail: String| problems.push(Problem { kind, detail });

    chain_ran(boots, &mut add);
    let requests = requests(boots, &mut add);
    let resends = names_in(boots, "PC-RESEND");
    let dropped = names_in(boots, "PC-DROP");

    // Nobody twice; never under another name.
    let mut by_name: BTreeMap<&str, Vec<&Request>> = BTreeMap::new();
    let mut by_capture: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &requests {
        by_name.entry(&r.username).or_default().push(r);
        by_capture
            .entry(&r.capture)
            .or_default()
            .insert(&r.username);
    }
    for (name, sent) in &by_name {
        let registering: Vec<&&Request> = sent.iter().filter(|r| r.registers()).collect();
        let allowed = 1 + resends.get(*name).map_or(0, Vec::len);
        if registering.len() > allowed {
            let at: Vec<String> = registering
                .iter()
                .map(|r| format!("boot {} ({})", r.boot, r.behaviour))
                .collect();
            add(
                Kind::Twice,
                format!(
                    "{name} sent {} times ({allowed} allowed): {}",
                    registering.len(),
                    at.join(", ")
                ),
            );
        }
        let captures: BTreeSet<&str> = registering.iter().map(|r| r.capture.as_str()).collect();
        if captures.len() > 1 {
            add(
                Kind::OtherName,
                format!("{name} was sent with {} different captures", captures.len()),
            );
        }
    }
    for (capture, names) in &by_capture {
        if names.len() > 1 {
            add(
                Kind::OtherName,
                format!(
                    "one capture ({}...) sent under {names:?}",
                    &capture[..12.min(capture.len())]
                ),
            );
        }
    }

    // Nothing accepted lost.
    let mut ends: BTreeMap<String, Ends> = BTreeMap::new();
    for r in &requests {
        let e = ends.entry(r.username.clone()).or_default();
        if r.registers() {
            e.registered = true;
        } else if r.behaviour == "status-false" {
            e.refused = true;
        }
    }
    for name in dropped.keys() {
        ends.entry(name.clone()).or_default().dropped = true;
    }
    // Still an unknown delivery when the last boot was done with it: an end the operator
    // has yet to decide (drive.sh resolves each one it lists, so this is rare).
    let last = boots.last().filter(|b| b.boot.planned.is_none());
    for rest in last.into_iter().flat_map(|b| b.events("PC-QUEUE-END")) {
        for (name, state) in json_records(rest) {
            if state == "unknown" {
                ends.entry(name).or_default().unknown = true;
            }
        }
    }
    for (name, a) in accepted(boots) {
        let e = ends.get(&name);
        if !e.is_some_and(|e| e.registered || e.refused || e.dropped || e.unknown) {
            add(
                Kind::Lost,
                format!(
                    "{name}: {} in boot {}, then never registered, refused, dropped nor left \
                     as an unknown delivery (cuts from there: {})",
                    a.how,
                    a.boot,
                    cuts_from(boots, a.boot)
                ),
            );
        }
    }
    clean_starts(boots, &mut add);

    let summary = format!(
        "{} registration requests for {} names ({} resent by the operator, {} dropped); {}",
        requests.len(),
        by_name.len(),
        resends.len(),
        dropped.len(),
        landings(boots)
    );
    Verdict { problems, summary }
}

/// Every boot but the last ended in its planned cut; the last one powered off after
/// judging everything (PC-DONE, the daemon stopped cleanly).
fn chain_ran(boots: &[BootData], add: &mut impl FnMut(Kind, String)) {
    for b in boots {
        let i = b.boot.index;
        match (&b.boot.ended, b.boot.planned) {
            (Ended::Cut { .. }, Some(_)) => {}
            (Ended::PoweredOff, None) => match b.events("PC-DONE").next() {
                Some("daemon exit status 0") => {}
                Some(other) => add(Kind::Unclean, format!("boot {i}: the last stop: {other}")),
                None => add(
                    Kind::Harness,
                    format!("boot {i} (the last) powered off without PC-DONE"),
                ),
            },
            (ended, planned) => add(
                Kind::Harness,
                format!(
                    "boot {i} (step {}): {ended:?} instead of {}",
                    planned.map_or("none".to_owned(), |c| c.step.to_string()),
                    if planned.is_some() {
                        "the planned cut"
                    } else {
                        "its power-off"
                    }
                ),
            ),
        }
        for failed in b.events("PC-FAILED").chain(b.events("PC-DAEMON-FAILED")) {
            add(Kind::Unclean, format!("boot {i}: {failed}"));
        }
        for failed in b.console.lines().filter(|l| l.contains("PC-SETUP-FAILED")) {
            add(Kind::Harness, format!("boot {i}: {failed}"));
        }
        if !b.cut_at_startup() && !b.has("PC-JUDGED") {
            add(
                Kind::Unclean,
                format!("boot {i}: judging the last cut did not finish (no PC-JUDGED)"),
            );
        }
    }
}

fn requests(boots: &[BootData], add: &mut impl FnMut(Kind, String)) -> Vec<Request> {
    let mut out = Vec::new();
    for b in boots {
        for r in &b.ledger {
            if let Value::String(bad) = r {
                add(
                    Kind::Harness,
                    format!("boot {}: ledger line {bad}", b.boot.index),
                );
                continue;
            }
            let problems = r["problems"].as_array().map_or(0, Vec::len);
            if problems > 0 || r["token_ok"] != Value::Bool(true) {
                add(
                    Kind::Unclean,
                    format!("boot {}: a request not as documented: {r}", b.boot.index),
                );
            }
            if r["endpoint"] != "register" {
                continue;
            }
            let field = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            out.push(Request {
                boot: b.boot.index,
                username: field(&r["body"]["username"]),
                capture: field(&r["jpeg_sha256"]),
                behaviour: field(&r["behaviour"]),
            });
        }
    }
    out
}

/// Names in `<prefix> <id> <name>` events, with the boots they are in.
fn names_in(boots: &[BootData], prefix: &str) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for b in boots {
        for rest in b.events(prefix) {
            if let Some(name) = rest.split_whitespace().nth(1) {
                out.entry(name.to_owned()).or_default().push(b.boot.index);
            }
        }
    }
    out
}

/// Where a name was first acknowledged or found on disk.
struct Accepted {
    boot: usize,
    how: &'static str,
}

/// Every name the daemon acknowledged or kept on disk.
fn accepted(boots: &[BootData]) -> BTreeMap<String, Accepted> {
    let mut out = BTreeMap::new();
    let mut note = |name: String, boot: usize, how: &'static str| {
        out.entry(name).or_insert(Accepted { boot, how });
    };
    for b in boots {
        let i = b.boot.index;
        for rest in b.events("PC-ACCEPTED") {
            match rest.split_once(' ') {
                Some(("ticket", name)) => note(name.to_owned(), i, "a ticket acknowledged"),
                Some((_, name)) => note(name.to_owned(), i, "an enrollment queued"),
                None => {}
            }
        }
        // What the last cut left, as the host read it before this boot's daemon started.
        if let Ok(found) = &b.found {
            for name in &found.tickets {
                note(name.clone(), i, "a pending ticket on disk after the cut");
            }
            for (_, name) in &found.records {
                note(name.clone(), i, "a record on disk after the cut");
            }
        }
        // What the daemon held when this boot was done judging.
        for rest in b.events("PC-TICKETS-END") {
            for name in json_names(rest, "pending") {
                note(name, i, "a pending ticket on disk");
            }
        }
        for rest in b.events("PC-QUEUE-START").chain(b.events("PC-QUEUE-END")) {
            for name in json_names(rest, "") {
                note(name, i, "a record on disk");
            }
        }
    }
    out
}

/// The usernames in a tickets file (`pending`) or a queue listing (`""`: the array itself).
fn json_names(text: &str, field: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let list = if field.is_empty() { &v } else { &v[field] };
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["username"].as_str().map(str::to_owned))
        .collect()
}

/// (username, state) of each record in a queue listing.
fn json_records(text: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let field = |k: &str| x[k].as_str().unwrap_or_default().to_owned();
            (field("username"), field("state"))
        })
        .collect()
}

/// The first cuts from boot `from` on, for a lost name's report.
fn cuts_from(boots: &[BootData], from: usize) -> String {
    let cuts: Vec<String> = boots
        .iter()
        .filter(|b| b.boot.index >= from)
        .filter_map(|b| {
            let c = b.boot.planned?;
            Some(format!(
                "boot {} cut at {} +{} ms",
                b.boot.index,
                c.step,
                c.delay.as_millis()
            ))
        })
        .take(3)
        .collect();
    cuts.join("; ")
}

/// Each judged boot left only files the daemon knows: nothing damaged, no leftovers.
fn clean_starts(boots: &[BootData], add: &mut impl FnMut(Kind, String)) {
    const KNOWN: [&str; 10] = [
        "./lost+found",
        "./tickets.json",
        "./tickets.transactions",
        "./queue",
        "./queue/.lock",
        "./queue/queue.key",
        "./queue/sequence",
        "./queue/corrupt",
        "./queue/review",
        "./queue/unknown",
    ];
    for b in boots {
        let i = b.boot.index;
        match &b.found {
            Err(why) => add(
                Kind::Harness,
                format!("boot {i}: the disk could not be read before it: {why}"),
            ),
            Ok(found) => {
                for what in &found.unreadable {
                    add(
                        Kind::Unclean,
                        format!("boot {i}: the cut left a file that does not read: {what}"),
                    );
                }
                // The guest lists the same disk once its kernel has mounted it: a difference
                // means one of the two readings is wrong.
                if let Some(listed) = b.events("PC-FILES-BEFORE").next() {
                    let listed: Vec<&str> = listed.split_whitespace().collect();
                    if listed != found.files {
                        add(
                            Kind::Harness,
                            format!(
                                "boot {i}: the guest listed {listed:?} on the disk, the host read \
                                 {:?}",
                                found.files
                            ),
                        );
                    }
                }
            }
        }
        for files in b.events("PC-FILES-AFTER") {
            let odd: Vec<&str> = files
                .split_whitespace()
                // Unknown deliveries and flagged registrations wait for an operator.
                .filter(|f| {
                    !KNOWN.contains(f)
                        && !f.starts_with("./queue/unknown/")
                        && !f.starts_with("./queue/review/")
                })
                .collect();
            if !odd.is_empty() {
                add(
                    Kind::Unclean,
                    format!("boot {}: files left after judging: {odd:?}", b.boot.index),
                );
            }
        }
        for line in b
            .console
            .lines()
            .filter(|l| l.contains("damaged") || l.contains("unreadable"))
        {
            add(
                Kind::Unclean,
                format!("boot {}: the daemon said: {line}", b.boot.index),
            );
        }
    }
}

/// Where the cuts landed, as the next boot found the state directory before its daemon
/// started: a write under way (a temporary file), a binding, a record being sent, a queued
/// record, a ticket waiting, or nothing in progress; and what the daemon then did about it.
fn landings(boots: &[BootData]) -> String {
    let mut by_step: BTreeMap<Step, BTreeMap<&str, usize>> = BTreeMap::new();
    for pair in boots.windows(2) {
        let (cut, next) = (&pair[0], &pair[1]);
        let Some(c) = cut.boot.planned else { continue };
        let found = by_step.entry(c.step).or_default();
        *found.entry("cuts").or_default() += 1;
        let Ok(disk) = &next.found else { continue };
        let mut in_progress = false;
        for (what, pattern) in [
            ("temporary file", "/.tmp."),
            ("bound", ".bound"),
            ("sending", ".sending"),
            ("queued", ".entry"),
        ] {
            if disk
                .files
                .iter()
                .any(|f| f.contains(pattern) && !f.contains("/unknown/"))
            {
                *found.entry(what).or_default() += 1;
                in_progress = true;
            }
        }
        if !disk.tickets.is_empty() {
            *found.entry("ticket waiting").or_default() += 1;
            in_progress = true;
        }
        if !in_progress {
            *found.entry("nothing in progress").or_default() += 1;
        }
        for (what, said) in [
            (
                "made an unknown delivery",
                "was being sent when enrolld stopped",
            ),
            (
                "ticket given back",
                "was interrupted before anything was sent",
            ),
        ] {
            if next.console.contains(said) {
                *found.entry(what).or_default() += 1;
            }
        }
    }
    let rows: Vec<String> = by_step
        .iter()
        .map(|(step, found)| {
            let cuts = found.get("cuts").copied().unwrap_or_default();
            let found: Vec<String> = found
                .iter()
                .filter(|(k, _)| **k != "cuts")
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            format!("{step}: {cuts} cuts; {}", found.join(", "))
        })
        .collect();
    format!(
        "cuts by step, and what the next boot found:\n  {}",
        rows.join("\n  ")
    )
}

/// The judge's own tests: a ledger with each kind of wrong, and one that is right, each seen
/// to get the verdict it must. A judge that cannot fire proves nothing.
#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::plan::Cut;

    /// A registration request as the stand-in records it.
    fn request(username: &str, capture: &str) -> Value {
        json!({
            "endpoint": "register",
            "token_ok": true,
            "problems": [],
            "behaviour": "ok",
            "body": {"username": username},
            "jpeg_sha256": capture,
        })
    }

    fn boot(index: usize, planned: Option<Cut>, events: &[&str], ledger: Vec<Value>) -> BootData {
        boot_finding(index, planned, Found::default(), events, ledger)
    }

    fn boot_finding(
        index: usize,
        planned: Option<Cut>,
        found: Found,
        events: &[&str],
        ledger: Vec<Value>,
    ) -> BootData {
        let ended = match planned {
            Some(_) => Ended::Cut {
                marker_line: "PC-ACCEPTED ticket".into(),
                after_arm: Duration::from_millis(100),
            },
            None => Ended::PoweredOff,
        };
        BootData {
            boot: Boot {
                index,
                planned,
                ended,
                took: Duration::from_secs(10),
                console: PathBuf::new(),
                events: PathBuf::new(),
                ledger: PathBuf::new(),
            },
            found: Ok(found),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            ledger,
            console: String::new(),
        }
    }

    const CUT: Cut = Cut {
        step: Step::TicketAcked,
        delay: Duration::from_millis(100),
    };

    /// A chain of two boots: the first acknowledges a ticket for ann and is cut; the second
    /// judges the cut, sends `ledger`, and powers off.
    fn chain(ledger: Vec<Value>, last_events: &[&str]) -> Vec<BootData> {
        let mut events = vec!["PC-JUDGED 1", "PC-DONE daemon exit status 0"];
        events.extend_from_slice(last_events);
        vec![
            boot(
                0,
                Some(CUT),
                &["PC-JUDGED 0", "PC-ARM", "PC-ACCEPTED ticket ann"],
                vec![],
            ),
            boot(1, None, &events, ledger),
        ]
    }

    fn kinds(boots: &[BootData]) -> Vec<Kind> {
        let verdict = judge(boots);
        let mut kinds: Vec<Kind> = verdict.problems.iter().map(|p| p.kind).collect();
        kinds.dedup();
        kinds
    }

    #[test]
    fn a_chain_that_kept_its_promises_passes() {
        let boots = chain(vec![request("ann", "c1")], &[]);
        let verdict = judge(&boots);
        assert!(verdict.problems.is_empty(), "{:?}", verdict.problems);
    }

    #[test]
    fn an_acknowledged_ticket_never_sent_is_a_loss() {
        assert_eq!(kinds(&chain(vec![], &[])), [Kind::Lost]);
    }

    #[test]
    fn a_record_the_cut_left_on_disk_and_the_start_up_deleted_is_a_loss() {
        // Nothing acknowledged it in the events and the daemon's own listings never show it:
        // only the disk as the host read it before the boot knows of bob.
        let found = Found {
            files: vec!["./queue/00000000000000000007.entry".into()],
            records: vec![("./queue/00000000000000000007.entry".into(), "bob".into())],
            ..Found::default()
        };
        let boots = vec![
            boot(0, Some(CUT), &["PC-JUDGED 0"], vec![]),
            boot_finding(
                1,
                None,
                found,
                &[
                    "PC-FILES-BEFORE ./queue/00000000000000000007.entry",
                    "PC-QUEUE-START []",
                    "PC-JUDGED 1",
                    "PC-DONE daemon exit status 0",
                ],
                vec![],
            ),
        ];
        let verdict = judge(&boots);
        assert_eq!(kinds(&boots), [Kind::Lost], "{:?}", verdict.problems);
        assert!(verdict.problems[0].detail.contains("bob"));
    }

    #[test]
    fn a_name_registered_twice_is_caught_unless_an_operator_resent_it() {
        let twice = vec![request("ann", "c1"), request("ann", "c1")];
        assert_eq!(kinds(&chain(twice.clone(), &[])), [Kind::Twice]);
        assert!(kinds(&chain(twice, &["PC-RESEND 3 ann"])).is_empty());
        // A retake registers nobody: the next press may send the name again.
        let mut retake = request("ann", "c0");
        retake["behaviour"] = json!("retake:no_face");
        assert!(kinds(&chain(vec![retake, request("ann", "c1")], &[])).is_empty());
    }

    #[test]
    fn a_capture_under_another_name_is_caught() {
        // ann's capture also went out as bob.
        let swapped = vec![request("ann", "c1"), request("bob", "c1")];
        assert_eq!(kinds(&chain(swapped, &[])), [Kind::OtherName]);
        // ann resent by the operator, but with another capture than the first send.
        let changed = vec![request("ann", "c1"), request("ann", "c2")];
        assert_eq!(
            kinds(&chain(changed, &["PC-RESEND 3 ann"])),
            [Kind::OtherName]
        );
    }

    #[test]
    fn a_guest_listing_that_differs_from_the_host_reading_is_a_harness_fault() {
        let mut boots = chain(vec![request("ann", "c1")], &[]);
        boots[1]
            .events
            .insert(0, "PC-FILES-BEFORE ./tickets.json".into());
        assert_eq!(kinds(&boots), [Kind::Harness]);
    }
}
