//! The background worker that empties the queue: oldest first, one at a
//! time, backing off while IDMeta is unreachable, while the terminal keeps
//! enrolling (pushing) alongside.
//!
//! The worker knows nothing of HTTP: the daemon hands it a `send` function
//! (the real IDMeta client, or a stand-in in tests) and a `clock_ok` gate
//! (TLS is not attempted while the wall clock is implausible). Each step is
//! reported through `report` so the daemon can log it and count it in the
//! status file.
//!
//! Shutdown is honoured between deliveries and during waits. A send in
//! progress is awaited (the client's own timeouts bound it); if the task is
//! dropped mid-send instead, the entry stays marked in flight and becomes an
//! unknown delivery at the next start: recorded, not lost, not sent twice.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::{
    Entry, EntryId, Expired, NewEntry, Now, Queue, QueueConfig, QueueError, UnknownDelivery,
};
use crate::machine::{Disposition, Outcome};

/// How often an idle worker re-checks expiry and the clock gate.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// The queue shared between the daemon (which pushes) and the worker.
#[derive(Debug)]
pub struct SharedQueue {
    queue: Mutex<Queue>,
    wake: Notify,
}

impl SharedQueue {
    pub fn new(queue: Queue) -> Arc<SharedQueue> {
        Arc::new(SharedQueue {
            queue: Mutex::new(queue),
            wake: Notify::new(),
        })
    }

    /// The queue itself, for reading depth and age or for tests. Keep the
    /// guard short: the worker takes it between steps.
    pub fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves the on-disk queue consistent
        // (every step is one atomic file operation), so the index can be used.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores an enrollment (see [`Queue::push`]) and wakes the worker.
    pub fn push(&self, new: NewEntry, now: &Now) -> Result<EntryId, QueueError> {
        let id = self.lock().push(new, now)?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Wakes the worker, e.g. when the network or the clock came back.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// What one send produced: the outcome and the verification id used (the
/// client may have created one for an entry that had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: Outcome,
    pub verification_id: Option<String>,
}

/// One step of the worker, for logs and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Registered (or already registered): deleted.
    Delivered { id: EntryId, outcome: Outcome },
    /// Refused for good (rejected, retake, unauthorized, ...): deleted.
    Refused { id: EntryId, outcome: Outcome },
    /// Not processed: kept, next attempt after `delay`.
    Retrying {
        id: EntryId,
        outcome: Outcome,
        failures: u32,
        delay: Duration,
    },
    /// Possibly processed: recorded for follow-up, deleted, never re-sent.
    Unknown(UnknownDelivery),
    /// Too old: deleted unsent.
    Expired(Expired),
    /// A damaged entry was moved aside, not sent.
    Corrupt { reason: String },
    /// Damaged files older than the maximum age were deleted from `corrupt/`.
    CorruptPruned { files: usize },
    /// The queue directory failed (disk full, I/O error); retried with backoff.
    StorageError(String),
}

/// Runs until `shutdown` completes. See the module documentation.
pub async fn run_delivery<S, F, G, R>(
    queue: Arc<SharedQueue>,
    config: QueueConfig,
    mut send: S,
    clock_ok: G,
    mut report: R,
    shutdown: impl Future<Output = ()>,
) where
    S: FnMut(Entry) -> F,
    F: Future<Output = Sent>,
    G: Fn() -> bool,
    R: FnMut(Report),
{
    tokio::pin!(shutdown);
    let mut backoff = Backoff {
        failures: 0,
        base: Duration::from_millis(config.backoff_base_ms),
        max: Duration::from_millis(config.backoff_max_ms),
    };
    // Sleeps for `d`, or returns from the worker if shutdown comes first.
    macro_rules! wait {
        ($d:expr) => {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep($d) => {}
            }
        };
    }
    loop {
        let now = Now::read();
        let cleanup = move |q: &mut Queue| -> Result<_, QueueError> {
            Ok((q.expire(&now)?, q.prune_corrupt(&now)?))
        };
        match with_queue(&queue, cleanup).await {
            Ok((expired, pruned)) => {
                expired.into_iter().for_each(|e| report(Report::Expired(e)));
                if pruned > 0 {
                    report(Report::CorruptPruned { files: pruned });
                }
            }
            Err(e) => report(Report::StorageError(e.to_string())),
        }
        let next = if clock_ok() {
            queue.lock().oldest()
        } else {
            None
        };
        let Some(id) = next else {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = queue.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_RECHECK) => {}
            }
            continue;
        };
        let entry = match with_queue(&queue, move |q| q.begin(id)).await {
            Ok(entry) => entry,
            Err(QueueError::Corrupt { reason, .. }) => {
                report(Report::Corrupt { reason });
                continue;
            }
            Err(e) => {
                report(Report::StorageError(e.to_string()));
                wait!(backoff.after_failure(None));
                continue;
            }
        };
        let sent = send(entry).await;
        let outcome = sent.outcome;
        let step = match outcome.disposition() {
            Disposition::Done => with_queue(&queue, move |q| q.finish(id))
                .await
                .map(|()| Report::Delivered { id, outcome }),
            Disposition::Failed => with_queue(&queue, move |q| q.finish(id))
                .await
                .map(|()| Report::Refused { id, outcome }),
            Disposition::Unknown => {
                let vid = sent.verification_id;
                with_queue(&queue, move |q| q.record_unknown(id, vid, outcome.code()))
                    .await
                    .map(Report::Unknown)
            }
            Disposition::Retry => {
                let vid = sent.verification_id;
                let retry_after = match outcome {
                    Outcome::RateLimited { retry_after } => retry_after,
                    _ => None,
                };
                let delay = backoff.after_failure(retry_after);
                let failures = backoff.failures;
                with_queue(&queue, move |q| q.retry_later(id, vid))
                    .await
                    .map(|()| Report::Retrying {
                        id,
                        outcome,
                        failures,
                        delay,
                    })
            }
        };
        match step {
            Ok(r) => {
                let pause = match r {
                    Report::Retrying { delay, .. } => Some(delay),
                    _ => None,
                };
                report(r);
                match pause {
                    Some(delay) => wait!(delay),
                    None => backoff.failures = 0,
                }
            }
            Err(e) => {
                // The entry stays in flight in the index, so it is not sent
                // again in this run; at the next start it is an unknown delivery.
                report(Report::StorageError(e.to_string()));
                wait!(backoff.after_failure(None));
            }
        }
    }
}

/// Consecutive failures and the schedule they imply.
struct Backoff {
    failures: u32,
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// Counts one more failure and returns how long to wait.
    fn after_failure(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        super::backoff::delay(
            self.failures,
            self.base,
            self.max,
            retry_after,
            fastrand::f64(),
        )
    }
}

/// Runs a queue operation (file I/O with fsyncs) off the async threads.
async fn with_queue<T, F>(queue: &Arc<SharedQueue>, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&mut Queue) -> T + Send + 'static,
{
    let queue = Arc::clone(queue);
    tokio::task::spawn_blocking(move || f(&mut queue.lock()))
        .await
        .expect("queue operation panicked")
}
