//! The trigger thread: reads edges from a line source, runs the rules, sends
//! events to the daemon, and survives faults.
//!
//! Reading GPIO edges is a blocking `poll(2)` on a file descriptor, so it
//! lives on its own thread rather than a tokio task: it never occupies a
//! runtime worker, and it wakes at least every [`MAX_WAIT`] to notice a stop
//! request or a rule deadline (presence hold, software debounce window).
//! The line itself sits behind [`EdgeSource`] so the same loop runs on
//! gpiocdev (`line_trigger.rs`) and on a simulated line (`sim.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::config::{TriggerConfig, TriggerKind};
use super::error::GpioError;
use super::rules::{Behaviour, Edge, Fired, TriggerRules};
use crate::press::Press;
use crate::time::monotonic_ns;

/// The longest the thread blocks before looking at its stop flag.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(100);
/// First wait before reopening a failed line; doubles up to [`BACKOFF_MAX`].
pub(crate) const BACKOFF_FIRST: Duration = Duration::from_millis(200);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How the debounce is done on the open line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebounceMode {
    /// The kernel filters edges (`debounce_period` accepted).
    Kernel,
    /// The kernel refused a debounce period; the same rule runs in enrolld.
    Software,
    /// `debounce_ms = 0`.
    Off,
}

/// What the daemon shows about the trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerHealth {
    /// `kind = "none"`: no line is watched.
    Disabled,
    Ready {
        debounce: DebounceMode,
    },
    /// The line failed; it is being reopened with backoff.
    Fault {
        error: GpioError,
    },
}

/// The line as the trigger thread sees it.
pub(crate) trait EdgeSource: Send + 'static {
    /// Requests (or re-requests) the line; returns its current logical level
    /// and whether the kernel accepted the debounce period.
    fn open(&mut self) -> Result<Opened, GpioError>;
    /// Blocks at most `timeout` for edges and appends them in time order.
    fn wait(&mut self, timeout: Duration, edges: &mut Vec<Edge>) -> Result<(), GpioError>;
    /// Releases the line (before a reopen).
    fn close(&mut self);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    pub active: bool,
    pub kernel_debounce: bool,
}

/// The running trigger. Dropping it stops the thread and releases the line
/// (waiting up to `MAX_WAIT` for the thread to notice).
pub struct TriggerHandle {
    inner: Option<Running>,
    health: watch::Receiver<TriggerHealth>,
}

struct Running {
    stop: Arc<AtomicBool>,
    rules: Arc<Mutex<TriggerRules>>,
    thread: Option<JoinHandle<()>>,
}

impl TriggerHandle {
    /// A handle that watches nothing (`kind = "none"`).
    pub fn disabled() -> Self {
        let (_, health) = watch::channel(TriggerHealth::Disabled);
        TriggerHandle {
            inner: None,
            health,
        }
    }

    /// Starts the cooldown (button) now. Call when an enrollment's outcome is known.
    pub fn enrollment_finished(&self) {
        if let Some(r) = &self.inner {
            lock(&r.rules).enrollment_finished(monotonic_ns());
        }
    }

    /// The current state of the line.
    pub fn health(&self) -> TriggerHealth {
        self.health.borrow().clone()
    }

    /// A receiver that wakes on every health change.
    pub fn health_changes(&self) -> watch::Receiver<TriggerHealth> {
        self.health.clone()
    }
}

impl Drop for TriggerHandle {
    fn drop(&mut self) {
        if let Some(r) = &mut self.inner {
            r.stop.store(true, Ordering::Relaxed);
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// What the loop needs from the config, resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopSettings {
    pub behaviour: Behaviour,
    pub debounce: Duration,
}

impl LoopSettings {
    /// `None` for `kind = "none"`.
    pub fn from_config(cfg: &TriggerConfig) -> Option<Self> {
        let behaviour = match cfg.kind {
            TriggerKind::None => return None,
            TriggerKind::Button => Behaviour::Button {
                cooldown: cfg.effective_cooldown(),
            },
            TriggerKind::Presence => Behaviour::Presence {
                hold: cfg.effective_hold(),
                rearm: cfg.effective_rearm(),
            },
        };
        Some(LoopSettings {
            behaviour,
            debounce: cfg.effective_debounce(),
        })
    }

    fn debounce_mode(&self, opened: Opened) -> DebounceMode {
        if self.debounce.is_zero() {
            DebounceMode::Off
        } else if opened.kernel_debounce {
            DebounceMode::Kernel
        } else {
            DebounceMode::Software
        }
    }

    /// The window the rules apply: none when the kernel already did it.
    fn software_window(&self, opened: Opened) -> Duration {
        match self.debounce_mode(opened) {
            DebounceMode::Software => self.debounce,
            _ => Duration::ZERO,
        }
    }
}

/// Opens the line once (so a wrong chip or line is an error at start-up,
/// not a fault loop) and starts the thread.
pub(crate) fn spawn<S: EdgeSource>(
    mut source: S,
    settings: LoopSettings,
    tx: mpsc::Sender<Press>,
) -> Result<TriggerHandle, GpioError> {
    let opened = source.open()?;
    let now = monotonic_ns();
    let rules = TriggerRules::new(
        settings.behaviour,
        settings.software_window(opened),
        opened.active,
        now,
    );
    let rules = Arc::new(Mutex::new(rules));
    let (health_tx, health) = watch::channel(TriggerHealth::Ready {
        debounce: settings.debounce_mode(opened),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = Worker {
        source,
        settings,
        tx,
        rules: rules.clone(),
        stop: stop.clone(),
        health: health_tx,
        warned_software_debounce: false,
    };
    worker.note_debounce(opened);
    let thread = std::thread::Builder::new()
        .name("enrolld-trigger".into())
        .spawn(move || worker.run())
        .map_err(|e| GpioError::Thread {
            reason: e.to_string(),
        })?;
    Ok(TriggerHandle {
        inner: Some(Running {
            stop,
            rules,
            thread: Some(thread),
        }),
        health,
    })
}

struct Worker<S> {
    source: S,
    settings: LoopSettings,
    tx: mpsc::Sender<Press>,
    rules: Arc<Mutex<TriggerRules>>,
    stop: Arc<AtomicBool>,
    health: watch::Sender<TriggerHealth>,
    warned_software_debounce: bool,
}

impl<S: EdgeSource> Worker<S> {
    fn run(mut self) {
        let mut backoff = BACKOFF_FIRST;
        while let Some(error) = self.watch_line() {
            self.source.close();
            log::warn!("trigger: reopening the line with backoff");
            self.set_health(TriggerHealth::Fault { error });
            // Reopen with backoff until it works or we are told to stop.
            loop {
                if self.sleep_unless_stopped(backoff) {
                    return;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                match self.source.open() {
                    Ok(opened) => {
                        let mut fired = Vec::new();
                        let window = self.settings.software_window(opened);
                        lock(&self.rules).line_opened(
                            window,
                            opened.active,
                            monotonic_ns(),
                            &mut fired,
                        );
                        self.note_debounce(opened);
                        self.set_health(TriggerHealth::Ready {
                            debounce: self.settings.debounce_mode(opened),
                        });
                        log::info!("trigger: line reopened");
                        backoff = BACKOFF_FIRST;
                        if !self.deliver(&fired) {
                            return;
                        }
                        break;
                    }
                    Err(e) => self.set_health(TriggerHealth::Fault { error: e }),
                }
            }
        }
        self.source.close();
    }

    /// Publishes a health change (and logs a new fault); repeats of the same
    /// state during backoff wake nobody.
    fn set_health(&self, new: TriggerHealth) {
        self.health.send_if_modified(|current| {
            if *current == new {
                return false;
            }
            if let TriggerHealth::Fault { error } = &new {
                log::warn!("trigger: {error}");
            }
            *current = new;
            true
        });
    }

    /// Reads the open line until it fails (the error) or a stop is requested (`None`).
    fn watch_line(&mut self) -> Option<GpioError> {
        let mut edges = Vec::new();
        let mut fired = Vec::new();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            let timeout = self.wait_time();
            edges.clear();
            if let Err(e) = self.source.wait(timeout, &mut edges) {
                return Some(e);
            }
            fired.clear();
            {
                let mut rules = lock(&self.rules);
                for e in &edges {
                    rules.edge(*e, &mut fired);
                }
                rules.tick(monotonic_ns(), &mut fired);
            }
            if !self.deliver(&fired) {
                return None;
            }
        }
    }

    /// Until the next rule deadline, at most [`MAX_WAIT`].
    fn wait_time(&self) -> Duration {
        let deadline = lock(&self.rules).deadline();
        match deadline {
            Some(d) => Duration::from_nanos(d.saturating_sub(monotonic_ns())).min(MAX_WAIT),
            None => MAX_WAIT,
        }
    }

    /// Sends the events; false once the daemon has gone (time to stop).
    fn deliver(&self, fired: &[Fired]) -> bool {
        for f in fired {
            let press = Press::from_line(f.edge_timestamp_ns, f.decided_at_ns);
            // Never block the reader: a press the daemon cannot even queue is
            // a press made while it is swamped, and is dropped with a note.
            match self.tx.try_send(press) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    log::warn!("trigger: event dropped, the daemon is not taking events");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }

    fn note_debounce(&mut self, opened: Opened) {
        if self.settings.debounce_mode(opened) == DebounceMode::Software
            && !self.warned_software_debounce
        {
            self.warned_software_debounce = true;
            log::warn!(
                "trigger: the kernel refused a {} ms debounce period on this line; debouncing in software",
                self.settings.debounce.as_millis()
            );
        }
    }

    /// Sleeps in short steps; true if a stop was requested.
    fn sleep_unless_stopped(&self, total: Duration) -> bool {
        let mut left = total;
        while !left.is_zero() {
            if self.stop.load(Ordering::Relaxed) {
                return true;
            }
            let step = left.min(MAX_WAIT);
            std::thread::sleep(step);
            left -= step;
        }
        self.stop.load(Ordering::Relaxed)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The rules hold plain data; a panic elsewhere cannot leave them torn.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
