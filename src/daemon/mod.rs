//! `enrolld run`: the loop that wires the stages together.
//!
//! Everything that decides lives in [`crate::machine`] (pure, tested
//! exhaustively); this module only carries out its actions. The loop itself
//! never blocks: captures and HTTPS calls run on blocking threads and come
//! back as `Input`s, so presses, control commands, signals and the watchdog
//! are always served.
//!
//! ```text
//! press ─► machine ─► StartCapture ─► camera (blocking) ─► CaptureDone ─► Submit
//!   ─► IDMeta (blocking) ─► SubmitOutcome ─► result state, LED, status file
//!                                   └─ resendable ─► Enqueue ─► delivery worker
//!          └─ (no verification id yet) create-verification (blocking) ─► Verification
//! ```
//!
//! The create-verification call runs beside the capture (see `verification.rs`);
//! a Submit that comes first waits for it.

mod attempt;
mod bridge;
pub mod devices;
pub mod notify;
pub mod ports;
mod reports;
pub mod submit;
mod verification;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot, watch};

use self::attempt::Attempt;
use self::notify::Notifier;
use self::ports::{Camera, Indicator, Press, Shot, ShotError, TriggerControl};
use self::submit::Submission;
use self::verification::{Early, Spare};
use crate::api::{self, Client};
use crate::config::Config;
use crate::control::{self, Command, Reply};
use crate::machine::{Action, Component, Event, Machine, Refusal, State, Who};
use crate::queue::delivery::{self, Report, Sent, SharedQueue};
use crate::queue::{NewEntry, Now, Queue, QueueError};
use crate::status::{Health, QueueStatus, Status, StatusWriter};
use crate::tickets::{TicketError, Tickets};

/// How long a result (registered, retake, ...) is shown before idle.
pub const RESULT_HOLD: Duration = Duration::from_secs(3);
/// After SIGTERM, how long an in-flight registration may still take before it
/// is abandoned (and logged as an unknown delivery). The unit's
/// `TimeoutStopSec=20s` leaves room for the LEDs and the status file after it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// How often the loop checks driver health and refreshes queue figures.
const TICK: Duration = Duration::from_secs(1);
/// Camera reopen attempts back off up to this.
const MAX_RECOVERY_BACKOFF: Duration = Duration::from_secs(30);

/// The hardware, real or simulated.
pub struct Devices {
    pub presses: mpsc::Receiver<Press>,
    pub trigger: Box<dyn TriggerControl>,
    pub indicator: Box<dyn Indicator>,
    pub camera: Box<dyn Camera>,
    /// Faults already known at start (a camera that would not open, say):
    /// the daemon starts in `fault` and recovers by itself.
    pub initial_faults: Vec<(Component, String)>,
}

/// Everything `run` needs besides the hardware.
pub struct Setup {
    pub config: Config,
    pub client: Client,
    /// Re-read on SIGHUP; `None` (the demo) means there is nothing to reload.
    pub config_path: Option<PathBuf>,
    pub shutdown_grace: Duration,
}

/// Why the daemon could not start. Once running, it does not fail: errors
/// become faults, outcomes and log lines.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("offline queue: {0}")]
    Queue(#[from] QueueError),
    #[error("tickets: {0}")]
    Tickets(#[from] TicketError),
    #[error("control socket: {0}")]
    Control(#[from] control::server::BindError),
    #[error("signals: {0}")]
    Signals(String),
}

/// What comes back into the loop.
pub(crate) enum Input {
    Control(Command, oneshot::Sender<Reply>),
    Shot(u64, Result<Shot, ShotError>),
    Submitted(u64, Submission),
    /// An early create-verification finished: the attempt, its result, how long it took.
    Verification(u64, Result<String, api::Outcome>, Duration),
    Enqueued(u64, Result<(), String>),
    Delivery(Report),
    CameraRecovery(Result<(), String>),
}

/// Runs the daemon until SIGTERM/SIGINT or until `stop` completes.
pub async fn run(
    setup: Setup,
    devices: Devices,
    stop: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let signal_err = |e: std::io::Error| DaemonError::Signals(e.to_string());
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_err)?;

    let Setup {
        config,
        client,
        config_path,
        shutdown_grace,
    } = setup;
    let queue = SharedQueue::new(Queue::open(&config.queue)?);
    reports::log_queue_opened(&queue.lock());
    let tickets = Tickets::open(&config.control.tickets_file, config.control.max_tickets)?;
    if let Some(note) = tickets.recovered() {
        log::error!("{note}");
    }
    let listener = control::server::bind(&config.control)?;

    let (inputs_tx, mut inputs) = mpsc::channel::<Input>(64);
    let (stop_workers_tx, stop_workers) = watch::channel(false);
    let client = Arc::new(RwLock::new(Arc::new(client)));

    let control_task = tokio::spawn(control::server::run(
        listener,
        Arc::new(bridge::Bridge {
            inputs: inputs_tx.clone(),
        }),
        wait_true(stop_workers.clone()),
    ));
    let delivery_task = tokio::spawn(delivery_worker(
        queue.clone(),
        config.clone(),
        client.clone(),
        inputs_tx.clone(),
        stop_workers.clone(),
    ));

    let notifier = Notifier::from_env();
    let Devices {
        mut presses,
        trigger,
        indicator,
        camera,
        initial_faults,
    } = devices;
    let now = Instant::now();
    let mut d = Daemon {
        status: Status::starting(&config.terminal.effective_id(), crate::time::unix_now()),
        status_writer: StatusWriter::new(&config.status),
        machine: Machine::new(now, RESULT_HOLD),
        config,
        client,
        queue,
        tickets,
        trigger,
        indicator,
        camera: Arc::new(Mutex::new(camera)),
        inputs: inputs_tx,
        notifier,
        current: None,
        seq: 0,
        press_edge: None,
        spare_verification: Spare::default(),
        exit: false,
        camera_fault: None,
        gpio_fault: None,
        recovery: Recovery::default(),
    };
    for (component, detail) in initial_faults {
        d.raise_fault(component, detail);
    }
    d.handle(Event::Ready);
    d.notifier.ready(&d.summary());
    log::info!(
        "enrolld {} ready: terminal {}, state {}",
        env!("CARGO_PKG_VERSION"),
        d.status.terminal_id,
        d.machine.state().name()
    );

    let mut tick =
        tokio::time::interval(d.notifier.watchdog_interval().map_or(TICK, |w| w.min(TICK)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    let mut stop_by: Option<tokio::time::Instant> = None;
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);

    while !d.exit {
        // Workers stop when shutdown begins, not when the loop ends: the
        // delivery worker must not start new sends while stopping.
        if stop_by.is_some() && !*stop_workers_tx.borrow() {
            let _ = stop_workers_tx.send(true);
        }
        let deadline = d.machine.deadline().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = sigterm.recv(), if stop_by.is_none() => stop_by = Some(d.begin_shutdown("SIGTERM", shutdown_grace)),
            _ = sigint.recv(), if stop_by.is_none() => stop_by = Some(d.begin_shutdown("SIGINT", shutdown_grace)),
            _ = &mut stop, if stop_by.is_none() => stop_by = Some(d.begin_shutdown("stop request", shutdown_grace)),
            _ = tokio::time::sleep_until(stop_by.unwrap_or(far)), if stop_by.is_some() => d.abandon(),
            _ = sighup.recv() => d.reload(config_path.as_deref()),
            Some(press) = presses.recv() => { d.press(press); }
            Some(input) = inputs.recv() => d.input(input),
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => { d.handle(Event::TimerExpired); }
            _ = tick.tick() => d.tick(),
        }
    }

    // Stop the workers; the delivery worker waits for a send in progress,
    // which the client's own timeouts bound, within what is left of the
    // grace (one bound for the whole shutdown, not one per stage).
    let _ = stop_workers_tx.send(true);
    let _ = control_task.await;
    let give_up = stop_by.unwrap_or_else(|| tokio::time::Instant::now() + shutdown_grace);
    if tokio::time::timeout_at(give_up, delivery_task)
        .await
        .is_err()
    {
        log::warn!(
            "the delivery worker did not stop in time; its entry in flight is recorded as unknown at the next start"
        );
    }
    d.write_status();
    // Lines off last, on every path out (the real driver also does it on drop).
    d.indicator.shutdown().await;
    log::info!("enrolld stopped");
    Ok(())
}

/// Completes when the watch flips to true (or its sender is gone).
async fn wait_true(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// The offline queue's worker, with the real client plugged in.
async fn delivery_worker(
    queue: Arc<SharedQueue>,
    config: Config,
    client: Arc<RwLock<Arc<Client>>>,
    inputs: mpsc::Sender<Input>,
    stop: watch::Receiver<bool>,
) {
    let finalize = config.api.finalize;
    let stopping = stop.clone();
    let send = move |entry: crate::queue::Entry| {
        let client = read_client(&client);
        // The worker goes on to the next entry right after a delivery; once
        // shutdown has begun, that entry is handed back unsent (kept in the
        // queue for the next start) instead of starting a new request.
        let stopping = *stopping.borrow();
        async move {
            if stopping {
                return Sent {
                    outcome: crate::machine::Outcome::NotSent,
                    verification_id: entry.verification_id,
                };
            }
            let verification_id = entry.verification_id.clone();
            let done = tokio::task::spawn_blocking(move || {
                submit::submit(
                    &client,
                    finalize,
                    &entry.jpeg,
                    &entry.username,
                    entry.verification_id.as_deref(),
                )
            })
            .await;
            match done {
                Ok(s) => Sent {
                    outcome: submit::to_machine(&s.outcome),
                    verification_id: s.verification_id,
                },
                // A panic mid-send: it may have gone out, so never resend.
                Err(_) => Sent {
                    outcome: crate::machine::Outcome::UnknownDelivery,
                    verification_id,
                },
            }
        }
    };
    let report = move |r: Report| {
        let _ = inputs.try_send(Input::Delivery(r));
    };
    let clock_ok = || crate::time::wall_clock_plausible(crate::time::unix_now());
    delivery::run_delivery(queue, config.queue, send, clock_ok, report, wait_true(stop)).await;
}

fn read_client(client: &RwLock<Arc<Client>>) -> Arc<Client> {
    client.read().unwrap_or_else(|p| p.into_inner()).clone()
}

#[derive(Debug, Default)]
struct Recovery {
    running: bool,
    next_try: Option<Instant>,
    backoff: Duration,
}

struct Daemon {
    config: Config,
    client: Arc<RwLock<Arc<Client>>>,
    machine: Machine,
    status: Status,
    status_writer: StatusWriter,
    queue: Arc<SharedQueue>,
    tickets: Tickets,
    trigger: Box<dyn TriggerControl>,
    indicator: Box<dyn Indicator>,
    camera: Arc<Mutex<Box<dyn Camera>>>,
    inputs: mpsc::Sender<Input>,
    notifier: Notifier,
    /// The enrollment in progress, if any.
    current: Option<Attempt>,
    /// Enrollment sequence number, for `{seq}` in the username template.
    seq: u64,
    /// The kernel's timestamp of the press being handled, if it has one.
    press_edge: Option<u64>,
    /// A verification created early for an enrollment that did not use it.
    spare_verification: Spare,
    exit: bool,
    camera_fault: Option<String>,
    gpio_fault: Option<String>,
    recovery: Recovery,
}

impl Daemon {
    /// Feeds the machine and carries out what it says. Returns the actions
    /// for callers that report on them (the control socket's `trigger`).
    fn handle(&mut self, event: Event) -> Vec<Action> {
        let before = self.machine.state();
        let actions = self.machine.handle(event, Instant::now());
        for action in &actions {
            self.act(*action);
        }
        if self.machine.state() != before {
            log::debug!("state {} -> {}", before.name(), self.machine.state().name());
            if !self.machine.state().is_result() && before.is_result() {
                self.trigger.enrollment_finished();
            }
        }
        actions
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::StartCapture { attempt, who } => self.start_capture(attempt, who),
            Action::Submit { attempt } => self.start_submit(attempt),
            Action::Enqueue { attempt } => self.start_enqueue(attempt),
            Action::CancelCapture { attempt } => {
                log::info!("capture {attempt} abandoned: stopping");
            }
            Action::PutBackTicket { attempt } => self.put_back_ticket(attempt),
            Action::RecordUnknownDelivery { attempt } => self.record_unknown(attempt),
            Action::RefusePress(why) => self.refuse(why),
            Action::Ignored { event, state } => {
                log::debug!("{event} ignored in state {}", state.name());
            }
            Action::ShowPattern(pattern) => self.indicator.show(pattern),
            Action::WriteStatus => self.write_status(),
            Action::Exit => self.exit = true,
        }
    }

    /// A press from the trigger, the control socket or the demo keyboard.
    fn press(&mut self, press: Press) -> Vec<Action> {
        let who = if self.tickets.has_pending() {
            Who::Ticket
        } else if self.config.terminal.username_template.is_some() {
            Who::Template
        } else {
            Who::Nobody
        };
        if let Some(edge) = press.edge_monotonic_ns {
            log::debug!("press, edge at {edge} ns (CLOCK_MONOTONIC)");
        }
        // For the capture this press may start (read by start_capture).
        self.press_edge = press.edge_monotonic_ns;
        let actions = self.handle(Event::Press(who));
        self.press_edge = None;
        actions
    }

    fn start_capture(&mut self, attempt: u64, who: Who) {
        self.seq += 1;
        let (username, verification_id, from_ticket) = match who {
            Who::Ticket => match self.tickets.take() {
                Ok(Some(t)) => (t.username, t.verification_id, true),
                Ok(None) | Err(_) => {
                    // The machine saw a ticket a moment ago; a failed
                    // tickets-file write is the only way here.
                    log::error!("could not take the pending ticket; enrollment abandoned");
                    let _ = self.inputs.try_send(Input::Shot(
                        attempt,
                        Err(ShotError::Fault("tickets file unwritable".into())),
                    ));
                    return;
                }
            },
            Who::Template | Who::Nobody => {
                let template = self
                    .config
                    .terminal
                    .username_template
                    .as_deref()
                    .unwrap_or("");
                let name = crate::username::render(
                    template,
                    &self.status.terminal_id,
                    crate::time::unix_now(),
                    self.seq,
                );
                (name, None, false)
            }
        };
        // An id the ticket brought stays the ticket's; any other (the spare,
        // or one created early) is the terminal's own.
        let own_verification = verification_id.is_none();
        let verification_id =
            verification_id.or_else(|| self.spare_verification.take(Instant::now()));
        log::info!(enrolld_username = username.as_str(); "enrollment {attempt} for {username}: capturing");
        let mut a = Attempt::new(attempt, username, verification_id, from_ticket);
        a.verification_is_own = own_verification;
        self.current = Some(a);
        let camera = self.camera.clone();
        let inputs = self.inputs.clone();
        let max_bytes = self.config.api.max_image_bytes;
        let since = self.press_edge.map(Duration::from_nanos);
        tokio::task::spawn_blocking(move || {
            let result = {
                let mut cam = camera.lock().unwrap_or_else(|p| p.into_inner());
                cam.shoot(max_bytes, since)
            };
            let _ = inputs.blocking_send(Input::Shot(attempt, result));
        });
        self.start_early_verification(attempt);
    }

    /// create-verification alongside the capture (see `verification`), when
    /// the attempt has no id yet and TLS can work (a wrong clock means the
    /// enrollment is queued, not sent).
    fn start_early_verification(&mut self, attempt: u64) {
        let Some(a) = self.current.as_mut().filter(|a| a.id == attempt) else {
            return;
        };
        if a.verification_id.is_some()
            || !crate::time::wall_clock_plausible(crate::time::unix_now())
        {
            return;
        }
        a.early = Early::Running {
            submit_waiting: false,
        };
        let client = read_client(&self.client);
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = client.create_verification();
            let _ = inputs.blocking_send(Input::Verification(attempt, result, started.elapsed()));
        });
    }

    fn verification_done(
        &mut self,
        attempt: u64,
        result: Result<String, api::Outcome>,
        took: Duration,
    ) {
        let Some(a) = self
            .current
            .as_mut()
            .filter(|a| a.id == attempt && matches!(a.early, Early::Running { .. }))
        else {
            // The attempt ended without it (a retake, a fault): keep the id
            // for the next press.
            if let Ok(id) = result {
                log::info!(
                    enrolld_verification_id = id.as_str();
                    "enrollment {attempt} ended before its verification was used; keeping it for the next one"
                );
                self.spare_verification.keep(id, Instant::now());
            }
            return;
        };
        let submit_waiting = matches!(
            a.early,
            Early::Running {
                submit_waiting: true
            }
        );
        a.stage("create_verification", took);
        a.early = match result {
            Ok(id) => {
                a.verification_id = Some(id);
                Early::Idle
            }
            Err(outcome) => Early::Failed(outcome),
        };
        if submit_waiting {
            self.start_submit(attempt);
        }
    }

    fn start_submit(&mut self, attempt: u64) {
        let Some(a) = self.current.as_mut().filter(|a| a.id == attempt) else {
            return;
        };
        let Some(jpeg) = a.jpeg.clone() else { return };
        let early_failure = match std::mem::take(&mut a.early) {
            Early::Running { .. } => {
                log::debug!("enrollment {attempt}: waiting for create-verification");
                a.early = Early::Running {
                    submit_waiting: true,
                };
                return;
            }
            Early::Failed(outcome) => Some(outcome),
            Early::Idle => None,
        };
        log::info!("enrollment {attempt}: submitting to IDMeta");
        let client = read_client(&self.client);
        let finalize = self.config.api.finalize;
        let username = a.username.clone();
        let verification_id = a.verification_id.clone();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let s = match early_failure {
                Some(outcome) => submit::create_failed(outcome),
                None => submit::submit(
                    &client,
                    finalize,
                    &jpeg,
                    &username,
                    verification_id.as_deref(),
                ),
            };
            let _ = inputs.blocking_send(Input::Submitted(attempt, s));
        });
    }

    fn start_enqueue(&mut self, attempt: u64) {
        let Some(a) = self.current.as_ref().filter(|a| a.id == attempt) else {
            return;
        };
        let Some(jpeg) = a.jpeg.clone() else { return };
        let entry = NewEntry {
            username: a.username.clone(),
            verification_id: a.verification_id.clone(),
            jpeg,
        };
        let queue = self.queue.clone();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let result = queue
                .push(entry, &Now::read())
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = inputs.blocking_send(Input::Enqueued(attempt, result));
        });
    }

    fn put_back_ticket(&mut self, attempt: u64) {
        if let Some(a) = self.current.as_mut().filter(|a| a.id == attempt) {
            put_back(&mut self.tickets, a);
        }
    }

    fn record_unknown(&mut self, attempt: u64) {
        if let Some(a) = self.current.as_ref().filter(|a| a.id == attempt) {
            warn_unknown_delivery(a, "not re-sent: check it in the IDMeta dashboard");
        }
    }

    fn refuse(&mut self, why: Refusal) {
        self.status.count("refused_press");
        match why {
            Refusal::NobodyToEnroll => log::warn!(
                "press refused: no pending ticket and no terminal.username_template (enroll someone with `enrolld enroll --username NAME`)"
            ),
            Refusal::Fault => log::warn!("press refused: the terminal has a fault"),
        }
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Control(command, reply) => {
                let answer = self.control(command);
                let _ = reply.send(answer);
            }
            Input::Shot(attempt, result) => self.shot(attempt, result),
            Input::Submitted(attempt, submission) => self.submitted(attempt, submission),
            Input::Verification(attempt, result, took) => {
                self.verification_done(attempt, result, took)
            }
            Input::Enqueued(attempt, result) => self.enqueued(attempt, result),
            Input::Delivery(report) => {
                reports::log_delivery(&report, &mut self.status);
                self.write_status();
            }
            Input::CameraRecovery(result) => {
                self.recovery.running = false;
                match result {
                    Ok(()) => self.clear_fault(Component::Camera),
                    Err(e) => {
                        log::debug!("camera still broken: {e}");
                        self.status.camera = Health::broken(e);
                    }
                }
            }
        }
    }

    fn shot(&mut self, attempt: u64, result: Result<Shot, ShotError>) {
        let current = self.current.as_mut().filter(|a| a.id == attempt);
        match result {
            Ok(shot) => {
                if let Some(a) = current {
                    a.took(shot);
                }
                let clock_plausible = crate::time::wall_clock_plausible(crate::time::unix_now());
                if !clock_plausible {
                    log::warn!(
                        "wall clock is before this build's date: queueing instead of TLS until the clock is set (NTP)"
                    );
                }
                self.handle(Event::CaptureDone {
                    attempt,
                    clock_plausible,
                });
            }
            Err(e) => {
                self.keep_unused_verification(attempt);
                self.shot_failed(attempt, e);
            }
        }
    }

    /// The capture failed, so nothing will be registered under the attempt's
    /// own verification id: the next press uses it (see `verification`).
    fn keep_unused_verification(&mut self, attempt: u64) {
        if let Some(a) = self.current.as_mut().filter(|a| a.id == attempt)
            && a.verification_is_own
            && let Some(id) = a.verification_id.take()
        {
            self.spare_verification.keep(id, Instant::now());
        }
    }

    fn shot_failed(&mut self, attempt: u64, error: ShotError) {
        match error {
            ShotError::Retake(why) => {
                self.handle(Event::CaptureRetake { attempt });
                self.conclude(attempt, "retake", &format!("retake: {why}"), None);
            }
            ShotError::Failed(why) => {
                log::error!("capture failed: {why}");
                self.handle(Event::CaptureFailed { attempt });
                self.conclude(attempt, "capture_failed", &why, None);
            }
            ShotError::Fault(why) => {
                log::error!("camera fault: {why}");
                self.raise_fault(Component::Camera, why.clone());
                self.handle(Event::CaptureFailed { attempt });
                self.conclude(attempt, "camera_fault", &why, None);
            }
        }
    }

    fn submitted(&mut self, attempt: u64, s: Submission) {
        if let Some(a) = self.current.as_mut().filter(|a| a.id == attempt) {
            a.stage("register", s.elapsed);
            if a.verification_id.is_none() {
                a.verification_id = s.verification_id.clone();
            }
        }
        let outcome = submit::to_machine(&s.outcome);
        let face_id = match &s.outcome {
            api::Outcome::Registered { face_id, .. } => Some(face_id.clone()),
            _ => None,
        };
        let message = submit::describe(&s.outcome);
        self.handle(Event::SubmitOutcome { attempt, outcome });
        if !s.outcome.is_resendable() {
            self.conclude(attempt, s.outcome.code(), &message, face_id);
        } else {
            log::info!("enrollment {attempt}: {message}; storing it in the offline queue");
            if let Some(a) = self.current.as_mut().filter(|a| a.id == attempt) {
                a.first_try = Some(message);
            }
        }
    }

    fn enqueued(&mut self, attempt: u64, result: Result<(), String>) {
        let stored = result.is_ok();
        self.handle(Event::EnqueueDone { attempt, stored });
        let first_try = self
            .current
            .as_ref()
            .and_then(|a| a.first_try.clone())
            .unwrap_or_else(|| "clock not set".to_owned());
        match result {
            Ok(()) => self.conclude(
                attempt,
                "queued",
                &format!("{first_try}; queued for delivery"),
                None,
            ),
            Err(e) => {
                log::error!("enrollment {attempt} could not be queued: {e}");
                self.conclude(
                    attempt,
                    "queue_full",
                    &format!("{first_try}; not queued: {e}"),
                    None,
                )
            }
        }
    }

    /// The enrollment ended: settle the ticket, log it, record it.
    fn conclude(&mut self, attempt: u64, code: &str, message: &str, face_id: Option<String>) {
        let Some(mut a) = self.current.take().filter(|a| a.id == attempt) else {
            return;
        };
        if a.from_ticket && !a.ticket_settled {
            a.ticket_settled = true;
            if let Err(e) = self.tickets.finish() {
                log::error!("could not settle the ticket: {e}");
            }
        }
        let total = a.started.elapsed();
        a.stage("total", total);
        log::info!(
            enrolld_outcome = code,
            enrolld_username = a.username.as_str(),
            enrolld_face_id = face_id.as_deref().unwrap_or(""),
            enrolld_verification_id = a.verification_id.as_deref().unwrap_or(""),
            enrolld_duration_ms = total.as_millis() as u64;
            "enrollment {attempt} for {}: {message}",
            a.username
        );
        self.status.count(code);
        self.status.last_outcome = Some(a.into_last_outcome(code, message, face_id));
        self.write_status();
    }

    fn control(&mut self, command: Command) -> Reply {
        match command {
            Command::Enroll(ticket) => {
                let name = ticket.username.clone();
                match self.tickets.push(ticket) {
                    Ok(pending) => {
                        log::info!(enrolld_username = name.as_str(); "ticket queued for {name} ({pending} pending)");
                        self.write_status();
                        Reply::ok().with("position", pending)
                    }
                    Err(e) => Reply::error(e.to_string()),
                }
            }
            Command::Trigger => {
                let actions = self.press(Press::default());
                reply_to_trigger(&actions, self.machine.state())
            }
            Command::Status => {
                self.refresh_status();
                Reply::ok().with("status", &self.status)
            }
        }
    }

    fn raise_fault(&mut self, component: Component, detail: String) {
        match component {
            Component::Camera => {
                self.status.camera = Health::broken(detail.clone());
                if self.camera_fault.is_none() {
                    self.recovery = Recovery {
                        running: false,
                        next_try: Some(Instant::now() + Duration::from_secs(1)),
                        backoff: Duration::from_secs(1),
                    };
                }
                self.camera_fault = Some(detail);
            }
            Component::Gpio => {
                self.status.gpio = Health::broken(detail.clone());
                self.gpio_fault = Some(detail);
            }
        }
        self.handle(Event::FaultRaised(component));
    }

    fn clear_fault(&mut self, component: Component) {
        let was = match component {
            Component::Camera => {
                self.status.camera = Health::ok();
                self.camera_fault.take()
            }
            Component::Gpio => {
                self.status.gpio = Health::ok();
                self.gpio_fault.take()
            }
        };
        if was.is_some() {
            log::info!("{component:?} recovered");
            self.handle(Event::FaultCleared(component));
        }
    }

    /// Once a second (or per watchdog interval): driver health, camera
    /// recovery, queue figures, and the watchdog ping, sent from here so a
    /// wedged loop stops pinging and systemd restarts it.
    fn tick(&mut self) {
        let gpio = self.indicator.fault().or_else(|| self.trigger.fault());
        match (gpio, self.gpio_fault.is_some()) {
            (Some(detail), false) => {
                log::error!("GPIO fault: {detail}");
                self.raise_fault(Component::Gpio, detail);
            }
            (None, true) => self.clear_fault(Component::Gpio),
            _ => {}
        }
        if self.camera_fault.is_some() && !self.recovery.running && self.current.is_none() {
            let due = self.recovery.next_try.is_none_or(|t| Instant::now() >= t);
            if due {
                self.recovery.running = true;
                self.recovery.backoff = (self.recovery.backoff * 2).min(MAX_RECOVERY_BACKOFF);
                self.recovery.next_try = Some(Instant::now() + self.recovery.backoff);
                let camera = self.camera.clone();
                let inputs = self.inputs.clone();
                tokio::task::spawn_blocking(move || {
                    let result = camera.lock().unwrap_or_else(|p| p.into_inner()).recover();
                    let _ = inputs.blocking_send(Input::CameraRecovery(result));
                });
            }
        }
        self.write_status();
        self.notifier.watchdog();
    }

    fn begin_shutdown(&mut self, why: &str, grace: Duration) -> tokio::time::Instant {
        log::info!(
            "{why}: stopping (no new presses; in-flight work has {} s)",
            grace.as_secs()
        );
        self.notifier.stopping();
        self.handle(Event::Shutdown);
        tokio::time::Instant::now() + grace
    }

    /// The grace period ran out with work still in flight.
    fn abandon(&mut self) {
        if let Some(mut a) = self.current.take() {
            if a.jpeg.is_some() {
                warn_unknown_delivery(&a, "abandoned in flight when stopping");
            }
            put_back(&mut self.tickets, &mut a);
        }
        self.exit = true;
    }

    /// SIGHUP: re-read the configuration; keep the old one if the new one is
    /// broken. Only what can change safely while running is applied.
    fn reload(&mut self, path: Option<&std::path::Path>) {
        let Some(path) = path else {
            log::info!("SIGHUP: nothing to reload in this mode");
            return;
        };
        self.notifier.reloading();
        let result = crate::config::load(path)
            .map_err(|e| e.to_string())
            .and_then(|new| {
                let (token, _) = crate::secret::load_token(new.api.token_file.as_deref())
                    .map_err(|e| e.to_string())?;
                let client = Client::new(&new.api, token).map_err(|e| e.to_string())?;
                Ok((new, client))
            });
        match result {
            Ok((new, client)) => {
                let needs_restart = reports::sections_needing_restart(&self.config, &new);
                *self.client.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(client);
                self.config.api = new.api;
                self.config.terminal = new.terminal;
                // Created under the old template id, perhaps.
                self.spare_verification.clear();
                if needs_restart.is_empty() {
                    log::info!("SIGHUP: configuration reloaded");
                } else {
                    log::warn!(
                        "SIGHUP: [api] and [terminal] reloaded; changes to {} take effect after a restart",
                        needs_restart.join(", ")
                    );
                }
            }
            Err(e) => log::error!("SIGHUP: keeping the current configuration: {e}"),
        }
        self.notifier.ready(&self.summary());
    }

    fn refresh_status(&mut self) {
        let state = self.machine.state();
        if self.status.state != state.name() {
            self.status.set_state(state.name(), crate::time::unix_now());
        }
        self.status.clock_plausible = crate::time::wall_clock_plausible(crate::time::unix_now());
        self.status.tickets_pending = self.tickets.pending();
        self.status.queue = QueueStatus::of(&self.queue.lock(), &Now::read());
    }

    fn write_status(&mut self) {
        let before = self.status.state.clone();
        self.refresh_status();
        match self.status_writer.write(&self.status) {
            Ok(true) if before != self.status.state => self.notifier.status(&self.summary()),
            Ok(_) => {}
            Err(e) => log::error!("status file: {e}"),
        }
    }

    /// One line for `systemctl status`.
    fn summary(&self) -> String {
        let registered = self.status.counters.get("registered").copied().unwrap_or(0);
        format!(
            "{}; {} registered; queue {}; tickets {}",
            self.machine.state().name(),
            registered,
            self.status.queue.depth,
            self.status.tickets_pending
        )
    }
}

/// The person was not (knowingly) enrolled: their ticket goes back to the
/// front, once.
fn put_back(tickets: &mut Tickets, a: &mut Attempt) {
    if a.from_ticket && !a.ticket_settled {
        a.ticket_settled = true;
        if let Err(e) = tickets.put_back() {
            log::error!("could not put the ticket back: {e}");
        }
    }
}

/// An enrollment that may or may not have reached IDMeta: never re-sent,
/// logged with its verification id for follow-up.
fn warn_unknown_delivery(a: &Attempt, what_now: &str) {
    log::warn!(
        enrolld_outcome = "unknown_delivery",
        enrolld_username = a.username.as_str(),
        enrolld_verification_id = a.verification_id.as_deref().unwrap_or("");
        "enrollment {} for {} may or may not have reached IDMeta (verification id {}); {what_now}",
        a.id,
        a.username,
        a.verification_id.as_deref().unwrap_or("none")
    );
}

/// What the control socket's `trigger` reports back.
fn reply_to_trigger(actions: &[Action], state: State) -> Reply {
    for a in actions {
        match a {
            Action::StartCapture { attempt, .. } => {
                return Reply::ok().with("started", true).with("attempt", attempt);
            }
            Action::RefusePress(Refusal::NobodyToEnroll) => {
                return Reply::error(
                    "refused: no pending ticket and no terminal.username_template configured",
                );
            }
            Action::RefusePress(Refusal::Fault) => {
                return Reply::error("refused: the terminal has a camera or GPIO fault");
            }
            _ => {}
        }
    }
    Reply::ok()
        .with("started", false)
        .with("ignored", format!("busy ({})", state.name()))
}
