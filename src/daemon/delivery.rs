//! The worker that empties the queue: oldest first, one at a time, backing
//! off while IDMeta is unreachable, while the terminal keeps enrolling.
//!
//! It knows nothing of HTTP: it is handed a `send` function (the real
//! client, or a stand-in in tests) and a `clock_ok` gate (TLS is not tried
//! while the wall clock is implausible). Each answer's fate comes from the
//! pure [`fate::queued`]; each step is reported so the daemon can log it and
//! count it.
//!
//! **Pause.** A refused token or URL (401, 403, 404, a redirect) pauses
//! deliveries: every entry is kept, and only one entry is tried per
//! `queue.paused_probe_secs` to see whether the server accepts it again. A
//! reload (`systemctl reload`, i.e. a fixed token or URL) or `enrolld queue
//! resume` resumes at once. The worker owns the pause: the daemon asks for
//! it ([`Command`]) and learns of it from the [`Report`]s.
//!
//! **Stopping.** Shutdown is checked between deliveries and during waits. A
//! send in progress is awaited; the daemon bounds that wait and records an
//! entry still in flight as an unknown delivery.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::submit::Sent;
use crate::api::Outcome;
use crate::machine::fate::{self, QueueFate};
use crate::queue::{
    Entry, EntryId, Expired, Now, QueueConfig, QueueError, SentFate, UnknownDelivery,
};
use crate::shutdown::Shutdown;
use crate::store::StoreHandle;

/// How often an idle worker re-checks expiry and the clock gate.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// What the daemon tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Something was queued, or the network or the clock came back.
    Wake,
    /// The live path was refused the token or URL.
    Pause,
    /// The configuration was reloaded, or an operator said so.
    Resume,
}

/// One step of the worker, for logs and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Registered: deleted. `already`: IDMeta said it already was. `screening`: the
    /// watchlist screening flagged it (a review record was kept).
    Delivered {
        id: EntryId,
        username: String,
        /// The verification it was registered under: under v3 the only link between the
        /// name on this terminal and the enrollment in IDMeta.
        verification_id: Option<String>,
        already: bool,
        resent: bool,
        screening: Option<crate::api::Screening>,
    },
    /// Refused for good: deleted.
    Refused {
        id: EntryId,
        username: String,
        outcome: Outcome,
    },
    /// Not processed: kept, next attempt after `delay`.
    Retrying {
        id: EntryId,
        outcome: Outcome,
        failures: u32,
        delay: Duration,
    },
    /// Possibly processed: recorded for an operator, never re-sent by
    /// itself; with the answer that made it so (the operator's first clue).
    Unknown(UnknownDelivery, Outcome),
    /// The token or URL was refused: deliveries paused, everything kept.
    Paused { outcome: Option<Outcome> },
    /// Deliveries resumed (reload, operator, or a probe that got through).
    Resumed { by_probe: bool },
    /// Too old: deleted unsent.
    Expired(Expired),
    /// A damaged entry was moved aside (to `path`), not sent.
    Corrupt {
        path: std::path::PathBuf,
        username: Option<String>,
        reason: String,
    },
    /// Damaged files older than the maximum age were deleted from `corrupt/`.
    CorruptPruned { files: usize },
    /// The queue directory failed (disk full, I/O error); retried with backoff.
    StorageError(String),
}

/// Runs until `shutdown`. See the module documentation.
pub async fn run<S, F, G, R>(
    store: StoreHandle,
    config: QueueConfig,
    mut commands: mpsc::Receiver<Command>,
    shutdown: Shutdown,
    mut send: S,
    clock_ok: G,
    mut report: R,
) where
    S: FnMut(Entry) -> F,
    F: Future<Output = Sent>,
    G: Fn() -> bool,
    R: FnMut(Report),
{
    let mut backoff = Backoff {
        failures: 0,
        base: Duration::from_millis(config.backoff_base_ms),
        max: Duration::from_millis(config.backoff_max_ms),
    };
    let mut pause = Pause {
        paused: false,
        probe_at: Instant::now(),
        every: Duration::from_secs(config.paused_probe_secs),
    };
    loop {
        if shutdown.is_triggered() {
            return;
        }
        // Commands that came while sending: a pause or resume applies now.
        loop {
            match commands.try_recv() {
                Ok(c) => pause.obey(c, &mut backoff, &mut report),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        upkeep(&store, &mut report).await;
        let now = Instant::now();
        let may_send = clock_ok() && (!pause.paused || now >= pause.probe_at);
        let (next, wake_at) = if may_send {
            store
                .run(move |s| (s.queue().next_ready(now), s.queue().next_wake()))
                .await
                .unwrap_or((None, None))
        } else {
            (None, None)
        };
        let Some(id) = next else {
            let mut until = now + IDLE_RECHECK;
            if let Some(w) = wake_at {
                until = until.min(w);
            }
            if pause.paused {
                until = until.min(pause.probe_at);
            }
            tokio::select! {
                _ = shutdown.wait() => return,
                c = commands.recv() => match c {
                    Some(c) => pause.obey(c, &mut backoff, &mut report),
                    None => return,
                },
                _ = tokio::time::sleep_until(until.into()) => {}
            }
            continue;
        };
        let probing = pause.paused;
        if probing {
            pause.probe_at = Instant::now() + pause.every;
        }
        let entry = match store.run(move |s| s.queue_mut().begin(id)).await {
            Ok(Ok(entry)) => entry,
            Ok(Err(QueueError::Corrupt {
                path,
                reason,
                username,
            })) => {
                report(Report::Corrupt {
                    path,
                    username,
                    reason,
                });
                continue;
            }
            Ok(Err(e)) => {
                report(Report::StorageError(e.to_string()));
                wait(&shutdown, backoff.after_failure(None)).await;
                continue;
            }
            Err(gone) => return report(Report::StorageError(gone.to_string())),
        };
        let (username, resent) = (entry.username.clone(), entry.resent);
        log::debug!("{id} for {username}: sending from the queue");
        let sent = send(entry).await;
        let answer = sent.outcome.code().to_owned();
        let queue_fate = fate::queued(&sent.outcome, resent);
        if probing && fate::proves_access(&sent.outcome) {
            pause.paused = false;
            report(Report::Resumed { by_probe: true });
        }
        let (settle, mut delay) = match queue_fate {
            QueueFate::Delivered { review: true, .. } => (
                SentFate::Review {
                    verification_id: sent.verification_id.clone(),
                    answer: super::submit::kept_answer(&sent.outcome),
                },
                None,
            ),
            QueueFate::Delivered { .. } | QueueFate::Refused => (SentFate::Delete, None),
            QueueFate::Retry { after } => {
                let delay = backoff.after_failure(after);
                let fate = SentFate::Requeue {
                    verification_id: sent.verification_id.clone(),
                    not_before: after.map(|a| Instant::now() + a),
                    answer,
                };
                (fate, Some(delay))
            }
            QueueFate::Pause => {
                pause.start(Some(sent.outcome.clone()), &mut report);
                let fate = SentFate::Requeue {
                    verification_id: sent.verification_id.clone(),
                    not_before: None,
                    answer,
                };
                (fate, None)
            }
            QueueFate::Unknown => (
                SentFate::Unknown {
                    verification_id: sent.verification_id.clone(),
                    reason: answer,
                },
                None,
            ),
        };
        match store.run(move |s| s.queue_mut().settle(id, settle)).await {
            Ok(Ok(unknown)) => match queue_fate {
                QueueFate::Delivered { already, .. } => {
                    backoff.failures = 0;
                    report(Report::Delivered {
                        id,
                        username,
                        verification_id: sent.verification_id.clone(),
                        already,
                        resent,
                        screening: sent.outcome.screening().cloned(),
                    });
                }
                QueueFate::Refused => {
                    backoff.failures = 0;
                    report(Report::Refused {
                        id,
                        username,
                        outcome: sent.outcome,
                    });
                }
                QueueFate::Retry { .. } => report(Report::Retrying {
                    id,
                    outcome: sent.outcome,
                    failures: backoff.failures,
                    delay: delay.unwrap_or_default(),
                }),
                QueueFate::Unknown => {
                    report(Report::Unknown(unknown.expect("recorded"), sent.outcome));
                }
                QueueFate::Pause => {}
            },
            Ok(Err(e)) => {
                // The entry stays in flight in the index, so it is not sent
                // again in this run; at the next start it is an unknown delivery.
                report(Report::StorageError(e.to_string()));
                delay = Some(backoff.after_failure(None));
            }
            Err(gone) => return report(Report::StorageError(gone.to_string())),
        }
        if let Some(delay) = delay {
            wait(&shutdown, delay).await;
        }
    }
}

/// Expiry and pruning, reported.
async fn upkeep<R: FnMut(Report)>(store: &StoreHandle, report: &mut R) {
    let now = Now::read();
    let done = store
        .run(move |s| -> Result<_, QueueError> {
            let q = s.queue_mut();
            Ok((q.expire(&now)?, q.prune_corrupt(&now)?))
        })
        .await;
    match done {
        Ok(Ok((expired, pruned))) => {
            expired.into_iter().for_each(|e| report(Report::Expired(e)));
            if pruned > 0 {
                report(Report::CorruptPruned { files: pruned });
            }
        }
        Ok(Err(e)) => report(Report::StorageError(e.to_string())),
        Err(gone) => report(Report::StorageError(gone.to_string())),
    }
}

/// Sleeps for `d`, or less if shutdown comes first.
async fn wait(shutdown: &Shutdown, d: Duration) {
    tokio::select! {
        _ = shutdown.wait() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

/// Whether deliveries are paused, and when the next probe may go.
struct Pause {
    paused: bool,
    probe_at: Instant,
    every: Duration,
}

impl Pause {
    fn obey<R: FnMut(Report)>(&mut self, command: Command, backoff: &mut Backoff, report: &mut R) {
        match command {
            Command::Pause => self.start(None, report),
            Command::Resume if self.paused => {
                self.paused = false;
                backoff.failures = 0;
                report(Report::Resumed { by_probe: false });
            }
            Command::Resume | Command::Wake => {}
        }
    }

    /// Pauses (reported once) and puts the next probe a full interval away.
    fn start<R: FnMut(Report)>(&mut self, outcome: Option<Outcome>, report: &mut R) {
        if !self.paused {
            self.paused = true;
            report(Report::Paused { outcome });
        }
        self.probe_at = Instant::now() + self.every;
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
        crate::queue::backoff::delay(
            self.failures,
            self.base,
            self.max,
            retry_after,
            fastrand::f64(),
        )
    }
}
