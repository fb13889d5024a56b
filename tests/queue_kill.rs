//! kill -9 at random instants while the real queue is being written and
//! emptied by the real delivery worker, in a real child process, 120 times.
//!
//! The child (this same test binary, re-executed with `ENROLLD_QUEUE_CHILD`
//! set, running only `child_process_entry`) pushes enrollments and delivers
//! them concurrently to a "server" that is an append-only file. It logs each
//! push's intent before and its acknowledgement after `push` returns. The
//! parent kills it at a random instant, restarts it, and at the end checks:
//! - nothing acknowledged is lost: it was processed by the server, is still
//!   queued, or is on record as an unknown delivery;
//! - nothing was processed twice, nothing queued was already processed;
//! - nothing appeared that was not pushed, nothing is corrupt;
//! - the server processed entries in push order.
//!
//! "Processed" and "unknown" may overlap: an unknown delivery is precisely
//! one that may have been processed (the kill came between send and answer).

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enrolld::api::Outcome;
use enrolld::daemon::delivery::{self, Command as Wake};
use enrolld::daemon::submit::Sent;
use enrolld::queue::{ListedState, NewEntry, Now, Queue, QueueConfig, UnknownDelivery};
use enrolld::shutdown::Shutdown;
use enrolld::store::{Store, StoreHandle};
use enrolld::tickets::Tickets;

const CHILD_ENV: &str = "ENROLLD_QUEUE_CHILD";
const ROUNDS: usize = 120;

fn config(dir: &Path) -> QueueConfig {
    QueueConfig {
        dir: dir.join("queue"),
        max_entries: 10_000,
        max_bytes: 1 << 30,
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        ..QueueConfig::default()
    }
}

/// One `write(2)` with O_APPEND: a whole line or nothing, even under SIGKILL
/// (the page cache survives the process).
fn append(path: &Path, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The child: push and deliver until killed.
#[test]
fn child_process_entry() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return; // Only meaningful when re-executed by `kill_9_loses_nothing_and_sends_nothing_twice`.
    };
    let dir = PathBuf::from(dir);
    let cfg = config(&dir);
    let queue = Queue::open(&cfg).unwrap();
    let tickets = Tickets::open(&dir.join("tickets.json"), 10).unwrap();
    let store = StoreHandle::spawn(Store::assemble(queue, tickets).unwrap().0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (log, sink) = (dir.join("log"), dir.join("server"));
    // Tells the parent the repairs at open are done and work begins.
    append(&log, &format!("S {}\n", std::process::id()));
    rt.block_on(async {
        let sender_sink = sink.clone();
        let send = move |entry: enrolld::queue::Entry| {
            let sink = sender_sink.clone();
            async move {
                // Mostly accepted; sometimes the network is down (never left
                // the device: not recorded by the server) or the answer is lost.
                let outcome = match fastrand::u8(0..10) {
                    0 | 1 => Outcome::NotSent {
                        reason: "network down".into(),
                    },
                    2 => Outcome::UnknownDelivery {
                        reason: "answer lost".into(),
                    },
                    _ => Outcome::Registered {
                        face_id: "f".into(),
                        associated_verification_id: None,
                        image_url: None,
                        timestamp: None,
                    },
                };
                if !matches!(outcome, Outcome::NotSent { .. }) {
                    append(&sink, &format!("{}\n", entry.username));
                }
                Sent {
                    outcome,
                    verification_id: None,
                    elapsed: Duration::ZERO,
                }
            }
        };
        let (wake, commands) = tokio::sync::mpsc::channel(64);
        let worker = tokio::spawn(delivery::run(
            store.clone(),
            cfg.clone(),
            commands,
            Shutdown::never(),
            send,
            || true,
            |_| {},
        ));
        let pid = std::process::id();
        for i in 0.. {
            let name = format!("p{pid}-{i}");
            append(&log, &format!("I {name}\n"));
            let new = NewEntry {
                username: name.clone(),
                verification_id: None,
                jpeg: vec![0x5a; fastrand::usize(100..20_000)],
            };
            store
                .run(move |s| s.queue_mut().push(new, &Now::read()))
                .await
                .unwrap()
                .unwrap();
            let _ = wake.try_send(Wake::Wake);
            append(&log, &format!("A {name}\n"));
            tokio::time::sleep(Duration::from_micros(fastrand::u64(0..500))).await;
        }
        worker.await.unwrap();
    });
}

#[test]
fn kill_9_loses_nothing_and_sends_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut starts = 0;
    let mut delivered = 0;
    for _ in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_process_entry", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Most kills land while the child works (after it reports it has
        // started, however slow the machine); one in ten lands during start
        // and the repairs of `Queue::open`. Five in ten first
        // wait for the child's next delivery, so that deliveries (and the
        // kills just after one) happen however slow a loaded machine makes
        // each step: the kill instant follows the child's progress, not a
        // fixed time window it may not fill.
        match fastrand::u8(0..10) {
            0 => std::thread::sleep(Duration::from_micros(fastrand::u64(0..5_000))),
            n => {
                wait_for_start(&dir.join("log"), &mut starts);
                if n <= 5 {
                    wait_for_delivery(&dir.join("server"), &mut delivered);
                }
                std::thread::sleep(Duration::from_micros(fastrand::u64(0..40_000)));
            }
        }
        // SIGKILL: no destructor, no flush, no chance to tidy up.
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let elapsed = started.elapsed();

    // A final open repairs what the last kill left, as the daemon's start would.
    let cfg = config(dir);
    let queue = Queue::open(&cfg).unwrap();
    assert!(queue.report().corrupt.is_empty(), "{:?}", queue.report());
    drop(queue);
    assert!(
        std::fs::read_dir(cfg.dir.join("corrupt"))
            .unwrap()
            .next()
            .is_none()
    );

    let log = lines(&dir.join("log"));
    let intents: Vec<&str> = log.iter().filter_map(|l| l.strip_prefix("I ")).collect();
    let acked: HashSet<&str> = log.iter().filter_map(|l| l.strip_prefix("A ")).collect();
    let position: HashMap<&str, usize> = intents.iter().enumerate().map(|(i, n)| (*n, i)).collect();

    let processed = lines(&dir.join("server"));
    let mut seen = HashSet::new();
    for name in &processed {
        assert!(seen.insert(name.as_str()), "{name} processed twice");
        assert!(
            position.contains_key(name.as_str()),
            "{name} was never pushed"
        );
    }
    // In order: each processed entry was pushed after the previous one.
    let order: Vec<usize> = processed.iter().map(|n| position[n.as_str()]).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of order: {order:?}"
    );

    let queued: HashSet<String> = drain_names(&cfg);
    let unknown: HashSet<String> = std::fs::read_dir(cfg.dir.join("unknown"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read(p).unwrap();
            serde_json::from_slice::<UnknownDelivery>(&text)
                .unwrap()
                .username
        })
        .collect();
    for name in &queued {
        assert!(
            !seen.contains(name.as_str()),
            "{name} queued but already processed"
        );
        assert!(!unknown.contains(name), "{name} both queued and unknown");
        assert!(
            position.contains_key(name.as_str()),
            "{name} was never pushed"
        );
    }
    for name in &acked {
        assert!(
            seen.contains(name) || queued.contains(*name) || unknown.contains(*name),
            "{name} was acknowledged and then lost"
        );
    }
    let interrupted = unknown
        .iter()
        .filter(|n| !seen.contains(n.as_str()))
        .count();
    eprintln!(
        "{ROUNDS} kills in {elapsed:?}: {} pushed ({} acknowledged), {} processed, {} still queued, \
         {} unknown ({interrupted} of them never reached the server)",
        intents.len(),
        acked.len(),
        processed.len(),
        queued.len(),
        unknown.len()
    );
    // The kills must have landed in every phase for the test to prove anything.
    assert!(processed.len() >= ROUNDS / 4, "too few deliveries");
    assert!(intents.len() > acked.len(), "no kill landed mid-push");
    assert!(!unknown.is_empty(), "no kill landed mid-delivery");
}

/// Waits until the log holds more start lines than `starts` (the child
/// began working); the 20 s bound only guards against a hang.
fn wait_for_start(log: &Path, starts: &mut usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = lines(log).iter().filter(|l| l.starts_with("S ")).count();
        if now > *starts {
            *starts = now;
            return;
        }
        assert!(Instant::now() < deadline, "child did not start");
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Waits until the server has recorded one more delivery than `delivered`
/// (whatever the last kill left counts: the child may have been killed right
/// after a delivery of its own).
fn wait_for_delivery(server: &Path, delivered: &mut usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = lines(server).len();
        if now > *delivered {
            *delivered = now;
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the child delivered nothing in 30 s ({now} deliveries so far)"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Usernames of the entries still queued (read through the queue's own API).
fn drain_names(cfg: &QueueConfig) -> HashSet<String> {
    Queue::open(cfg)
        .unwrap()
        .list(&Now::read())
        .into_iter()
        .filter(|l| l.state == ListedState::Queued)
        .map(|l| l.username)
        .collect()
}
