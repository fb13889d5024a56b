//! The terminal's decisions: what to do next, given the current state, an
//! event and the monotonic time. No I/O, no async, no hardware: the daemon
//! feeds it events and carries out the [`Action`]s it returns, which is why
//! every decision can be tested as a table (see the tests).
//!
//! Two things are tracked separately on purpose:
//! - the **state** is what the person at the wall sees (LED, status file);
//! - the **attempt** is the enrollment in progress and what it still needs
//!   (a binding, a capture, a verification, a write, a request, a settle;
//!   see [`attempt`]). A shutdown or a fault changes the state at once, but
//!   a request already on the wire is still answered and settled, so nothing
//!   accepted is lost.
//!
//! One enrollment's life, as the actions that carry it out:
//!
//! ```text
//! Press ─► Bind (name + durable record) ┬► StartCapture ─────────────┐
//!                                      └► CreateVerification (or the spare)
//!        ─► Store (capture durable: sending, or queued) ─► Post ─► Settle by fate
//!        nothing sent (failed capture, retake, not stored, stopped) ─► Release
//! ```
//!
//! Each capture gets an attempt number; events about another attempt (late
//! answers of a cancelled capture) are ignored rather than misapplied.

mod attempt;
pub mod fate;
mod spare;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use attempt::{Conclusion, Destination, QueuedBecause};
pub use fate::{Fate, QueueFate};
pub use spare::SPARE_MAX_AGE;

use crate::api::Outcome;
use attempt::Attempt;

/// What the terminal is doing, as shown on the LED and in the status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Drivers coming up; presses are ignored.
    Starting,
    Idle,
    Capturing,
    /// Sending to IDMeta, or storing in the offline queue.
    Submitting,
    // Result states: shown for the result hold, then back to rest.
    Registered,
    AlreadyRegistered,
    Retake,
    Failed,
    Queued,
    /// A press with no ticket and no username template.
    Refused,
    /// Camera or GPIO broken; clears by itself when the drivers recover.
    Fault,
    /// Idle, but IDMeta refused the token or the URL: deliveries are paused
    /// (presses are still taken and queued) until the configuration is fixed.
    Paused,
    /// SIGTERM received: no new work, outstanding work is finished.
    Stopping,
}

impl State {
    pub const ALL: [State; 13] = [
        State::Starting,
        State::Idle,
        State::Capturing,
        State::Submitting,
        State::Registered,
        State::AlreadyRegistered,
        State::Retake,
        State::Failed,
        State::Queued,
        State::Refused,
        State::Fault,
        State::Paused,
        State::Stopping,
    ];

    /// Stable name used in the status file and logs.
    pub fn name(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Idle => "idle",
            State::Capturing => "capturing",
            State::Submitting => "submitting",
            State::Registered => "registered",
            State::AlreadyRegistered => "already_registered",
            State::Retake => "retake",
            State::Failed => "failed",
            State::Queued => "queued",
            State::Refused => "refused",
            State::Fault => "fault",
            State::Paused => "paused",
            State::Stopping => "stopping",
        }
    }

    /// Result states are shown for a while, and a new press may start over.
    pub fn is_result(self) -> bool {
        matches!(
            self,
            State::Registered
                | State::AlreadyRegistered
                | State::Retake
                | State::Failed
                | State::Queued
                | State::Refused
        )
    }

    /// States in which a press starts an enrollment.
    fn takes_presses(self) -> bool {
        self.is_result() || matches!(self, State::Idle | State::Paused)
    }

    /// The LED pattern that shows this state (docs/operations.md).
    pub fn pattern(self) -> Pattern {
        match self {
            State::Starting | State::Idle | State::Stopping => Pattern::Off,
            State::Capturing | State::Submitting => Pattern::Busy,
            State::Registered | State::AlreadyRegistered => Pattern::Success,
            State::Retake => Pattern::Retake,
            State::Failed => Pattern::Failed,
            State::Queued => Pattern::Queued,
            State::Refused => Pattern::Refused,
            State::Fault | State::Paused => Pattern::Fault,
        }
    }
}

/// The LED patterns (a leaf type shared with the LED drivers).
pub use crate::led::Pattern;

/// Who a press enrolls, as far as the daemon knows when it delivers the
/// press. The ticket itself is taken only when the machine answers with
/// [`Action::Bind`], so a press that is ignored never consumes a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A ticket is pending.
    Ticket,
    /// No ticket, but `terminal.username_template` is configured.
    Template,
    /// Neither: the press is refused.
    Nobody,
}

/// A broken driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Camera,
    Gpio,
}

/// What the durable binding of a press produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The record's sequence number.
    pub record: u64,
    /// The verification id the ticket brought, if any.
    pub ticket_verification: Option<String>,
}

/// How long each step may take before the machine stops waiting for it;
/// derived from the configuration (see `daemon::budgets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// How long a result state is shown.
    pub result_hold: Duration,
    /// Warm-up and burst frames times the dequeue timeout, plus margin.
    pub capture: Duration,
    /// One create-verification call.
    pub create: Duration,
    /// The registration (and finalize, when configured).
    pub submit: Duration,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Configuration, GPIO and camera are up (or their faults are known).
    Ready,
    /// A press; `clock_plausible` is false while the wall clock is before
    /// the build date (TLS would fail: the enrollment is queued).
    Press {
        who: Who,
        clock_plausible: bool,
    },
    /// The binding of the attempt's name is durable, or failed (`Err`: the
    /// disk refused it; nothing was taken).
    Bound {
        attempt: u64,
        result: Result<Bound, ()>,
    },
    /// A JPEG is ready.
    CaptureDone {
        attempt: u64,
        clock_plausible: bool,
    },
    /// The camera gave no usable frame; `fault` when the camera is broken.
    CaptureFailed {
        attempt: u64,
        fault: bool,
    },
    /// Frames came but the face is not usable (too dark, blurred).
    CaptureRetake {
        attempt: u64,
    },
    /// The early create-verification finished.
    VerificationCreated {
        attempt: u64,
        result: Result<String, Outcome>,
    },
    /// The capture was written as asked by [`Action::Store`], or not.
    Stored {
        attempt: u64,
        ok: bool,
    },
    /// IDMeta answered the registration (or the client gave up).
    Answered {
        attempt: u64,
        outcome: Outcome,
    },
    /// [`Action::Settle`] or [`Action::Release`] is done on disk.
    Settled {
        attempt: u64,
    },
    /// The delivery worker found the token or URL refused.
    DeliveriesPaused,
    /// A reload, `enrolld queue resume` or a probe ended the pause.
    DeliveriesResumed,
    FaultRaised(Component),
    FaultCleared(Component),
    /// The daemon's timer for [`Machine::deadline`] fired.
    TimerExpired,
    Shutdown,
}

/// Why a press was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No pending ticket and no username template.
    NobodyToEnroll,
    /// The camera or GPIO is broken.
    Fault,
}

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bind a name to this attempt: take the front ticket or render the
    /// template, and make the binding durable; report [`Event::Bound`].
    Bind {
        attempt: u64,
        who: Who,
    },
    /// Capture; report [`Event::CaptureDone`] (or failed, or retake).
    StartCapture {
        attempt: u64,
    },
    /// create-verification; report [`Event::VerificationCreated`].
    CreateVerification {
        attempt: u64,
    },
    /// Make the capture durable (as sending, or queued) with this
    /// verification id; report [`Event::Stored`].
    Store {
        attempt: u64,
        record: u64,
        verification_id: Option<String>,
        to: Destination,
    },
    /// Send the registration; report [`Event::Answered`].
    Post {
        attempt: u64,
        record: u64,
        verification_id: String,
    },
    /// Apply the answer's fate to the record; report [`Event::Settled`].
    Settle {
        attempt: u64,
        record: u64,
        fate: Fate,
    },
    /// Nothing was registered: the ticket (if any) back to the front, the
    /// record deleted; report [`Event::Settled`].
    Release {
        attempt: u64,
        record: u64,
    },
    /// The enrollment is over: log it, count it, show it in the status file.
    Concluded {
        attempt: u64,
        conclusion: Conclusion,
    },
    /// The token or URL was refused: the delivery worker must pause.
    PauseDeliveries,
    /// A capture overran its deadline: the camera is at fault.
    CameraStuck {
        attempt: u64,
    },
    RefusePress(Refusal),
    /// The event meant nothing in this state; log at debug.
    Ignored {
        event: &'static str,
        state: State,
    },
    ShowPattern(Pattern),
    /// The state changed: rewrite the status file.
    WriteStatus,
    /// Stopping and nothing outstanding: the daemon may exit.
    Exit,
}

/// The terminal's state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    state: State,
    since: Instant,
    /// When a result state ends.
    until: Option<Instant>,
    budgets: Budgets,
    attempt: u64,
    current: Option<Attempt>,
    /// Attempts whose fate is being written; the state to show once written
    /// (queued) when nothing else was shown since.
    finishing: Vec<(u64, Option<State>)>,
    spare: spare::Spare,
    camera_fault: bool,
    gpio_fault: bool,
    paused: bool,
}

impl Machine {
    /// A machine in `Starting`.
    pub fn new(now: Instant, budgets: Budgets) -> Self {
        Machine {
            state: State::Starting,
            since: now,
            until: None,
            budgets,
            attempt: 0,
            current: None,
            finishing: Vec::new(),
            spare: spare::Spare::default(),
            camera_fault: false,
            gpio_fault: false,
            paused: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Monotonic time of the last state change.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// When the daemon should deliver [`Event::TimerExpired`], if at all:
    /// the end of a result state or the deadline of a step in progress.
    pub fn deadline(&self) -> Option<Instant> {
        let step = self.current.as_ref().and_then(Attempt::deadline);
        [self.until, step].into_iter().flatten().min()
    }

    /// The number of the latest attempt.
    pub fn attempt(&self) -> u64 {
        self.attempt
    }

    /// Whether deliveries are paused (token or URL refused).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Whether a step is waiting for a reply (for tests and the watchdog).
    pub fn busy(&self) -> bool {
        self.current.is_some() || !self.finishing.is_empty()
    }

    /// A reload may have changed the template the spare was created for.
    pub fn forget_spare(&mut self) {
        self.spare.clear();
    }

    fn blocked(&self) -> bool {
        self.camera_fault || self.gpio_fault
    }

    /// Where the terminal rests when nothing is shown.
    fn rest(&self) -> State {
        if self.blocked() {
            State::Fault
        } else if self.paused {
            State::Paused
        } else {
            State::Idle
        }
    }

    /// Handles one event at monotonic time `now`.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Ready if self.state == State::Starting => {
                let rest = self.rest();
                self.go(rest, now, &mut out);
            }
            Event::Ready => self.ignore("ready", &mut out),
            Event::Press {
                who,
                clock_plausible,
            } => self.on_press(who, clock_plausible, now, &mut out),
            Event::Settled { attempt } => self.on_settled(attempt, now, &mut out),
            Event::DeliveriesPaused => self.set_paused(true, now, &mut out),
            Event::DeliveriesResumed => self.set_paused(false, now, &mut out),
            Event::FaultRaised(c) => self.on_fault(c, true, now, &mut out),
            Event::FaultCleared(c) => self.on_fault(c, false, now, &mut out),
            Event::TimerExpired => self.on_timer(now, &mut out),
            Event::Shutdown => self.on_shutdown(now, &mut out),
            attempt_event => self.on_attempt_event(attempt_event, now, &mut out),
        }
        out
    }

    fn on_press(&mut self, who: Who, clock_plausible: bool, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Fault {
            return out.push(Action::RefusePress(Refusal::Fault));
        }
        if !self.state.takes_presses() || self.current.is_some() {
            return self.ignore("press while busy", out);
        }
        if who == Who::Nobody {
            out.push(Action::RefusePress(Refusal::NobodyToEnroll));
            return self.go(State::Refused, now, out);
        }
        self.attempt += 1;
        let attempt = self.attempt;
        self.current = Some(Attempt::new(
            attempt,
            clock_plausible,
            now + self.budgets.capture,
        ));
        out.push(Action::Bind { attempt, who });
        out.push(Action::StartCapture { attempt });
        self.go(State::Capturing, now, out);
    }

    /// Events about the attempt in progress; stale ones are ignored.
    fn on_attempt_event(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        let id = attempt::event_attempt(&event);
        if self.current.as_ref().is_none_or(|a| Some(a.id) != id) {
            let name = attempt::stale_name(&event);
            match event {
                // A verification created for an attempt that is over: the
                // next press may use it.
                Event::VerificationCreated { result: Ok(v), .. } => self.spare.keep(v, now),
                // A binding that landed after its attempt gave up on it:
                // nothing was sent under that name, so it is released.
                Event::Bound {
                    attempt,
                    result: Ok(b),
                } => {
                    out.push(Action::Release {
                        attempt,
                        record: b.record,
                    });
                    self.finishing.push((attempt, None));
                    return;
                }
                _ => {}
            }
            return self.ignore(name, out);
        }
        let mut a = self.current.take().expect("checked above");
        let stopping = self.state == State::Stopping;
        let step = a.apply(
            event,
            now,
            &self.budgets,
            &mut self.spare,
            self.paused,
            stopping,
        );
        self.carry_out(a, step, now, out);
    }

    /// Applies what an attempt's step produced: actions, what to show, and
    /// whether the attempt goes on, is being settled, or is over.
    fn carry_out(&mut self, a: Attempt, step: attempt::Step, now: Instant, out: &mut Vec<Action>) {
        let stopping = self.state == State::Stopping;
        if let Some(event) = step.ignored {
            self.ignore(event, out);
        }
        if step.pause {
            self.paused = true;
            out.push(Action::PauseDeliveries);
        }
        if step.camera_stuck {
            self.camera_fault = true;
            out.push(Action::CameraStuck { attempt: a.id });
        }
        out.extend(step.actions);
        if let Some(show) = step.show
            && !stopping
        {
            let show = if show == State::Failed && self.camera_fault {
                State::Fault
            } else {
                show
            };
            self.go(show, now, out);
        }
        match step.then {
            attempt::Then::GoOn => self.current = Some(a),
            attempt::Then::Finishing { show_after } => {
                out.push(Action::Concluded {
                    attempt: a.id,
                    conclusion: a.conclusion(),
                });
                self.finishing.push((a.id, show_after));
            }
            attempt::Then::Over => out.push(Action::Concluded {
                attempt: a.id,
                conclusion: a.conclusion(),
            }),
        }
        self.exit_if_done(out);
    }

    fn on_settled(&mut self, attempt: u64, now: Instant, out: &mut Vec<Action>) {
        let Some(pos) = self.finishing.iter().position(|(id, _)| *id == attempt) else {
            return self.ignore("stale settled", out);
        };
        let (_, show_after) = self.finishing.remove(pos);
        // Shown only if nothing newer has been shown meanwhile.
        if let Some(show) = show_after
            && self.current.is_none()
            && self.state == State::Submitting
        {
            self.go(show, now, out);
        }
        self.exit_if_done(out);
    }

    fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(a) = self.current.take() {
            if a.deadline().is_some_and(|d| now >= d) {
                let stopping = self.state == State::Stopping;
                let mut a = a;
                let step = a.deadline_passed(now, &mut self.spare, self.paused, stopping);
                return self.carry_out(a, step, now, out);
            }
            self.current = Some(a);
        }
        match self.until {
            Some(until) if self.state.is_result() && now >= until => {
                let rest = self.rest();
                self.go(rest, now, out);
            }
            _ => self.ignore("timer", out),
        }
    }

    fn set_paused(&mut self, paused: bool, now: Instant, out: &mut Vec<Action>) {
        if self.paused == paused {
            return self.ignore("pause unchanged", out);
        }
        self.paused = paused;
        out.push(Action::WriteStatus);
        if matches!(self.state, State::Idle | State::Paused) {
            let rest = self.rest();
            self.go(rest, now, out);
        }
    }

    fn on_fault(&mut self, c: Component, raised: bool, now: Instant, out: &mut Vec<Action>) {
        match c {
            Component::Camera => self.camera_fault = raised,
            Component::Gpio => self.gpio_fault = raised,
        }
        out.push(Action::WriteStatus);
        match self.state {
            // Work in progress finishes first (a broken camera makes the
            // capture fail by itself); the fault shows afterwards.
            State::Starting | State::Capturing | State::Submitting | State::Stopping => {}
            State::Fault | State::Idle | State::Paused => {
                let rest = self.rest();
                if rest != self.state {
                    self.go(rest, now, out);
                }
            }
            _ if raised => self.go(State::Fault, now, out),
            _ => {}
        }
    }

    fn on_shutdown(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Stopping {
            return self.ignore("shutdown while stopping", out);
        }
        self.go(State::Stopping, now, out);
        if let Some(mut a) = self.current.take() {
            let step = a.stop(now, &mut self.spare);
            return self.carry_out(a, step, now, out);
        }
        self.exit_if_done(out);
    }

    fn exit_if_done(&self, out: &mut Vec<Action>) {
        if self.state == State::Stopping && self.current.is_none() && self.finishing.is_empty() {
            out.push(Action::WriteStatus);
            out.push(Action::Exit);
        }
    }

    fn ignore(&self, event: &'static str, out: &mut Vec<Action>) {
        out.push(Action::Ignored {
            event,
            state: self.state,
        });
    }

    fn go(&mut self, next: State, now: Instant, out: &mut Vec<Action>) {
        self.state = next;
        self.since = now;
        self.until = next.is_result().then(|| now + self.budgets.result_hold);
        out.push(Action::ShowPattern(next.pattern()));
        out.push(Action::WriteStatus);
    }
}
