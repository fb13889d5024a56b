//! The terminal's decisions: what to do next, given the current state, an
//! event and the monotonic time. No I/O, no async, no hardware: the daemon
//! feeds it events and carries out the [`Action`]s it returns, which is why
//! every decision can be tested as a table (see the tests).
//!
//! Two things are tracked separately on purpose:
//! - the **state** is what the person at the wall sees (LED, status file);
//! - the **attempt** is the enrollment in progress and what it still needs
//!   (a binding, a capture, a verification, a write, a request, a settle;
//!   see `attempt.rs`). A shutdown or a fault changes the state at once, but
//!   a request already on the wire is still answered and settled, so nothing
//!   accepted is lost.
//!
//! One enrollment's life, as the actions that carry it out:
//!
//! ```text
//! Press ─► Bind (name + durable record) ┐
//!       └► StartCapture ─ a frame passed ┴► CreateVerification (own, no ticket's)
//!        ─► Store (capture durable: sending, or queued) ─► Post ─► Settle by fate
//!        nothing sent (failed capture, retake, not stored, stopped) ─► Release
//!        an own verification no request will use ─► AbandonVerification (finalize)
//! ```
//!
//! Nothing goes to IDMeta before a frame passed: a press or a presence wake
//! whose frames all fail the face check makes no call at all. A verification
//! the terminal created goes out with the registration, or with the entry it
//! is stored in; when neither will happen (the capture failed after the frame
//! passed, the record could not be written, a stop, a create that came back
//! too late) the machine finalizes it, the one way IDMeta's API offers to
//! close a verification, so none is left open in the customer's account
//! unannounced. A stop waits for those calls too (within its grace).
//!
//! Each capture gets an attempt number; events about another attempt (late
//! answers of a cancelled capture) are ignored rather than misapplied.

mod attempt;
mod conclusion;
mod events;
pub mod fate;
mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

pub use conclusion::{Conclusion, Destination, QueuedBecause};
pub use events::{Action, Bound, Budgets, Component, Event, Refusal, Who};
pub use fate::{Fate, QueueFate};
pub use state::{Pattern, State};

use attempt::Attempt;

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
    /// Verification calls of attempts that no longer wait for them, by attempt.
    loose: BTreeMap<u64, Loose>,
    camera_fault: bool,
    gpio_fault: bool,
    paused: bool,
    /// `terminal.see_reception`: a registration flagged for review asks the person to see
    /// reception (`State::SeeReception`) instead of showing a plain `Registered`.
    see_reception: bool,
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
            loose: BTreeMap::new(),
            camera_fault: false,
            gpio_fault: false,
            paused: false,
            see_reception: false,
        }
    }

    /// Whether a registration flagged for review sends the person to reception (set at start
    /// and on every reload from `terminal.see_reception`).
    pub fn set_see_reception(&mut self, on: bool) {
        self.see_reception = on;
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

    /// Verification calls still out for attempts that are over (a create that came too
    /// late, a finalize of an unused verification): a stop waits for them.
    pub fn loose_verifications(&self) -> usize {
        self.loose.len()
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
            Event::Abandoned { attempt } => self.on_abandoned(attempt, &mut out),
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
        let id = events::event_attempt(&event);
        // The answer to a create-verification its attempt no longer waits for (the attempt
        // ended, or gave up on it): what it created is finalized.
        if let Event::VerificationCreated { attempt, result } = &event
            && self.loose.get(attempt) == Some(&Loose::Creating)
        {
            let attempt = *attempt;
            match result {
                Ok(v) => self.abandon(attempt, v.clone(), out),
                Err(_) => {
                    self.loose.remove(&attempt);
                    self.exit_if_done(out);
                }
            }
            return;
        }
        if self.current.as_ref().is_none_or(|a| Some(a.id) != id) {
            let name = events::stale_name(&event);
            match event {
                // A verification nobody waits for (not known as loose: never expected, but
                // closed all the same rather than left open).
                Event::VerificationCreated {
                    attempt,
                    result: Ok(v),
                } => return self.abandon(attempt, v, out),
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
        let step = a.apply(event, now, &self.budgets, self.paused, stopping);
        self.carry_out(a, step, now, out);
    }

    /// Finalizes an own verification that no request will use.
    fn abandon(&mut self, attempt: u64, verification_id: String, out: &mut Vec<Action>) {
        self.loose.insert(attempt, Loose::Abandoning);
        out.push(Action::AbandonVerification {
            attempt,
            verification_id,
        });
    }

    fn on_abandoned(&mut self, attempt: u64, out: &mut Vec<Action>) {
        if self.loose.get(&attempt) != Some(&Loose::Abandoning) {
            return self.ignore("stale abandoned", out);
        }
        self.loose.remove(&attempt);
        self.exit_if_done(out);
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
        if let Some(v) = step.unused {
            self.abandon(a.id, v, out);
        }
        if step.orphaned_create {
            self.loose.insert(a.id, Loose::Creating);
        }
        if let Some(show) = step.show
            && !stopping
        {
            let show = match show {
                State::Failed if self.camera_fault => State::Fault,
                State::SeeReception if !self.see_reception => State::Registered,
                // An attempt that ends without a result goes back to rest.
                State::Idle => self.rest(),
                show => show,
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
                let step = a.deadline_passed(now, self.paused, stopping);
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
            let step = a.stop();
            return self.carry_out(a, step, now, out);
        }
        self.exit_if_done(out);
    }

    fn exit_if_done(&self, out: &mut Vec<Action>) {
        if self.state == State::Stopping
            && self.current.is_none()
            && self.finishing.is_empty()
            && self.loose.is_empty()
        {
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

/// A verification call that outlived its attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loose {
    /// create-verification is still on the wire.
    Creating,
    /// finalize-verification of an unused one is.
    Abandoning,
}
