//! The delivery worker over a real records directory: outages, order,
//! Retry-After, gateways, a refused token, the clock gate, expiry, unknown
//! deliveries and shutdown. The `send` function is a scripted stand-in for
//! the IDMeta client (the real client over HTTPS is wired by the daemon and
//! tested there and in the whole-daemon tests).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enrolld::api::Outcome;
use enrolld::daemon::delivery::{self, Command, Report};
use enrolld::daemon::submit::Sent;
use enrolld::queue::{Entry, NewEntry, Now, Queue, QueueConfig};
use enrolld::shutdown::{self, Stopper};
use enrolld::store::{Store, StoreHandle};
use enrolld::tickets::Tickets;
use tokio::sync::mpsc;

/// Decides the outcome of each send from the entry's username and the
/// number of times it was sent before.
type Script = Arc<dyn Fn(&str, usize) -> Outcome + Send + Sync>;

fn registered() -> Outcome {
    Outcome::Registered {
        face_id: "f".into(),
        associated_verification_id: None,
        image_url: None,
        timestamp: None,
    }
}

fn not_sent() -> Outcome {
    Outcome::NotSent {
        reason: "connection refused".into(),
    }
}

struct Harness {
    _tmp: tempfile::TempDir,
    store: StoreHandle,
    /// Every send, in order: (username, when).
    sends: Arc<Mutex<Vec<(String, Instant)>>>,
    reports: Arc<Mutex<Vec<Report>>>,
    clock_ok: Arc<AtomicBool>,
    commands: mpsc::Sender<Command>,
    stopper: Stopper,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    fn start(max_age_secs: u64, script: Script) -> Harness {
        Harness::with(
            QueueConfig {
                max_age_secs,
                ..QueueConfig::default()
            },
            script,
        )
    }

    fn with(config: QueueConfig, script: Script) -> Harness {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = QueueConfig {
            dir: tmp.path().join("queue"),
            backoff_base_ms: 1,
            backoff_max_ms: 20,
            ..config
        };
        let queue = Queue::open(&cfg).unwrap();
        let tickets = Tickets::open(&tmp.path().join("tickets.json"), 10).unwrap();
        let store = StoreHandle::spawn(Store::assemble(queue, tickets).unwrap().0);
        let sends = Arc::new(Mutex::new(Vec::new()));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let clock_ok = Arc::new(AtomicBool::new(true));
        let send = {
            let sends = sends.clone();
            move |e: Entry| {
                let mut sends = sends.lock().unwrap();
                let before = sends.iter().filter(|(u, _)| *u == e.username).count();
                sends.push((e.username.clone(), Instant::now()));
                let outcome = script(&e.username, before);
                std::future::ready(Sent {
                    outcome,
                    verification_id: e.verification_id,
                    elapsed: Duration::ZERO,
                })
            }
        };
        let gate = clock_ok.clone();
        let sink = reports.clone();
        let (commands, inbox) = mpsc::channel(16);
        let (stopper, listener) = shutdown::channel();
        let worker = tokio::spawn(delivery::run(
            store.clone(),
            cfg,
            inbox,
            listener,
            send,
            move || gate.load(Ordering::SeqCst),
            move |r| sink.lock().unwrap().push(r),
        ));
        Harness {
            _tmp: tmp,
            store,
            sends,
            reports,
            clock_ok,
            commands,
            stopper,
            worker: Some(worker),
        }
    }

    async fn push(&self, username: &str) {
        let new = NewEntry {
            username: username.into(),
            verification_id: Some(format!("v-{username}")),
            jpeg: b"\xff\xd8jpeg\xff\xd9".to_vec(),
        };
        self.store
            .run(move |s| s.queue_mut().push(new, &Now::read()).unwrap())
            .await
            .unwrap();
        // As the daemon does: a wake-up the worker has not read yet is enough.
        let _ = self.commands.try_send(Command::Wake);
    }

    fn count(&self, pred: impl Fn(&Report) -> bool) -> usize {
        self.reports
            .lock()
            .unwrap()
            .iter()
            .filter(|r| pred(r))
            .count()
    }

    fn depth(&self) -> usize {
        self.store.snapshot().depth
    }

    /// Waits until `pred` holds; the 20 s bound only guards against a hang.
    async fn until(&self, what: &str, pred: impl Fn(&Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !pred(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn sent_names(&self) -> Vec<String> {
        self.sends
            .lock()
            .unwrap()
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    }

    async fn stop(mut self) -> Self {
        self.stopper.stop();
        self.worker.take().unwrap().await.unwrap();
        self
    }
}

fn delivered(r: &Report) -> bool {
    matches!(r, Report::Delivered { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_then_recovery_delivers_all_in_order_exactly_once() {
    let up = Arc::new(AtomicBool::new(false));
    let server = up.clone();
    let h = Harness::start(
        86_400,
        Arc::new(move |_, _| {
            if server.load(Ordering::SeqCst) {
                registered()
            } else {
                not_sent()
            }
        }),
    );
    let names: Vec<String> = (0..50).map(|i| format!("user-{i:02}")).collect();
    for n in &names {
        h.push(n).await;
    }
    h.until("a few failed attempts", |h| {
        h.sends.lock().unwrap().len() >= 5
    })
    .await;
    assert_eq!(h.depth(), 50);
    up.store(true, Ordering::SeqCst);
    h.until("50 deliveries", |h| h.count(delivered) == 50).await;
    let h = h.stop().await;

    // Only the head of the queue was tried during the outage: order is kept.
    let accepted: Vec<String> = h
        .reports
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Report::Delivered { username, .. } => Some(username.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, names);
    let sent = h.sent_names();
    assert!(
        sent.iter()
            .filter(|n| *n != "user-00")
            .all(|n| sent.iter().filter(|m| *m == n).count() == 1)
    );
    assert_eq!(h.depth(), 0);
    assert_eq!(h.store.snapshot().bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_for_429_and_503() {
    for first in [
        Outcome::RateLimited {
            retry_after_s: Some(1),
        },
        Outcome::ServerError {
            status: 503,
            retry_after_s: Some(1),
        },
    ] {
        let h = Harness::start(
            86_400,
            Arc::new(move |_, before| match before {
                0 => first.clone(),
                _ => registered(),
            }),
        );
        h.push("ann").await;
        h.until("delivery", |h| h.count(delivered) == 1).await;
        let sends = h.sends.lock().unwrap().clone();
        assert_eq!(sends.len(), 2);
        // A lower bound: the second try cannot come earlier than the server asked.
        assert!(sends[1].1 - sends[0].1 >= Duration::from_secs(1));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_are_sent_once_and_recorded_as_unknown() {
    for status in [502, 504] {
        let h = Harness::start(
            86_400,
            Arc::new(move |_, _| Outcome::ServerError {
                status,
                retry_after_s: None,
            }),
        );
        h.push("ann").await;
        h.until("unknown", |h| {
            h.count(|r| matches!(r, Report::Unknown(..))) == 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let h = h.stop().await;
        assert_eq!(h.sent_names(), ["ann"], "HTTP {status}: sent once");
        assert_eq!(h.store.snapshot().unknown_deliveries, 1);
    }
}

/// 401 while draining: everything kept, at most one probe per interval, and
/// a resume (a reload with a good token) delivers each entry once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_pauses_probes_slowly_and_resumes_on_request() {
    let token_ok = Arc::new(AtomicBool::new(false));
    let server = token_ok.clone();
    let h = Harness::with(
        QueueConfig {
            paused_probe_secs: 1,
            ..QueueConfig::default()
        },
        Arc::new(move |_, _| {
            if server.load(Ordering::SeqCst) {
                registered()
            } else {
                Outcome::Unauthorized { status: 401 }
            }
        }),
    );
    for n in ["ann", "bob", "cat"] {
        h.push(n).await;
    }
    h.until("paused", |h| {
        h.count(|r| matches!(r, Report::Paused { .. })) == 1
    })
    .await;
    // 2.5 probe intervals: the pausing send plus at most two probes.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let sends = h.sends.lock().unwrap().len();
    assert!((2..=3).contains(&sends), "{sends} requests while paused");
    assert_eq!(h.depth(), 3, "every entry kept");
    assert_eq!(h.count(|r| matches!(r, Report::Paused { .. })), 1);

    token_ok.store(true, Ordering::SeqCst);
    h.commands.send(Command::Resume).await.unwrap();
    h.until("all delivered", |h| h.count(delivered) == 3).await;
    let h = h.stop().await;
    let delivered_names: Vec<String> = h
        .reports
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Report::Delivered { username, .. } => Some(username.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered_names, ["ann", "bob", "cat"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_gets_through_resumes_by_itself() {
    let h = Harness::with(
        QueueConfig {
            paused_probe_secs: 1,
            ..QueueConfig::default()
        },
        Arc::new(|_, before| match before {
            0 => Outcome::WrongEndpoint { status: 404 },
            _ => registered(),
        }),
    );
    h.push("ann").await;
    h.until("delivered by the probe", |h| h.count(delivered) == 1)
        .await;
    let h = h.stop().await;
    assert_eq!(
        h.count(|r| matches!(r, Report::Resumed { by_probe: true })),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_while_the_clock_is_implausible() {
    let h = Harness::start(86_400, Arc::new(|_, _| registered()));
    h.clock_ok.store(false, Ordering::SeqCst);
    h.push("ann").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(h.sent_names().is_empty());
    h.clock_ok.store(true, Ordering::SeqCst);
    h.commands.send(Command::Wake).await.unwrap();
    h.until("delivery", |h| h.count(delivered) == 1).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_are_removed_never_sent() {
    // max_age 60 s, and entries made to look 61 s old.
    let h = Harness::start(60, Arc::new(|_, _| registered()));
    h.clock_ok.store(false, Ordering::SeqCst); // let them sit a moment
    let old = Now {
        boottime: Now::read().boottime.saturating_sub(Duration::from_secs(61)),
        ..Now::read()
    };
    for n in ["a", "b", "c"] {
        let new = NewEntry {
            username: n.into(),
            verification_id: Some(format!("v-{n}")),
            jpeg: vec![1; 4],
        };
        let at = old.clone();
        h.store
            .run(move |s| s.queue_mut().push(new, &at).unwrap())
            .await
            .unwrap();
    }
    h.commands.send(Command::Wake).await.unwrap();
    h.until("expiry", |h| {
        h.count(|r| matches!(r, Report::Expired(_))) == 3
    })
    .await;
    h.clock_ok.store(true, Ordering::SeqCst);
    let h = h.stop().await;
    assert!(h.sent_names().is_empty());
    assert_eq!(h.depth(), 0);
    let expired = h.reports.lock().unwrap().clone();
    assert!(
        matches!(&expired[0], Report::Expired(e) if e.username == "a" && e.verification_id.as_deref() == Some("v-a"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_refused_are_final_and_the_rest_goes_on() {
    let h = Harness::start(
        86_400,
        Arc::new(|name, _| match name {
            "lost" => Outcome::UnknownDelivery {
                reason: "timeout".into(),
            },
            "bad" => Outcome::Rejected {
                status: 422,
                message: "no".into(),
            },
            _ => registered(),
        }),
    );
    for n in ["lost", "bad", "ok"] {
        h.push(n).await;
    }
    h.until("all three handled", |h| {
        h.count(|_| true) >= 3 && h.depth() == 0
    })
    .await;
    let h = h.stop().await;
    assert_eq!(h.sent_names(), ["lost", "bad", "ok"]);
    assert_eq!(h.store.snapshot().unknown_deliveries, 1);
    let reports = h.reports.lock().unwrap().clone();
    assert!(matches!(&reports[0], Report::Unknown(u, _)
        if u.verification_id.as_deref() == Some("v-lost") && u.reason == "unknown_delivery"));
    assert!(matches!(&reports[1], Report::Refused { username, .. } if username == "bad"));
    assert!(delivered(&reports[2]));
}
