//! One enrollment in progress, from the press to its fate: which of its
//! steps are done, and what follows from each event. Pure, like the rest of
//! the machine.
//!
//! The binding and the capture start together; the terminal's own
//! verification is created only once a frame passed (the face check, or
//! without it the burst's chosen frame), alongside the JPEG's encoding, so a
//! press in which no frame passed asks nothing of IDMeta. The capture is
//! stored only once all three are settled, with the verification it goes out
//! with, and sent only once it is durable. A name returns to the ticket list
//! (a [`Action::Release`]) only when nothing was sent, or IDMeta asked for a
//! retake; an own verification that no request will use is handed back to
//! the machine, which finalizes it ([`Step::unused`]).

use std::time::Instant;

use super::conclusion::{Conclusion, Destination, QueuedBecause};
use super::events::stale_name;
use super::fate::{self, Fate};
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
    /// The terminal's own, asked for once a frame passed.
    Wanted,
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
    /// An own verification that no request will use: the machine finalizes it.
    pub unused: Option<String>,
    /// An own create-verification is still on the wire and the attempt no longer waits for
    /// it: the machine finalizes what it returns.
    pub orphaned_create: bool,
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
    /// A frame passed (reported before its JPEG is ready, or with it): the terminal may now
    /// ask IDMeta for a verification.
    frame_passed: bool,
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
            frame_passed: false,
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
        paused: bool,
        stopping: bool,
    ) -> Step {
        let mut step = Step::default();
        match (event, self.stage.clone()) {
            (Event::Bound { result, .. }, Stage::Preparing) if self.record == Rec::Pending => {
                match result {
                    Ok(b) => {
                        self.record = Rec::Bound(b.record);
                        self.decide_verification(b.ticket_verification);
                    }
                    Err(()) => self.record = Rec::Failed,
                }
            }
            (Event::FramePassed { .. }, Stage::Preparing) if self.capture == Cap::Running => {
                self.frame_passed = true;
            }
            (
                Event::CaptureDone {
                    clock_plausible, ..
                },
                Stage::Preparing,
            ) if self.capture == Cap::Running => {
                self.capture = Cap::Done { clock_plausible };
                self.frame_passed = true;
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
            }
            (Event::Stored { ok, .. }, Stage::Storing(dest)) => {
                return self.stored(ok, dest, now, budgets, stopping);
            }
            (Event::Answered { outcome, .. }, Stage::Posting { .. }) => {
                return self.answered(&outcome);
            }
            (event, _) => {
                // (A created verification the attempt no longer waits for is the machine's:
                // it knows the create as orphaned and never hands its answer here.)
                step.ignored = Some(stale_name(&event));
                return step;
            }
        }
        self.create_if_due(now, budgets, paused, stopping, &mut step);
        let mut next = self.advance(paused, stopping);
        step.actions.append(&mut next.actions);
        Step {
            actions: step.actions,
            ..next
        }
    }

    /// A ticket's verification is used as it came; otherwise the terminal makes its own, once
    /// a frame passed.
    fn decide_verification(&mut self, ticket_verification: Option<String>) {
        self.verification = match ticket_verification {
            Some(v) => Verif::Known(v),
            None => {
                self.own_verification = true;
                Verif::Wanted
            }
        };
    }

    /// create-verification, the moment both the binding (no ticket's verification) and a
    /// passing frame are there: its round trip overlaps the JPEG's encoding, and a press in
    /// which no frame passed never reaches IDMeta. Not while the request could not be sent
    /// (clock, pause, stopping): the delivery worker creates it when it sends the entry.
    fn create_if_due(
        &mut self,
        now: Instant,
        budgets: &Budgets,
        paused: bool,
        stopping: bool,
        step: &mut Step,
    ) {
        let capture_alive = matches!(self.capture, Cap::Running | Cap::Done { .. });
        if !(self.frame_passed && capture_alive && self.verification == Verif::Wanted) {
            return;
        }
        self.verification = if self.clock_plausible_at_press && !paused && !stopping {
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
    fn advance(&mut self, paused: bool, stopping: bool) -> Step {
        let mut step = Step::default();
        if self.stage != Stage::Preparing {
            return step;
        }
        if self.record == Rec::Failed {
            if self.capture == Cap::Running {
                self.capture = Cap::Cancelled;
            }
            let mut step = self.end(Conclusion::NotStored, Some(State::Failed), Then::Over);
            self.let_go_of_verification(&mut step);
            return step;
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
        step = self.end(conclusion, show, Then::Finishing { show_after: None });
        self.let_go_of_verification(&mut step);
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
            // The capture is done, the person may step away: what remains (the
            // verification, then the request) is submitting. Waited for also when the
            // capture goes to the queue (stopping, a pause meanwhile): stored with it, the
            // verification is used when the entry is sent, never left unused.
            (_, Verif::Creating { .. }) => {
                step.show = Some(State::Submitting);
                return step;
            }
            (Some(why), _) => {
                self.conclusion = Some(Conclusion::Queued(why));
                Destination::Queue { not_before: None }
            }
            (None, Verif::Known(_)) => Destination::Send,
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
            (None, Verif::Later | Verif::Undecided | Verif::Wanted) => {
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
            self.let_go_of_verification(&mut step);
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
    pub fn stop(&mut self) -> Step {
        if self.stage == Stage::Preparing && self.capture == Cap::Running {
            self.capture = Cap::Cancelled;
        }
        self.advance(false, true)
    }

    /// A step overran its budget.
    pub fn deadline_passed(&mut self, now: Instant, paused: bool, stopping: bool) -> Step {
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
        let mut orphaned_create = false;
        if let Verif::Creating { deadline } = self.verification
            && now >= deadline
        {
            // Queued without it; should it come after all, the machine finalizes it.
            self.verification = Verif::CreateFailed(Fate::Queued { not_before: None });
            orphaned_create = true;
        }
        let mut step = self.advance(paused, stopping);
        step.camera_stuck = camera_stuck;
        step.orphaned_create |= orphaned_create;
        step
    }

    /// The attempt ends without its own verification going out with a request: one in hand
    /// is handed to the machine to finalize, one still being created is left to it.
    fn let_go_of_verification(&mut self, step: &mut Step) {
        if !self.own_verification {
            return;
        }
        match std::mem::replace(&mut self.verification, Verif::Later) {
            Verif::Known(v) => step.unused = Some(v),
            Verif::Creating { .. } => step.orphaned_create = true,
            other => self.verification = other,
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
