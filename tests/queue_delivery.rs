//! The delivery worker over a real queue directory: outages, order,
//! Retry-After, the clock gate, expiry, unknown deliveries and shutdown.
//! The `send` function is a scripted stand-in for the IDMeta client (the
//! real client over HTTPS is wired by the daemon and tested there).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enrolld::machine::Outcome;
use enrolld::queue::delivery::{Report, Sent, SharedQueue, run_delivery};
use enrolld::queue::{Entry, NewEntry, Now, Queue, QueueConfig};
use tokio::sync::oneshot;

/// Decides the outcome of each send from the entry's username and the
/// number of times it was sent before.
type Script = Arc<dyn Fn(&str, usize) -> Outcome + Send + Sync>;

struct Harness {
    _tmp: tempfile::TempDir,
    queue: Arc<SharedQueue>,
    /// Every send, in order: (username, when).
    sends: Arc<Mutex<Vec<(String, Instant)>>>,
    reports: Arc<Mutex<Vec<Report>>>,
    clock_ok: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    fn start(max_age_secs: u64, script: Script) -> Harness {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = QueueConfig {
            dir: tmp.path().join("queue"),
            max_age_secs,
            backoff_base_ms: 1,
            backoff_max_ms: 20,
            ..QueueConfig::default()
        };
        let queue = SharedQueue::new(Queue::open(&cfg).unwrap());
        let sends = Arc::new(Mutex::new(Vec::new()));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let clock_ok = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = oneshot::channel::<()>();
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
                })
            }
        };
        let gate = clock_ok.clone();
        let sink = reports.clone();
        let worker = tokio::spawn(run_delivery(
            queue.clone(),
            cfg,
            send,
            move || gate.load(Ordering::SeqCst),
            move |r| sink.lock().unwrap().push(r),
            async move {
                let _ = stopped.await;
            },
        ));
        Harness {
            _tmp: tmp,
            queue,
            sends,
            reports,
            clock_ok,
            stop: Some(stop),
            worker: Some(worker),
        }
    }

    fn push(&self, username: &str) {
        let new = NewEntry {
            username: username.into(),
            verification_id: Some(format!("v-{username}")),
            jpeg: b"\xff\xd8jpeg\xff\xd9".to_vec(),
        };
        self.queue.push(new, &Now::read()).unwrap();
    }

    fn count(&self, pred: impl Fn(&Report) -> bool) -> usize {
        self.reports
            .lock()
            .unwrap()
            .iter()
            .filter(|r| pred(r))
            .count()
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
        self.stop.take().unwrap().send(()).unwrap();
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
                Outcome::Registered
            } else {
                Outcome::NotSent
            }
        }),
    );
    let names: Vec<String> = (0..50).map(|i| format!("user-{i:02}")).collect();
    for n in &names {
        h.push(n);
    }
    h.until("a few failed attempts", |h| {
        h.sends.lock().unwrap().len() >= 5
    })
    .await;
    assert_eq!(h.queue.lock().depth(), 50);
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
            Report::Delivered { id, .. } => Some(format!("user-{:02}", id.0 - 1)),
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
    assert_eq!(h.queue.lock().depth(), 0);
    assert_eq!(h.queue.lock().bytes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let h = Harness::start(
        86_400,
        Arc::new(|_, before| match before {
            0 => Outcome::RateLimited {
                retry_after: Some(Duration::from_millis(300)),
            },
            _ => Outcome::Registered,
        }),
    );
    h.push("ann");
    h.until("delivery", |h| h.count(delivered) == 1).await;
    let sends = h.sends.lock().unwrap().clone();
    assert_eq!(sends.len(), 2);
    // A lower bound: the second try cannot come earlier than the server asked.
    assert!(sends[1].1 - sends[0].1 >= Duration::from_millis(300));
    assert!(
        h.count(|r| matches!(r, Report::Retrying { delay, failures: 1, .. }
        if *delay >= Duration::from_millis(300)))
            == 1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_while_the_clock_is_implausible() {
    let h = Harness::start(86_400, Arc::new(|_, _| Outcome::Registered));
    h.clock_ok.store(false, Ordering::SeqCst);
    h.push("ann");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(h.sent_names().is_empty());
    h.clock_ok.store(true, Ordering::SeqCst);
    h.queue.wake();
    h.until("delivery", |h| h.count(delivered) == 1).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_are_removed_never_sent() {
    // max_age 0: every entry is already too old when the worker looks at it.
    let h = Harness::start(0, Arc::new(|_, _| Outcome::Registered));
    h.clock_ok.store(false, Ordering::SeqCst); // let them sit a moment
    for n in ["a", "b", "c"] {
        h.push(n);
    }
    h.queue.wake();
    h.until("expiry", |h| {
        h.count(|r| matches!(r, Report::Expired(_))) == 3
    })
    .await;
    h.clock_ok.store(true, Ordering::SeqCst);
    let h = h.stop().await;
    assert!(h.sent_names().is_empty());
    assert_eq!(h.queue.lock().depth(), 0);
    let expired = h.reports.lock().unwrap().clone();
    assert!(
        matches!(&expired[0], Report::Expired(e) if e.verification_id.as_deref() == Some("v-a"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_refused_are_final_and_the_rest_goes_on() {
    let h = Harness::start(
        86_400,
        Arc::new(|name, _| match name {
            "lost" => Outcome::UnknownDelivery,
            "bad" => Outcome::Rejected,
            _ => Outcome::Registered,
        }),
    );
    for n in ["lost", "bad", "ok"] {
        h.push(n);
    }
    h.until("all three handled", |h| h.queue.lock().depth() == 0)
        .await;
    let h = h.stop().await;
    assert_eq!(h.sent_names(), ["lost", "bad", "ok"]);
    assert_eq!(h.queue.lock().unknown_count(), 1);
    let reports = h.reports.lock().unwrap().clone();
    assert!(matches!(&reports[0], Report::Unknown(u)
        if u.verification_id.as_deref() == Some("v-lost") && u.reason == "unknown_delivery"));
    assert!(matches!(
        reports[1],
        Report::Refused {
            outcome: Outcome::Rejected,
            ..
        }
    ));
    assert!(delivered(&reports[2]));
}
