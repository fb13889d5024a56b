//! Carrying out the machine's actions. Each action starts one piece of work
//! off the loop (a blocking thread, the store's thread, a worker's
//! channel) whose result comes back as an [`Input`]; nothing here waits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::delivery::Command as DeliveryCommand;
use super::messages::{Input, StoreStepError};
use super::ports::{Press, Registrar};
use super::state::{Context, Daemon};
use super::{budgets, reports, submit};
use crate::api::Outcome;
use crate::machine::{Action, Component, Event, Fate, Who};
use crate::queue::{Destination as StoredAs, Now, SentFate};
use crate::store::NameSource;

impl Daemon {
    /// The loop's tick: once a second, or more often for a short watchdog.
    pub fn tick_interval(&self, tick: Duration) -> Duration {
        self.notifier
            .watchdog_interval()
            .map_or(tick, |w| w.min(tick))
    }

    pub fn api(&self) -> Arc<dyn Registrar> {
        self.api.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Feeds the machine and carries out what it says. Returns the actions
    /// for callers that report on them (the control socket's `trigger`).
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let before = self.machine.state();
        let actions = self.machine.handle(event, Instant::now());
        for action in &actions {
            self.act(action.clone());
        }
        let after = self.machine.state();
        if after != before {
            log::debug!("state {} -> {}", before.name(), after.name());
            if before.is_result() && !after.is_result() {
                self.trigger.enrollment_finished();
            }
        }
        actions
    }

    /// A press from the trigger, the control socket or the demo keyboard.
    pub fn press(&mut self, press: Press) -> Vec<Action> {
        // A ticket whose attempt just ended may still be on its way back to the front (its
        // release is queued before this press's binding): it counts as pending.
        let who = if self.store.snapshot().tickets_pending > 0 || !self.releasing.is_empty() {
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
        // A press (or the presence sensor) wakes a sleeping screen, whatever it starts.
        self.wake_display();
        let clock_plausible = crate::time::wall_clock_plausible(crate::time::unix_now());
        let actions = self.handle(Event::Press {
            who,
            clock_plausible,
        });
        self.press_edge = None;
        actions
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Bind { attempt, who } => self.bind(attempt, who),
            Action::StartCapture { attempt } => self.start_capture(attempt),
            Action::CreateVerification { attempt } => self.create_verification(attempt),
            Action::AbandonVerification {
                attempt,
                verification_id,
            } => self.abandon_verification(attempt, verification_id),
            Action::Store {
                attempt,
                record,
                verification_id,
                to,
            } => self.store_capture(attempt, record, verification_id, to),
            Action::Post {
                attempt,
                verification_id,
                ..
            } => self.post(attempt, verification_id),
            Action::Settle {
                attempt,
                record,
                fate,
            } => self.settle(attempt, record, fate),
            Action::Release { attempt, record } => {
                self.releasing.insert(attempt);
                self.on_store(attempt, Input::Settled, move |s| s.release(record))
            }
            Action::Concluded {
                attempt,
                conclusion,
            } => {
                let context = self.attempts.remove(&attempt).unwrap_or_default();
                self.keep_for_result(&context);
                let mut event = reports::conclude(&mut self.status, attempt, context, conclusion);
                self.write_status();
                event.queue_depth = self.status.queue.depth;
                self.fleet.event(event);
            }
            Action::PauseDeliveries => self.tell_worker(DeliveryCommand::Pause),
            Action::CameraStuck { .. } => {
                let budget = budgets::budgets(&self.config).capture.as_secs();
                let detail = format!(
                    "a capture did not finish within {budget} s: the camera or its driver is stuck \
                     (check the cable and `dmesg`; enrolld reopens it by itself)"
                );
                self.note_fault(Component::Camera, detail);
            }
            Action::RefusePress(why) => reports::refused(&mut self.status, why),
            Action::Ignored { event, state } => {
                log::debug!("{event} ignored in state {}", state.name());
            }
            Action::ShowPattern(pattern) => {
                if let Some(indicator) = &self.indicator {
                    indicator.show(pattern);
                }
            }
            Action::WriteStatus => self.write_status(),
            Action::Exit => self.end_loop(),
        }
    }

    fn bind(&mut self, attempt: u64, who: Who) {
        let from_sensor = self.press_edge.is_some()
            && self.config.trigger.kind == crate::gpio::TriggerKind::Presence;
        self.attempts.insert(
            attempt,
            Context {
                started: Some(Instant::now()),
                from_sensor,
                ..Context::default()
            },
        );
        let template = self.config.terminal.username_template.clone();
        let terminal_id = self.status.terminal_id.clone();
        self.on_store(attempt, Input::Bound, move |s| {
            // Decided on the store's thread, not from the press's snapshot: a ticket given
            // back by the attempt before (its release ran first) goes to this person.
            let source = match &template {
                Some(template) if who != Who::Ticket || s.tickets().pending() == 0 => {
                    NameSource::Template {
                        template,
                        terminal_id: &terminal_id,
                    }
                }
                _ => NameSource::Ticket,
            };
            s.bind(source, &Now::read())
        });
    }

    fn start_capture(&mut self, attempt: u64) {
        self.capture_started();
        let camera = Arc::clone(&self.camera);
        let inputs = self.inputs.clone();
        let max_bytes = self.config.api.max_image_bytes;
        let since = self.press_edge.map(Duration::from_nanos);
        let steady = self.screen_shown();
        tokio::task::spawn_blocking(move || {
            let frames = inputs.clone();
            // Each checked frame for the screen; a full loop drops one rather than wait.
            let mut live = |l| {
                let _ = frames.try_send(Input::Live(attempt, l));
            };
            // The moment a frame passed, the loop hears of it (and asks IDMeta for a
            // verification while the frame is encoded).
            let mut passed = || {
                let _ = inputs.blocking_send(Input::FramePassed(attempt));
            };
            let result = camera.lock().unwrap_or_else(|p| p.into_inner()).shoot(
                max_bytes,
                since,
                steady,
                &mut live,
                &mut passed,
            );
            let _ = inputs.blocking_send(Input::Shot(attempt, result));
        });
    }

    fn create_verification(&mut self, attempt: u64) {
        let api = self.api();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = api.create_verification();
            let _ = inputs.blocking_send(Input::Verification(attempt, result, started.elapsed()));
        });
    }

    /// finalize-verification of a verification the terminal created that no request will use:
    /// IDMeta's API has no cancel, and finalizing closes it (shown incomplete, the registration
    /// missing) instead of leaving it open in the customer's account. Either way the journal
    /// names it.
    fn abandon_verification(&mut self, attempt: u64, verification_id: String) {
        log::info!(
            enrolld_verification_id = verification_id.as_str();
            "enrollment {attempt}: verification {verification_id} will not be used (nothing was \
             sent with it); finalizing it so IDMeta closes it"
        );
        let api = self.api();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            match api.finalize(&verification_id) {
                Ok(f) => log::info!(
                    enrolld_verification_id = verification_id.as_str();
                    "unused verification {verification_id} finalized: {}",
                    f.status_message.as_deref().unwrap_or("(no status message)")
                ),
                Err(o) => log::warn!(
                    enrolld_verification_id = verification_id.as_str();
                    "unused verification {verification_id} could not be finalized ({}): it stays \
                     open, with nothing sent under it, in IDMeta's account",
                    submit::describe(&o)
                ),
            }
            let _ = inputs.blocking_send(Input::Abandoned(attempt));
        });
    }

    fn store_capture(
        &mut self,
        attempt: u64,
        record: u64,
        verification_id: Option<String>,
        to: crate::machine::Destination,
    ) {
        let ctx = self.attempts.entry(attempt).or_default();
        ctx.verification_id = verification_id.clone().or(ctx.verification_id.take());
        let Some(jpeg) = ctx.jpeg.clone() else {
            // Cannot happen: the machine stores only a captured attempt.
            let _ = self
                .inputs
                .try_send(Input::Stored(attempt, Err(StoreStepError::NoCapture)));
            return;
        };
        let (dest, queued) = match to {
            crate::machine::Destination::Send => (StoredAs::Send, false),
            crate::machine::Destination::Queue { not_before } => (
                StoredAs::Queue {
                    not_before: not_before.map(|d| Instant::now() + d),
                },
                true,
            ),
        };
        if queued {
            // The worker sends it later; the live path is done with it.
            ctx.jpeg = None;
        }
        let deliveries = self.deliveries.clone();
        self.on_store(attempt, Input::Stored, move |s| {
            let result = s.store_capture(record, &jpeg, verification_id, dest);
            if queued && result.is_ok() {
                let _ = deliveries.try_send(DeliveryCommand::Wake);
            }
            result
        });
    }

    fn post(&mut self, attempt: u64, verification_id: String) {
        let ctx = self.attempts.entry(attempt).or_default();
        let (Some(jpeg), Some(username)) = (ctx.jpeg.take(), ctx.username.clone()) else {
            let outcome = Outcome::NotSent {
                reason: "nothing to send (internal error)".into(),
            };
            let _ = self
                .inputs
                .try_send(Input::Answered(attempt, outcome, Duration::ZERO));
            return;
        };
        log::info!("enrollment {attempt}: submitting to IDMeta");
        let api = self.api();
        let finalize = self.config.api.finalize;
        let stopping = self.shutdown.clone();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let outcome = submit::register(
                &*api,
                finalize,
                &stopping,
                &jpeg,
                &username,
                &verification_id,
            );
            let _ = inputs.blocking_send(Input::Answered(attempt, outcome, started.elapsed()));
        });
    }

    fn settle(&mut self, attempt: u64, record: u64, fate: Fate) {
        let ctx = self.attempts.entry(attempt).or_default();
        let answer = ctx
            .outcome
            .as_ref()
            .map_or_else(|| "no answer in time".to_owned(), |o| o.code().to_owned());
        let verification_id = ctx.verification_id.clone();
        let sent_fate = match fate {
            Fate::Registered | Fate::AlreadyRegistered | Fate::Failed | Fate::Retake => {
                SentFate::Delete
            }
            Fate::Queued { not_before } => SentFate::Requeue {
                verification_id,
                not_before: not_before.map(|d| Instant::now() + d),
                answer,
            },
            Fate::Paused => SentFate::Requeue {
                verification_id,
                not_before: None,
                answer,
            },
            Fate::Unknown => SentFate::Unknown {
                verification_id,
                reason: answer,
            },
            Fate::RegisteredReview => SentFate::Review {
                verification_id,
                answer: ctx
                    .outcome
                    .as_ref()
                    .map(submit::kept_answer)
                    .unwrap_or_default(),
            },
        };
        let wake = matches!(fate, Fate::Queued { .. });
        let deliveries = self.deliveries.clone();
        self.on_store(attempt, Input::Settled, move |s| {
            let result = s.settle(record, sent_fate).map(drop);
            if wake {
                let _ = deliveries.try_send(DeliveryCommand::Wake);
            }
            result
        });
    }

    /// Runs a store job for an attempt and feeds its result back.
    fn on_store<T, E, F>(
        &self,
        attempt: u64,
        input: fn(u64, Result<T, StoreStepError>) -> Input,
        job: F,
    ) where
        T: Send + 'static,
        E: Into<StoreStepError> + Send + 'static,
        F: FnOnce(&mut crate::store::Store) -> Result<T, E> + Send + 'static,
    {
        // Queued here, in the order the machine asked: a press's binding must find the
        // ticket that the attempt before it gave back.
        let queued = self.store.submit(job);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let result = match queued {
                Ok(answer) => match answer.await {
                    Ok(r) => r.map_err(Into::into),
                    Err(_) => Err(crate::store::StoreGone.into()),
                },
                Err(gone) => Err(gone.into()),
            };
            let _ = inputs.send(input(attempt, result)).await;
        });
    }

    pub fn tell_worker(&self, command: DeliveryCommand) {
        let _ = self.deliveries.try_send(command);
    }

    /// SIGTERM/SIGINT: no new presses; the stop is over when the machine
    /// says so, or when `grace` has passed. Returns when that is.
    pub fn begin_stop(&mut self, why: &str, grace: Duration) -> tokio::time::Instant {
        log::info!(
            "{why}: stopping (no new presses; a request on the wire has up to {} s)",
            grace.as_secs()
        );
        self.notifier.stopping();
        self.handle(Event::Shutdown);
        tokio::time::Instant::now() + grace
    }

    /// The grace ran out with a request still on the wire: it is recorded as
    /// an unknown delivery on the way out (its name is never reused).
    pub fn give_up_waiting(&mut self) {
        if self.machine.busy() {
            log::warn!(
                "stopping: a request is still on the wire; it will be recorded as an unknown \
                 delivery"
            );
        }
        let loose = self.machine.loose_verifications();
        if loose > 0 {
            log::warn!(
                "stopping: {loose} unused verification(s) not finalized in time: they stay open \
                 in IDMeta's account (their ids are in the log above)"
            );
        }
        self.end_loop();
    }

    /// The last status file, LEDs off, done.
    pub async fn finish(mut self) {
        self.refresh_status();
        let status = self.status.clone();
        let mut writer = self.status_file;
        let _ = tokio::task::spawn_blocking(move || writer.flush(&status)).await;
        // Lines off last, on every path out (the real driver also does it on drop).
        if let Some(indicator) = self.indicator.take() {
            indicator.shutdown().await;
        }
        if let Some(display) = self.display.take() {
            display.shutdown().await;
        }
        log::info!("enrolld stopped");
    }
}
