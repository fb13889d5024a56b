//! What comes back into the loop, turned into machine events (and the
//! control socket's commands, answered here).

use tokio::sync::oneshot;

use super::delivery::{Command as DeliveryCommand, Report};
use super::messages::Input;
use super::ports::{Press, Shot, ShotError};
use super::reports;
use super::state::Daemon;
use crate::control::{Command, DisplayCommand, QueueCommand, Reply};
use crate::machine::{Action, Bound, Component, Event, Refusal, State};
use crate::queue::{EntryId, Now};
use crate::tickets::Pushed;

impl Daemon {
    pub fn input(&mut self, input: Input) {
        match input {
            Input::Control(command, reply) => self.control(command, reply),
            Input::FramePassed(attempt) => drop(self.handle(Event::FramePassed { attempt })),
            Input::Shot(attempt, result) => self.shot(attempt, result),
            Input::Bound(attempt, result) => {
                let result = match result {
                    Ok(b) => {
                        log::info!(
                            enrolld_username = b.username.as_str();
                            "enrollment {attempt} for {}: capturing{}",
                            b.username,
                            if b.from_ticket { " (ticket)" } else { "" }
                        );
                        let ctx = self.attempts.entry(attempt).or_default();
                        ctx.username = Some(b.username.clone());
                        ctx.verification_id = b.ticket_verification.clone();
                        ctx.transaction = b.transaction.clone();
                        Ok(Bound {
                            record: b.record,
                            ticket_verification: b.ticket_verification,
                        })
                    }
                    Err(e) => {
                        log::error!("enrollment {attempt}: could not record who it is for: {e}");
                        self.attempts.entry(attempt).or_default().problem = Some(e.to_string());
                        Err(())
                    }
                };
                self.handle(Event::Bound { attempt, result });
            }
            Input::Verification(attempt, result, took) => {
                // The attempt may be over (the machine then finalizes what was created); the
                // id an enrollment goes out with is the one its store step is given.
                if let Some(ctx) = self.attempts.get_mut(&attempt) {
                    ctx.stage("create_verification", took);
                }
                self.handle(Event::VerificationCreated { attempt, result });
            }
            Input::Abandoned(attempt) => drop(self.handle(Event::Abandoned { attempt })),
            Input::Stored(attempt, result) => {
                if let Err(e) = &result {
                    log::error!("enrollment {attempt}: could not be stored: {e}");
                    self.attempts.entry(attempt).or_default().problem = Some(e.to_string());
                }
                self.handle(Event::Stored {
                    attempt,
                    ok: result.is_ok(),
                });
            }
            Input::Answered(attempt, outcome, took) => {
                let ctx = self.attempts.entry(attempt).or_default();
                ctx.stage("register", took);
                ctx.outcome = Some(outcome.clone());
                self.handle(Event::Answered { attempt, outcome });
            }
            Input::Settled(attempt, result) => {
                if let Err(e) = result {
                    log::error!(
                        "enrollment {attempt}: its record could not be updated ({e}); \
                         `enrolld queue list` shows what is left"
                    );
                }
                self.releasing.remove(&attempt);
                self.handle(Event::Settled { attempt });
            }
            Input::Delivery(report) => {
                let event = match &report {
                    Report::Paused { .. } => Some(Event::DeliveriesPaused),
                    Report::Resumed { .. } => Some(Event::DeliveriesResumed),
                    _ => None,
                };
                reports::delivery(&report, &mut self.status);
                match event {
                    Some(e) => drop(self.handle(e)),
                    None => self.write_status(),
                }
            }
            Input::CameraRecovery(result) => self.camera_recovered(result),
            Input::Live(attempt, live) => self.live(attempt, live),
            Input::PreviewEnded(result) => self.preview_ended(result),
            Input::Reloaded(result) => self.reloaded(*result),
            Input::StoreChanged => self.write_status(),
        }
    }

    fn shot(&mut self, attempt: u64, result: Result<Shot, ShotError>) {
        let event = match result {
            Ok(shot) => {
                self.faces_checked(shot.face_checks);
                let ctx = self.attempts.entry(attempt).or_default();
                ctx.stages_ms.extend(shot.timings.stages_ms());
                ctx.jpeg = Some(shot.jpeg);
                let clock_plausible = crate::time::wall_clock_plausible(crate::time::unix_now());
                if !clock_plausible {
                    log::warn!("{}", crate::time::CLOCK_NOT_SET);
                }
                Event::CaptureDone {
                    attempt,
                    clock_plausible,
                }
            }
            Err(ShotError::NoFace {
                reason,
                checked,
                detail,
            }) => {
                self.faces_checked(checked);
                let ctx = self.attempts.entry(attempt).or_default();
                ctx.face_reason = Some(reason);
                ctx.problem = Some(detail);
                if ctx.from_sensor {
                    Event::CaptureNobody { attempt }
                } else {
                    Event::CaptureRetake { attempt }
                }
            }
            Err(ShotError::Retake(why)) => {
                self.attempts.entry(attempt).or_default().problem = Some(format!("retake: {why}"));
                Event::CaptureRetake { attempt }
            }
            Err(ShotError::Failed(why)) => {
                log::error!("capture failed: {why}");
                self.attempts.entry(attempt).or_default().problem = Some(why);
                Event::CaptureFailed {
                    attempt,
                    fault: false,
                }
            }
            Err(ShotError::Fault(why)) => {
                log::error!("camera fault: {why}");
                self.attempts.entry(attempt).or_default().problem = Some(why.clone());
                self.raise_fault(Component::Camera, why);
                Event::CaptureFailed {
                    attempt,
                    fault: true,
                }
            }
        };
        self.handle(event);
    }

    fn faces_checked(&mut self, frames: u32) {
        if let Some(face) = self.status.face.as_mut() {
            face.frames_checked += u64::from(frames);
        }
    }

    fn control(&mut self, command: Command, reply: oneshot::Sender<Reply>) {
        match command {
            Command::Enroll(ticket) => {
                let name = ticket.username.clone();
                self.answer_from_store(reply, move |s| match s.push_ticket(ticket) {
                    Ok(Pushed::Queued(pending)) => {
                        log::info!(enrolld_username = name.as_str(); "ticket queued for {name} ({pending} pending)");
                        Reply::ok().with("position", pending)
                    }
                    // A request delivered twice: the first one queued the person.
                    Ok(Pushed::Repeated) => {
                        log::info!("ticket request repeated (same transaction): not queued again");
                        Reply::ok().with("repeated", true)
                    }
                    Err(e) => Reply::error(e.to_string()),
                });
            }
            Command::Trigger => {
                let actions = self.press(Press::injected());
                let _ = reply.send(reply_to_trigger(&actions, self.machine.state()));
            }
            Command::Status => {
                self.refresh_status();
                let _ = reply.send(Reply::ok().with("status", &self.status));
            }
            Command::Queue(QueueCommand::List) => {
                self.answer_from_store(reply, |s| {
                    Reply::ok().with("records", s.queue().list(&Now::read()))
                });
            }
            Command::Queue(QueueCommand::Resend(id)) => {
                let deliveries = self.deliveries.clone();
                self.answer_from_store(reply, move |s| match s.queue_mut().resend(EntryId(id)) {
                    Ok(()) => {
                        log::warn!(
                            "queue entry #{id}: resent by an operator (a duplicate is possible)"
                        );
                        let _ = deliveries.try_send(DeliveryCommand::Wake);
                        Reply::ok()
                    }
                    Err(e) => Reply::error(e.to_string()),
                });
            }
            Command::Queue(QueueCommand::Drop(id)) => {
                self.answer_from_store(reply, move |s| match s.queue_mut().drop_record(EntryId(id)) {
                    Ok(username) => {
                        log::warn!(enrolld_username = username.as_str(); "queue entry #{id} for {username}: dropped by an operator");
                        Reply::ok().with("username", username)
                    }
                    Err(e) => Reply::error(e.to_string()),
                });
            }
            Command::Watch => {
                let _ = reply.send(Reply::error("watch is served on the control socket only"));
            }
            Command::Display(command) => {
                match command {
                    DisplayCommand::Wake => self.wake_display(),
                    DisplayCommand::Setup => self.set_setup_view(true),
                    DisplayCommand::Normal => self.set_setup_view(false),
                }
                self.refresh_status();
                let answer = Reply::ok()
                    .with("setup_view", self.screen.setup_until.is_some())
                    .with("display", &self.status.display);
                let _ = reply.send(answer);
            }
            Command::Queue(QueueCommand::Resume) => {
                log::info!("deliveries resumed by an operator");
                self.tell_worker(DeliveryCommand::Resume);
                let _ = reply.send(Reply::ok().with("paused", self.machine.paused()));
            }
        }
    }

    /// Answers a control command from a store job, off the loop.
    fn answer_from_store<F>(&self, reply: oneshot::Sender<Reply>, job: F)
    where
        F: FnOnce(&mut crate::store::Store) -> Reply + Send + 'static,
    {
        let store = self.store.clone();
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let answer = store
                .run(job)
                .await
                .unwrap_or_else(|gone| Reply::error(gone.to_string()));
            // The status file follows at once, not at the next tick.
            let _ = inputs.send(Input::StoreChanged).await;
            let _ = reply.send(answer);
        });
    }
}

/// What the control socket's `trigger` reports back.
fn reply_to_trigger(actions: &[Action], state: State) -> Reply {
    for a in actions {
        match a {
            Action::Bind { attempt, .. } => {
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
