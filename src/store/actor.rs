//! The store on a thread of its own: callers send it jobs (closures over
//! [`Store`]) and await their results; after each job it publishes a fresh
//! [`Snapshot`]. One writer, jobs in arrival order, and no async thread ever
//! blocked by an fsync on a slow SD card.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::{Snapshot, Store};
use crate::queue::Now;

/// A job returns how to deliver its result, so the snapshot is published
/// before the caller hears back (a caller that pushed a ticket and presses
/// at once must find it counted).
type Job = Box<dyn FnOnce(&mut Store) -> Box<dyn FnOnce() + Send> + Send>;

enum Message {
    Job(Job),
    /// Drop the store (its directory lock with it), then say so.
    Close(oneshot::Sender<()>),
}

/// The store's thread has ended (it panicked, or every handle was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store's thread has stopped")]
pub struct StoreGone;

/// A cheap, cloneable way to the store's thread.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Message>,
    snapshot: watch::Receiver<Snapshot>,
    /// When the job now running started (None while idle): a job that never
    /// ends means the disk hangs, and the watchdog must see it.
    busy_since: Arc<Mutex<Option<Instant>>>,
}

impl StoreHandle {
    /// Moves the store onto its own thread.
    pub fn spawn(store: Store) -> StoreHandle {
        let (jobs, inbox) = mpsc::channel::<Message>();
        let (publish, snapshot) = watch::channel(store.snapshot(&Now::read()));
        let busy_since = Arc::new(Mutex::new(None));
        let busy = Arc::clone(&busy_since);
        std::thread::Builder::new()
            .name("enrolld-store".into())
            .spawn(move || {
                let mut store = store;
                while let Ok(message) = inbox.recv() {
                    let job = match message {
                        Message::Job(job) => job,
                        Message::Close(done) => {
                            drop(store);
                            let _ = done.send(());
                            return;
                        }
                    };
                    *lock(&busy) = Some(Instant::now());
                    let deliver = job(&mut store);
                    *lock(&busy) = None;
                    publish.send_replace(store.snapshot(&Now::read()));
                    deliver();
                }
            })
            .expect("spawn the store thread");
        StoreHandle {
            jobs,
            snapshot,
            busy_since,
        }
    }

    /// Runs `job` on the store's thread and returns its result.
    pub async fn run<R, F>(&self, job: F) -> Result<R, StoreGone>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        self.submit(job)?.await.map_err(|_| StoreGone)
    }

    /// Queues `job` now, in the caller's order (unlike [`StoreHandle::run`], whose job is
    /// queued only when its future is first polled); its result arrives on the receiver.
    pub fn submit<R, F>(&self, job: F) -> Result<oneshot::Receiver<R>, StoreGone>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Message::Job(Box::new(move |store: &mut Store| {
                let result = job(store);
                Box::new(move || {
                    let _ = tx.send(result);
                }) as Box<dyn FnOnce() + Send>
            })))
            .map_err(|_| StoreGone)?;
        Ok(rx)
    }

    /// Closes the store once the jobs already sent are done: the records
    /// directory is unlocked when this returns. Later jobs fail with
    /// [`StoreGone`].
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.jobs.send(Message::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The figures after the latest job.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// Changes to the figures, for whoever shows them.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.clone()
    }

    /// How long the job now running has been running.
    pub fn busy_for(&self, now: Instant) -> Option<Duration> {
        lock(&self.busy_since).map(|since| now.saturating_duration_since(since))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
