//! One enrollment in progress, from the press to its fate: which of its
//! steps are done, and what follows from each event. Pure, like the rest of
//! the machine.
//!
//! The binding, the capture and the verification run side by side; the
//! capture is stored only once all three are settled, and sent only once it
//! is durable. A name returns to the ticket list (a [`Action::Release`]) only
//! when nothing was sent, or IDMeta asked for a retake.

use std::time::Instant;

use super::conclusion::{Conclusion, Destination, QueuedBecause};
use super::events::stale_name;
use super::fate::{self, Fate};
use super::spare::Spare;
use super::{Action, Budgets, Event, State};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rec {
    Pending,
    Bound(u64),
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Running,
    Done { clock_plausible: bool },
    Failed { fault: bool },
    Retake,
    Nobody,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verif {
    /// Not known until the binding says whether the ticket brought one.
    Undecided,
    Known(String),
    Creating {
        deadline: Instant,
    },
    CreateFailed(Fate),
    /// None now: created by the delivery worker when the entry is sent.
    Later,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Preparing,
    Storing(Destination),
    Posting { deadline: Instant },
    Done,
}

/// What an event did to the attempt, for the machine to carry out.
#[derive(Debug, Default)]
pub(super) struct Step {
    pub actions: Vec<Action>,
    /// The state to show now.
    pub show: Option<State>,
    /// Deliveries must pause (token or URL refused).
    pub pause: bool,
    /// The capture overran its deadline.
    pub camera_stuck: bool,
    pub then: Then,
    /// The event did not apply to the attempt's current step.
    pub ignored: Option<&'static str>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) enum Then {
    /// The attempt still has work to do.
    #[default]
    GoOn,
    /// Its record is being settled; `show_after` once that is done.
    Finishing { show_after: Option<State> },
    /// Over, nothing outstanding.
    Over,
}

#[derive(Debug, Clone)]
pub(super) struct Attempt {
    pub id: u64,
    clock_plausible_at_press: bool,
    capture_deadline: Instant,
    record: Rec,
    capture: Cap,
    verification: Verif,
    /// The verification held is the terminal's own (not a ticket's), so an
    /// unused one can serve the next press.
    own_verification: bool,
    stage: Stage,
    conclusion: Option<Conclusion>,
}

impl Attempt {
    pub fn new(id: u64, clock_plausible: bool, capture_deadline: Instant) -> Attempt {
        Attempt {
            id,
            clock_plausible_at_press: clock_plausible,
            capture_deadline,
            record: Rec::Pending,
            capture: Cap::Running,
            verification: Verif::Undecided,
            own_verification: false,
            stage: Stage::Preparing,
            conclusion: None,
        }
    }

    pub fn conclusion(&self) -> Conclusion {
        self.conclusion.unwrap_or(Conclusion::NotStored)
    }

    /// The earliest moment a step in progress stops being waited for.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Posting { deadline } => Some(*deadline),
            Stage::Preparing => {
                let capture = (self.capture == Cap::Running || self.record == Rec::Pending)
                    .then_some(self.capture_deadline);
                let create = match self.verification {
                    Verif::Creating { deadline } => Some(deadline),
                    _ => None,
                };
                [capture, create].into_iter().flatten().min()
            }
            Stage::Storing(_) | Stage::Done => None,
        }
    }

    /// Applies an event about this attempt.
    pub fn apply(
        &mut self,
        event: Event,
        now: Instant,
        budgets: &Budgets,
        spare: &mut Spare,
        paused: bool,
        stopping: bool,
    ) -> Step {
        let mut step = Step::default();
        match (event, self.stage.clone()) {
            (Event::Bound { result, .. }, Stage::Preparing) if self.record == Rec::Pending => {
                match result {
                    Ok(b) => {
                        self.record = Rec::Bound(b.record);
                        self.decide_verification(
                            b.ticket_verification,
                            now,
                            budgets,
                            spare,
                            paused,
                            stopping,
                            &mut step,
                        );
                    }
                    Err(()) => self.record = Rec::Failed,
                }
            }
            (
                Event::CaptureDone {
                    clock_plausible, ..
                },
                Stage::Preparing,
            ) if self.capture == Cap::Running => {
                self.capture = Cap::Done { clock_plausible };
            }
            (Event::CaptureFailed { fault, .. }, Stage::Preparing)
                if self.capture == Cap::Running =>
            {
                self.capture = Cap::Failed { fault };
            }
            (Event::CaptureRetake { .. }, Stage::Preparing) if self.capture == Cap::Running => {
                self.capture = Cap::Retake;
            }
            (Event::CaptureNobody { .. }, Stage::Preparing) if self.capture == Cap::Running => {
                self.capture = Cap::Nobody;
            }
            (Event::VerificationCreated { result, .. }, _)
                if matches!(self.verification, Verif::Creating { .. }) =>
            {
                self.verification = match result {
                    Ok(v) => Verif::Known(v),
                    Err(outcome) => Verif::CreateFailed(fate::after_failed_create(&outcome)),
                };
                // Stored already without it (stopping, clock): the next press may use it.
                if self.stage != Stage::Preparing
                    && let Verif::Known(v) = std::mem::replace(&mut self.verification, Verif::Later)
                {
                    spare.keep(v, now);
                }
            }
            (Event::Stored { ok, .. }, Stage::Storing(dest)) => {
                return self.stored(ok, dest, now, budgets, stopping);
            }
            (Event::Answered { outcome, .. }, Stage::Posting { .. }) => {
                return self.answered(&outcome);
            }
            (event, _) => {
                step.ignored = Some(stale_name(&event));
                if let Event::VerificationCreated { result: Ok(v), .. } = event {
                    spare.keep(v, now);
                }
                return step;
            }
        }
        let mut next = self.advance(now, spare, paused, stopping);
        step.actions.append(&mut next.actions);
        Step {
            actions: step.actions,
            ..next
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_verification(
        &mut self,
        ticket_verification: Option<String>,
        now: Instant,
        budgets: &Budgets,
        spare: &mut Spare,
        paused: bool,
        stopping: bool,
        step: &mut Step,
    ) {
        if let Some(v) = ticket_verification {
            self.verification = Verif::Known(v);
            return;
        }
        self.own_verification = true;
        self.verification = if let Some(v) = spare.take(now) {
            Verif::Known(v)
        } else if self.clock_plausible_at_press && !paused && !stopping {
            step.actions
                .push(Action::CreateVerification { attempt: self.id });
            Verif::Creating {
                deadline: now + budgets.create,
            }
        } else {
            Verif::Later
        };
    }

    /// Moves on once what the next step needs is there.
    fn advance(&mut self, now: Instant, spare: &mut Spare, paused: bool, stopping: bool) -> Step {
        let mut step = Step::default();
        if self.stage != Stage::Preparing {
            return step;
        }
        if self.record == Rec::Failed {
            if self.capture == Cap::Running {
                self.capture = Cap::Cancelled;
            }
            self.keep_unused_verification(spare, now);
            return self.end(Conclusion::NotStored, Some(State::Failed), Then::Over);
        }
        let record = match (&self.record, self.capture) {
            (_, Cap::Running) | (Rec::Pending, _) => return step,
            (Rec::Bound(r), _) => *r,
            (Rec::Failed, _) => unreachable!("handled above"),
        };
        let (conclusion, show) = match self.capture {
            Cap::Failed { fault: true } => (Conclusion::CameraFault, Some(State::Failed)),
            Cap::Failed { fault: false } => (Conclusion::CaptureFailed, Some(State::Failed)),
            Cap::Retake => (Conclusion::Retake, Some(State::Retake)),
            // Idle stands for wherever the terminal rests (the machine picks idle, paused or
            // fault): no result is shown to someone who only walked past.
            Cap::Nobody => (Conclusion::Nobody, Some(State::Idle)),
            Cap::Cancelled => (Conclusion::Stopped, None),
            Cap::Running => unreachable!("waited for above"),
            Cap::Done { clock_plausible } => {
                return self.store(record, clock_plausible, paused, stopping);
            }
        };
        self.keep_unused_verification(spare, now);
        step = self.end(conclusion, show, Then::Finishing { show_after: None });
        step.actions.push(Action::Release {
            attempt: self.id,
            record,
        });
        step
    }

    /// The capture is in hand and bound to its name: queue it, or make it
    /// durable as sending.
    fn store(&mut self, record: u64, clock_plausible: bool, paused: bool, stopping: bool) -> Step {
        let mut step = Step::default();
        let queue_because = if stopping {
            Some(QueuedBecause::Stopping)
        } else if !clock_plausible {
            Some(QueuedBecause::Clock)
        } else if paused {
            Some(QueuedBecause::Paused)
        } else {
            None
        };
        let known = match &self.verification {
            Verif::Known(v) => Some(v.clone()),
            _ => None,
        };
        let to = match (queue_because, &self.verification) {
            (Some(why), _) => {
                self.conclusion = Some(Conclusion::Queued(why));
                Destination::Queue { not_before: None }
            }
            (None, Verif::Known(_)) => Destination::Send,
            // The capture is done, the person may step away: what remains
            // (the verification, then the request) is submitting.
            (None, Verif::Creating { .. }) => {
                step.show = Some(State::Submitting);
                return step;
            }
            (None, Verif::CreateFailed(fate)) => {
                step.pause = *fate == Fate::Paused;
                self.conclusion = Some(Conclusion::Queued(if step.pause {
                    QueuedBecause::Paused
                } else {
                    QueuedBecause::CreateFailed
                }));
                let not_before = match fate {
                    Fate::Queued { not_before } => *not_before,
                    _ => None,
                };
                Destination::Queue { not_before }
            }
            (None, Verif::Later | Verif::Undecided) => {
                self.conclusion = Some(Conclusion::Queued(QueuedBecause::NoVerification));
                Destination::Queue { not_before: None }
            }
        };
        self.stage = Stage::Storing(to);
        step.show = Some(State::Submitting);
        step.actions.push(Action::Store {
            attempt: self.id,
            record,
            verification_id: known,
            to,
        });
        step
    }

    fn stored(
        &mut self,
        ok: bool,
        dest: Destination,
        now: Instant,
        budgets: &Budgets,
        stopping: bool,
    ) -> Step {
        let Rec::Bound(record) = self.record else {
            unreachable!("stored only once bound")
        };
        if !ok {
            let mut step = self.end(
                Conclusion::NotStored,
                Some(State::Failed),
                Then::Finishing { show_after: None },
            );
            step.actions.push(Action::Release {
                attempt: self.id,
                record,
            });
            return step;
        }
        match (dest, &self.verification) {
            (Destination::Queue { .. }, _) => {
                self.end(self.conclusion(), Some(State::Queued), Then::Over)
            }
            // Durable as sending, but stopping came first: nothing has left
            // the device, so it joins the queue instead.
            (Destination::Send, _) if stopping => {
                let mut step = self.end(
                    Conclusion::Queued(QueuedBecause::Stopping),
                    None,
                    Then::Finishing { show_after: None },
                );
                step.actions.push(Action::Settle {
                    attempt: self.id,
                    record,
                    fate: Fate::Queued { not_before: None },
                });
                step
            }
            (Destination::Send, Verif::Known(v)) => {
                self.stage = Stage::Posting {
                    deadline: now + budgets.submit,
                };
                Step {
                    actions: vec![Action::Post {
                        attempt: self.id,
                        record,
                        verification_id: v.clone(),
                    }],
                    ..Step::default()
                }
            }
            (Destination::Send, _) => unreachable!("sent only with a verification id"),
        }
    }

    fn answered(&mut self, outcome: &crate::api::Outcome) -> Step {
        self.settle_sent(fate::live(outcome), false)
    }

    fn settle_sent(&mut self, fate: Fate, deadline_passed: bool) -> Step {
        let Rec::Bound(record) = self.record else {
            unreachable!("sent only once bound")
        };
        let conclusion = Conclusion::Sent {
            fate,
            deadline_passed,
        };
        let (show, show_after, action) = match fate {
            Fate::Retake => (
                Some(State::Retake),
                None,
                Action::Release {
                    attempt: self.id,
                    record,
                },
            ),
            Fate::Queued { .. } | Fate::Paused => (
                None,
                Some(State::Queued),
                Action::Settle {
                    attempt: self.id,
                    record,
                    fate,
                },
            ),
            Fate::Registered => (
                Some(State::Registered),
                None,
                Action::Settle {
                    attempt: self.id,
                    record,
                    fate,
                },
            ),
            // Shown as `Registered` unless the operator turned `see_reception` on (the
            // machine decides, see `Machine::carry_out`).
            Fate::RegisteredReview => (
                Some(State::SeeReception),
                None,
                Action::Settle {
                    attempt: self.id,
                    record,
                    fate,
                },
            ),
            Fate::AlreadyRegistered => (
                Some(State::AlreadyRegistered),
                None,
                Action::Settle {
                    attempt: self.id,
                    record,
                    fate,
                },
            ),
            Fate::Failed | Fate::Unknown => (
                Some(State::Failed),
                None,
                Action::Settle {
                    attempt: self.id,
                    record,
                    fate,
                },
            ),
        };
        let mut step = self.end(conclusion, show, Then::Finishing { show_after });
        step.pause = fate == Fate::Paused;
        step.actions.push(action);
        step
    }

    /// Shutdown: a capture in progress is abandoned (nothing was sent, so
    /// its name is released); a request on the wire is waited for.
    pub fn stop(&mut self, now: Instant, spare: &mut Spare) -> Step {
        if self.stage == Stage::Preparing && self.capture == Cap::Running {
            self.capture = Cap::Cancelled;
        }
        self.advance(now, spare, false, true)
    }

    /// A step overran its budget.
    pub fn deadline_passed(
        &mut self,
        now: Instant,
        spare: &mut Spare,
        paused: bool,
        stopping: bool,
    ) -> Step {
        if let Stage::Posting { deadline } = self.stage
            && now >= deadline
        {
            let mut step = self.settle_sent(Fate::Unknown, true);
            step.then = Then::Finishing { show_after: None };
            return step;
        }
        let mut camera_stuck = false;
        if now >= self.capture_deadline {
            if self.capture == Cap::Running {
                self.capture = Cap::Failed { fault: true };
                camera_stuck = true;
            }
            if self.record == Rec::Pending {
                // The disk did not answer: a binding that lands later is
                // released as stale.
                self.record = Rec::Failed;
            }
        }
        if let Verif::Creating { deadline } = self.verification
            && now >= deadline
        {
            self.verification = Verif::CreateFailed(Fate::Queued { not_before: None });
        }
        let mut step = self.advance(now, spare, paused, stopping);
        step.camera_stuck = camera_stuck;
        step
    }

    /// An own verification that no request used goes to the next press.
    fn keep_unused_verification(&mut self, spare: &mut Spare, now: Instant) {
        if self.own_verification
            && let Verif::Known(v) = std::mem::replace(&mut self.verification, Verif::Later)
        {
            spare.keep(v, now);
        }
    }

    fn end(&mut self, conclusion: Conclusion, show: Option<State>, then: Then) -> Step {
        self.stage = Stage::Done;
        self.conclusion = Some(conclusion);
        Step {
            show,
            then,
            ..Step::default()
        }
    }
}
