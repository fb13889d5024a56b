//! The enrollment state machine: what to do next, given the current state, an
//! event and the monotonic time. No I/O, no async, no hardware: the daemon
//! feeds it events and carries out the [`Action`]s it returns, which is why
//! every (state, event) pair can be tested exhaustively (see the tests).
//!
//! Two things are tracked separately on purpose:
//! - the **state** is what the person at the wall sees (LED, status file);
//! - the **work** is what is still outstanding (a capture, a submission, a
//!   queue write). A shutdown or a fault changes the state at once, but the
//!   outcome of a submission that is already on the wire is still handled, so
//!   nothing accepted is lost.
//!
//! Each capture gets an attempt number; events about another attempt (late
//! answers of a cancelled capture) are ignored rather than misapplied.

use std::time::{Duration, Instant};

/// What the terminal is doing, as shown on the LED and in the status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Drivers coming up; presses are ignored.
    Starting,
    Idle,
    Capturing,
    /// Sending to IDMeta, or storing in the offline queue.
    Submitting,
    // Result states: shown for `result_hold`, then back to idle (or fault).
    Registered,
    AlreadyRegistered,
    Retake,
    Failed,
    Queued,
    /// A press with no ticket and no username template.
    Refused,
    /// Camera or GPIO broken; clears by itself when the drivers recover.
    Fault,
    /// SIGTERM received: no new work, outstanding work is finished or abandoned.
    Stopping,
}

impl State {
    pub const ALL: [State; 12] = [
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

    /// The LED pattern that shows this state (see README.md).
    pub fn pattern(self) -> Pattern {
        match self {
            State::Starting | State::Idle | State::Stopping => Pattern::Off,
            State::Capturing | State::Submitting => Pattern::Busy,
            State::Registered | State::AlreadyRegistered => Pattern::Success,
            State::Retake => Pattern::Retake,
            State::Failed => Pattern::Failed,
            State::Queued => Pattern::Queued,
            State::Refused => Pattern::Refused,
            State::Fault => Pattern::Fault,
        }
    }
}

/// LED patterns the machine asks for; the indicator driver knows how to blink them.
pub use crate::led::Pattern;

/// Who a press enrolls, as far as the daemon knows when it delivers the press.
/// The ticket itself is taken from the ticket queue only when the machine
/// answers [`Action::StartCapture`] with [`Who::Ticket`], so a press that is
/// ignored never consumes a ticket.
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

/// The outcome of one registration attempt, mirroring the IDMeta client's
/// outcome codes as plain data so this module does not depend on the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Registered,
    AlreadyRegistered,
    Retake,
    Rejected,
    Unauthorized,
    RateLimited {
        retry_after: Option<Duration>,
    },
    ServerError {
        status: u16,
    },
    BadResponse,
    /// Provably never left the device: safe to send again as is.
    NotSent,
    /// May or may not have reached the server: never re-sent automatically.
    UnknownDelivery,
}

impl Outcome {
    /// The client's stable code string.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Registered => "registered",
            Outcome::AlreadyRegistered => "already_registered",
            Outcome::Retake => "retake",
            Outcome::Rejected => "rejected",
            Outcome::Unauthorized => "unauthorized",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::ServerError { .. } => "server_error",
            Outcome::BadResponse => "bad_response",
            Outcome::NotSent => "not_sent",
            Outcome::UnknownDelivery => "unknown_delivery",
        }
    }

    /// Builds an outcome from the client's code plus its data (`status` for
    /// `server_error`, `retry_after` for `rate_limited`). `None` for a code
    /// this module does not know, which the caller must treat as a bug.
    pub fn from_code(
        code: &str,
        status: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Option<Self> {
        Some(match code {
            "registered" => Outcome::Registered,
            "already_registered" => Outcome::AlreadyRegistered,
            "retake" => Outcome::Retake,
            "rejected" => Outcome::Rejected,
            "unauthorized" => Outcome::Unauthorized,
            "rate_limited" => Outcome::RateLimited { retry_after },
            "server_error" => Outcome::ServerError {
                status: status.unwrap_or(500),
            },
            "bad_response" => Outcome::BadResponse,
            "not_sent" => Outcome::NotSent,
            "unknown_delivery" => Outcome::UnknownDelivery,
            _ => return None,
        })
    }

    /// What to do with the enrollment after this outcome.
    pub fn disposition(self) -> Disposition {
        match self {
            Outcome::Registered | Outcome::AlreadyRegistered => Disposition::Done,
            Outcome::NotSent | Outcome::RateLimited { .. } => Disposition::Retry,
            // Gateways and an overloaded server answer before the request is
            // processed: these are the only server errors worth retrying.
            Outcome::ServerError { status: 502..=504 } => Disposition::Retry,
            Outcome::UnknownDelivery => Disposition::Unknown,
            Outcome::Retake
            | Outcome::Rejected
            | Outcome::Unauthorized
            | Outcome::ServerError { .. }
            | Outcome::BadResponse => Disposition::Failed,
        }
    }
}

/// The three fates of an enrollment after an answer, plus "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Registered (or already was).
    Done,
    /// Definitely not registered, and sending it again would not help.
    Failed,
    /// Definitely not processed: keep it and send it again later.
    Retry,
    /// Possibly processed: record it for follow-up, never re-send.
    Unknown,
}

/// Something that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Configuration, GPIO and camera are up (or their faults are known).
    Ready,
    Press(Who),
    /// A JPEG is ready. `clock_plausible` is false while the wall clock is
    /// before the build date: TLS would fail, so the enrollment is queued.
    CaptureDone {
        attempt: u64,
        clock_plausible: bool,
    },
    /// The camera gave no usable frame (timeout, driver error).
    CaptureFailed {
        attempt: u64,
    },
    /// Frames came but the face is not usable (too dark, blurred).
    CaptureRetake {
        attempt: u64,
    },
    SubmitOutcome {
        attempt: u64,
        outcome: Outcome,
    },
    /// The offline queue stored the enrollment (`stored`) or refused it (full, disk error).
    EnqueueDone {
        attempt: u64,
        stored: bool,
    },
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take the enrollee (pop the oldest ticket, or render the template) and capture.
    StartCapture {
        attempt: u64,
        who: Who,
    },
    /// Send the captured JPEG to IDMeta.
    Submit {
        attempt: u64,
    },
    /// Store the captured JPEG in the offline queue, then report [`Event::EnqueueDone`].
    Enqueue {
        attempt: u64,
    },
    /// Abandon the capture in progress (shutdown); no event is expected back.
    CancelCapture {
        attempt: u64,
    },
    /// The ticket taken for this attempt goes back to the front of the ticket
    /// queue: the person was not enrolled and will press again.
    PutBackTicket {
        attempt: u64,
    },
    /// Record a possibly-sent enrollment (verification id) for follow-up.
    RecordUnknownDelivery {
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

/// Outstanding work, independent of what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    None,
    Capture(u64),
    Submit(u64),
    Enqueue(u64),
}

/// The enrollment state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    state: State,
    since: Instant,
    /// When a result state ends.
    until: Option<Instant>,
    work: Work,
    attempt: u64,
    camera_fault: bool,
    gpio_fault: bool,
    result_hold: Duration,
}

impl Machine {
    /// A machine in `Starting`; result states are shown for `result_hold`.
    pub fn new(now: Instant, result_hold: Duration) -> Self {
        Machine {
            state: State::Starting,
            since: now,
            until: None,
            work: Work::None,
            attempt: 0,
            camera_fault: false,
            gpio_fault: false,
            result_hold,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Monotonic time of the last state change.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// When the daemon should deliver [`Event::TimerExpired`], if at all.
    pub fn deadline(&self) -> Option<Instant> {
        self.until
    }

    /// The number of the latest capture attempt.
    pub fn attempt(&self) -> u64 {
        self.attempt
    }

    pub fn faults(&self) -> (bool, bool) {
        (self.camera_fault, self.gpio_fault)
    }

    fn faulty(&self) -> bool {
        self.camera_fault || self.gpio_fault
    }

    /// Handles one event at monotonic time `now`.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Ready => self.on_ready(now, &mut out),
            Event::Press(who) => self.on_press(who, now, &mut out),
            Event::CaptureDone {
                attempt,
                clock_plausible,
            } if self.work == Work::Capture(attempt) => {
                if clock_plausible {
                    self.work = Work::Submit(attempt);
                    out.push(Action::Submit { attempt });
                } else {
                    self.work = Work::Enqueue(attempt);
                    out.push(Action::Enqueue { attempt });
                }
                self.go(State::Submitting, now, &mut out);
            }
            Event::CaptureFailed { attempt } if self.work == Work::Capture(attempt) => {
                self.work = Work::None;
                out.push(Action::PutBackTicket { attempt });
                let next = if self.faulty() {
                    State::Fault
                } else {
                    State::Failed
                };
                self.go(next, now, &mut out);
            }
            Event::CaptureRetake { attempt } if self.work == Work::Capture(attempt) => {
                self.work = Work::None;
                out.push(Action::PutBackTicket { attempt });
                self.go(State::Retake, now, &mut out);
            }
            Event::SubmitOutcome { attempt, outcome } if self.work == Work::Submit(attempt) => {
                self.on_outcome(attempt, outcome, now, &mut out)
            }
            Event::EnqueueDone { attempt, stored } if self.work == Work::Enqueue(attempt) => {
                self.work = Work::None;
                let next = if stored { State::Queued } else { State::Failed };
                self.finish(next, now, &mut out);
            }
            Event::FaultRaised(c) => self.on_fault(c, true, now, &mut out),
            Event::FaultCleared(c) => self.on_fault(c, false, now, &mut out),
            Event::TimerExpired => match self.until {
                Some(until) if self.state.is_result() && now >= until => {
                    let next = if self.faulty() {
                        State::Fault
                    } else {
                        State::Idle
                    };
                    self.go(next, now, &mut out);
                }
                _ => self.ignore("timer", &mut out),
            },
            Event::Shutdown => self.on_shutdown(now, &mut out),
            Event::CaptureDone { .. } => self.ignore("stale capture_done", &mut out),
            Event::CaptureFailed { .. } => self.ignore("stale capture_failed", &mut out),
            Event::CaptureRetake { .. } => self.ignore("stale capture_retake", &mut out),
            Event::SubmitOutcome { .. } => self.ignore("stale submit_outcome", &mut out),
            Event::EnqueueDone { .. } => self.ignore("stale enqueue_done", &mut out),
        }
        out
    }

    fn on_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Starting {
            return self.ignore("ready", out);
        }
        let next = if self.faulty() {
            State::Fault
        } else {
            State::Idle
        };
        self.go(next, now, out);
    }

    fn on_press(&mut self, who: Who, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Starting | State::Capturing | State::Submitting | State::Stopping => {
                self.ignore("press while busy", out)
            }
            State::Fault => out.push(Action::RefusePress(Refusal::Fault)),
            State::Idle
            | State::Registered
            | State::AlreadyRegistered
            | State::Retake
            | State::Failed
            | State::Queued
            | State::Refused => {
                if who == Who::Nobody {
                    out.push(Action::RefusePress(Refusal::NobodyToEnroll));
                    return self.go(State::Refused, now, out);
                }
                self.attempt += 1;
                self.work = Work::Capture(self.attempt);
                out.push(Action::StartCapture {
                    attempt: self.attempt,
                    who,
                });
                self.go(State::Capturing, now, out);
            }
        }
    }

    fn on_outcome(&mut self, attempt: u64, outcome: Outcome, now: Instant, out: &mut Vec<Action>) {
        let next = match outcome.disposition() {
            Disposition::Retry => {
                // Shown as "submitting" until the queue confirms it stored it:
                // the queued pattern must mean the enrollment is on disk.
                self.work = Work::Enqueue(attempt);
                return out.push(Action::Enqueue { attempt });
            }
            Disposition::Done if outcome == Outcome::AlreadyRegistered => State::AlreadyRegistered,
            Disposition::Done => State::Registered,
            Disposition::Unknown => {
                out.push(Action::RecordUnknownDelivery { attempt });
                State::Failed
            }
            Disposition::Failed if outcome == Outcome::Retake => {
                out.push(Action::PutBackTicket { attempt });
                State::Retake
            }
            Disposition::Failed => State::Failed,
        };
        self.work = Work::None;
        self.finish(next, now, out);
    }

    /// Outstanding work ended with `next` shown, unless we are stopping.
    fn finish(&mut self, next: State, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Stopping {
            out.push(Action::WriteStatus);
            out.push(Action::Exit);
        } else {
            self.go(next, now, out);
        }
    }

    fn on_fault(&mut self, c: Component, raised: bool, now: Instant, out: &mut Vec<Action>) {
        match c {
            Component::Camera => self.camera_fault = raised,
            Component::Gpio => self.gpio_fault = raised,
        }
        out.push(Action::WriteStatus);
        match self.state {
            // Outstanding work finishes first (a broken camera makes the
            // capture fail by itself); the fault shows afterwards.
            State::Starting | State::Capturing | State::Submitting | State::Stopping => {}
            State::Fault if !self.faulty() => self.go(State::Idle, now, out),
            State::Fault => {}
            _ if raised => self.go(State::Fault, now, out),
            _ => {}
        }
    }

    fn on_shutdown(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Stopping {
            return self.ignore("shutdown while stopping", out);
        }
        if let Work::Capture(attempt) = self.work {
            out.push(Action::CancelCapture { attempt });
            out.push(Action::PutBackTicket { attempt });
            self.work = Work::None;
        }
        self.go(State::Stopping, now, out);
        if self.work == Work::None {
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
        self.until = next.is_result().then(|| now + self.result_hold);
        out.push(Action::ShowPattern(next.pattern()));
        out.push(Action::WriteStatus);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Duration = Duration::from_secs(3);

    /// A column of the exhaustive table: an event built for the machine's current attempt.
    #[derive(Debug, Clone, Copy)]
    enum Ev {
        Ready,
        PressNobody,
        PressTicket,
        PressTemplate,
        Captured,
        CapturedClockWrong,
        CaptureFailed,
        CaptureRetake,
        OutRegistered,
        OutAlready,
        OutRetake,
        OutRejected,
        OutNotSent,
        OutUnknown,
        Stored,
        NotStored,
        FaultCam,
        ClearCam,
        Timer,
        Shutdown,
    }

    const EVENTS: [Ev; 20] = [
        Ev::Ready,
        Ev::PressNobody,
        Ev::PressTicket,
        Ev::PressTemplate,
        Ev::Captured,
        Ev::CapturedClockWrong,
        Ev::CaptureFailed,
        Ev::CaptureRetake,
        Ev::OutRegistered,
        Ev::OutAlready,
        Ev::OutRetake,
        Ev::OutRejected,
        Ev::OutNotSent,
        Ev::OutUnknown,
        Ev::Stored,
        Ev::NotStored,
        Ev::FaultCam,
        Ev::ClearCam,
        Ev::Timer,
        Ev::Shutdown,
    ];

    fn event(ev: Ev, attempt: u64) -> Event {
        let outcome = |outcome| Event::SubmitOutcome { attempt, outcome };
        match ev {
            Ev::Ready => Event::Ready,
            Ev::PressNobody => Event::Press(Who::Nobody),
            Ev::PressTicket => Event::Press(Who::Ticket),
            Ev::PressTemplate => Event::Press(Who::Template),
            Ev::Captured => Event::CaptureDone {
                attempt,
                clock_plausible: true,
            },
            Ev::CapturedClockWrong => Event::CaptureDone {
                attempt,
                clock_plausible: false,
            },
            Ev::CaptureFailed => Event::CaptureFailed { attempt },
            Ev::CaptureRetake => Event::CaptureRetake { attempt },
            Ev::OutRegistered => outcome(Outcome::Registered),
            Ev::OutAlready => outcome(Outcome::AlreadyRegistered),
            Ev::OutRetake => outcome(Outcome::Retake),
            Ev::OutRejected => outcome(Outcome::Rejected),
            Ev::OutNotSent => outcome(Outcome::NotSent),
            Ev::OutUnknown => outcome(Outcome::UnknownDelivery),
            Ev::Stored => Event::EnqueueDone {
                attempt,
                stored: true,
            },
            Ev::NotStored => Event::EnqueueDone {
                attempt,
                stored: false,
            },
            Ev::FaultCam => Event::FaultRaised(Component::Camera),
            Ev::ClearCam => Event::FaultCleared(Component::Camera),
            Ev::Timer => Event::TimerExpired,
            Ev::Shutdown => Event::Shutdown,
        }
    }

    /// Drives a fresh machine into `state` through real events only.
    /// `Submitting` is reached with a submission outstanding.
    fn machine_in(state: State, t0: Instant) -> Machine {
        let mut m = Machine::new(t0, HOLD);
        let send = |m: &mut Machine, ev: Ev| {
            let e = event(ev, m.attempt());
            m.handle(e, t0);
        };
        if state == State::Starting {
            return m;
        }
        send(&mut m, Ev::Ready);
        let path: &[Ev] = match state {
            State::Idle => &[],
            State::Capturing => &[Ev::PressTicket],
            State::Submitting => &[Ev::PressTicket, Ev::Captured],
            State::Registered => &[Ev::PressTicket, Ev::Captured, Ev::OutRegistered],
            State::AlreadyRegistered => &[Ev::PressTicket, Ev::Captured, Ev::OutAlready],
            State::Retake => &[Ev::PressTicket, Ev::CaptureRetake],
            State::Failed => &[Ev::PressTicket, Ev::CaptureFailed],
            State::Queued => &[Ev::PressTicket, Ev::Captured, Ev::OutNotSent, Ev::Stored],
            State::Refused => &[Ev::PressNobody],
            State::Fault => &[Ev::FaultCam],
            State::Stopping => &[Ev::Shutdown],
            State::Starting => unreachable!(),
        };
        for ev in path {
            send(&mut m, *ev);
        }
        assert_eq!(m.state(), state, "setup path for {state:?}");
        m
    }

    /// The next state for every (state, event) pair. Columns follow `EVENTS`:
    /// Ready, Press nobody/ticket/template, Captured, Captured with a wrong
    /// clock, CaptureFailed, CaptureRetake, outcomes registered / already /
    /// retake / rejected / not_sent / unknown, Stored, NotStored, camera
    /// fault raised / cleared, Timer (after the hold), Shutdown.
    /// `=` means "unchanged".
    fn expected(state: State) -> [&'static str; 20] {
        use State::*;
        let r = ["=", "refused", "capturing", "capturing"];
        let stale = ["="; 12];
        let tail = |fault: &'static str, clear: &'static str, timer: &'static str| {
            [fault, clear, timer, "stopping"]
        };
        let row = |a: [&'static str; 4], b: [&'static str; 12], c: [&'static str; 4]| {
            let mut v = [""; 20];
            v[..4].copy_from_slice(&a);
            v[4..16].copy_from_slice(&b);
            v[16..].copy_from_slice(&c);
            v
        };
        match state {
            Starting => row(["idle", "=", "=", "="], stale, tail("=", "=", "=")),
            Idle => row(r, stale, tail("fault", "=", "=")),
            Capturing => row(
                ["=", "=", "=", "="],
                [
                    "submitting",
                    "submitting",
                    "failed",
                    "retake",
                    "=",
                    "=",
                    "=",
                    "=",
                    "=",
                    "=",
                    "=",
                    "=",
                ],
                tail("=", "=", "="),
            ),
            Submitting => row(
                ["=", "=", "=", "="],
                [
                    "=",
                    "=",
                    "=",
                    "=",
                    "registered",
                    "already_registered",
                    "retake",
                    "failed",
                    // not_sent: stays submitting until the queue has stored it.
                    "=",
                    "failed",
                    "=",
                    "=",
                ],
                tail("=", "=", "="),
            ),
            Registered | AlreadyRegistered | Retake | Failed | Queued | Refused => {
                row(r, stale, tail("fault", "=", "idle"))
            }
            Fault => row(["=", "=", "=", "="], stale, tail("=", "idle", "=")),
            Stopping => row(["="; 4], stale, ["=", "=", "=", "="]),
        }
    }

    /// Delivers `outcome` for attempt 1 to a machine in `state`.
    fn answer(m: &mut Machine, outcome: Outcome, t0: Instant) -> Vec<Action> {
        m.handle(
            Event::SubmitOutcome {
                attempt: 1,
                outcome,
            },
            t0,
        )
    }

    /// Delivers a finished capture of attempt 1.
    fn captured(m: &mut Machine, clock_plausible: bool, t0: Instant) -> Vec<Action> {
        m.handle(
            Event::CaptureDone {
                attempt: 1,
                clock_plausible,
            },
            t0,
        )
    }

    /// Delivers the queue's answer for attempt 1.
    fn stored(m: &mut Machine, stored: bool, t0: Instant) -> Vec<Action> {
        m.handle(Event::EnqueueDone { attempt: 1, stored }, t0)
    }

    #[test]
    fn every_state_and_event_has_the_documented_result() {
        let t0 = Instant::now();
        let mut checked = 0;
        for state in State::ALL {
            let row = expected(state);
            for (col, ev) in EVENTS.iter().enumerate() {
                let mut m = machine_in(state, t0);
                let now = t0 + HOLD; // the result hold has elapsed
                let actions = m.handle(event(*ev, m.attempt()), now);
                let want = if row[col] == "=" {
                    state.name()
                } else {
                    row[col]
                };
                assert_eq!(
                    m.state().name(),
                    want,
                    "state {state:?}, event {ev:?}, actions {actions:?}"
                );
                // Every handled event produces at least one action: nothing is
                // silently swallowed (ignored ones are reported for logging).
                assert!(!actions.is_empty(), "{state:?} {ev:?} gave no action");
                // A state change always repaints the LED and the status file.
                if m.state() != state {
                    assert!(actions.contains(&Action::ShowPattern(m.state().pattern())));
                    assert!(actions.contains(&Action::WriteStatus));
                }
                checked += 1;
            }
        }
        assert_eq!(checked, State::ALL.len() * EVENTS.len());
    }

    #[test]
    fn a_press_runs_to_registered_and_back_to_idle() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Idle, t0);
        let a = m.handle(Event::Press(Who::Ticket), t0);
        assert_eq!(
            a,
            vec![
                Action::StartCapture {
                    attempt: 1,
                    who: Who::Ticket
                },
                Action::ShowPattern(Pattern::Busy),
                Action::WriteStatus
            ]
        );
        let a = captured(&mut m, true, t0);
        assert_eq!(a[0], Action::Submit { attempt: 1 });
        let a = answer(&mut m, Outcome::Registered, t0);
        assert_eq!(
            a,
            vec![Action::ShowPattern(Pattern::Success), Action::WriteStatus]
        );
        assert_eq!(m.deadline(), Some(t0 + HOLD));
        // The timer firing early (a spurious wake-up) changes nothing.
        m.handle(Event::TimerExpired, t0 + HOLD / 2);
        assert_eq!(m.state(), State::Registered);
        m.handle(Event::TimerExpired, t0 + HOLD);
        assert_eq!(m.state(), State::Idle);
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn press_while_busy_is_ignored_and_takes_no_ticket() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Capturing, t0);
        let a = m.handle(Event::Press(Who::Ticket), t0);
        assert_eq!(
            a,
            vec![Action::Ignored {
                event: "press while busy",
                state: State::Capturing
            }]
        );
    }

    #[test]
    fn retryable_outcomes_are_queued_only_once_stored() {
        let t0 = Instant::now();
        for outcome in [
            Outcome::NotSent,
            Outcome::RateLimited { retry_after: None },
            Outcome::ServerError { status: 503 },
        ] {
            let mut m = machine_in(State::Submitting, t0);
            let a = m.handle(
                Event::SubmitOutcome {
                    attempt: 1,
                    outcome,
                },
                t0,
            );
            assert_eq!(a, vec![Action::Enqueue { attempt: 1 }]);
            assert_eq!(m.state(), State::Submitting);
            stored(&mut m, true, t0);
            assert_eq!(m.state(), State::Queued);
        }
        // A full queue is a visible failure.
        let mut m = machine_in(State::Submitting, t0);
        answer(&mut m, Outcome::NotSent, t0);
        stored(&mut m, false, t0);
        assert_eq!(m.state(), State::Failed);
    }

    #[test]
    fn wrong_wall_clock_queues_without_submitting() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Capturing, t0);
        let a = captured(&mut m, false, t0);
        assert_eq!(a[0], Action::Enqueue { attempt: 1 });
        assert!(!a.contains(&Action::Submit { attempt: 1 }));
    }

    #[test]
    fn unknown_delivery_is_recorded_and_retake_gives_the_ticket_back() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Submitting, t0);
        let a = answer(&mut m, Outcome::UnknownDelivery, t0);
        assert!(a.contains(&Action::RecordUnknownDelivery { attempt: 1 }));
        let mut m = machine_in(State::Submitting, t0);
        let a = answer(&mut m, Outcome::Retake, t0);
        assert!(a.contains(&Action::PutBackTicket { attempt: 1 }));
    }

    #[test]
    fn stale_events_of_an_old_attempt_are_ignored() {
        let t0 = Instant::now();
        // A capture cancelled by shutdown may still report late.
        let mut m = machine_in(State::Capturing, t0);
        m.handle(Event::Shutdown, t0);
        let a = captured(&mut m, true, t0);
        assert!(matches!(a[0], Action::Ignored { .. }));
        assert_eq!(m.state(), State::Stopping);
        let mut m2 = machine_in(State::Submitting, t0);
        let a = m2.handle(
            Event::SubmitOutcome {
                attempt: 7,
                outcome: Outcome::Registered,
            },
            t0,
        );
        assert!(matches!(a[0], Action::Ignored { .. }));
        assert_eq!(m2.state(), State::Submitting);
    }

    #[test]
    fn fault_during_submission_shows_after_the_result() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Submitting, t0);
        m.handle(Event::FaultRaised(Component::Gpio), t0);
        assert_eq!(m.state(), State::Submitting);
        answer(&mut m, Outcome::Registered, t0);
        assert_eq!(m.state(), State::Registered);
        m.handle(Event::TimerExpired, t0 + HOLD);
        assert_eq!(m.state(), State::Fault);
        let a = m.handle(Event::Press(Who::Ticket), t0 + HOLD);
        assert_eq!(a, vec![Action::RefusePress(Refusal::Fault)]);
        m.handle(Event::FaultCleared(Component::Gpio), t0 + HOLD);
        assert_eq!(m.state(), State::Idle);
    }

    #[test]
    fn fault_clears_only_when_every_component_recovered() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Idle, t0);
        m.handle(Event::FaultRaised(Component::Camera), t0);
        m.handle(Event::FaultRaised(Component::Gpio), t0);
        m.handle(Event::FaultCleared(Component::Camera), t0);
        assert_eq!(m.state(), State::Fault);
        m.handle(Event::FaultCleared(Component::Gpio), t0);
        assert_eq!(m.state(), State::Idle);
    }

    #[test]
    fn shutdown_waits_for_the_submission_then_exits() {
        let t0 = Instant::now();
        let mut m = machine_in(State::Submitting, t0);
        let a = m.handle(Event::Shutdown, t0);
        assert!(a.contains(&Action::ShowPattern(Pattern::Off)));
        assert!(!a.contains(&Action::Exit));
        let a = answer(&mut m, Outcome::NotSent, t0);
        assert_eq!(a, vec![Action::Enqueue { attempt: 1 }]);
        let a = stored(&mut m, true, t0);
        assert!(a.contains(&Action::Exit));
        assert_eq!(m.state(), State::Stopping);

        // Capturing: the capture is abandoned and the ticket returned.
        let mut m = machine_in(State::Capturing, t0);
        let a = m.handle(Event::Shutdown, t0);
        assert!(a.contains(&Action::CancelCapture { attempt: 1 }));
        assert!(a.contains(&Action::PutBackTicket { attempt: 1 }));
        assert!(a.contains(&Action::Exit));
    }

    #[test]
    fn outcome_codes_round_trip_and_classify() {
        for o in [
            Outcome::Registered,
            Outcome::AlreadyRegistered,
            Outcome::Retake,
            Outcome::Rejected,
            Outcome::Unauthorized,
            Outcome::RateLimited { retry_after: None },
            Outcome::ServerError { status: 500 },
            Outcome::BadResponse,
            Outcome::NotSent,
            Outcome::UnknownDelivery,
        ] {
            assert_eq!(Outcome::from_code(o.code(), Some(500), None), Some(o));
        }
        assert_eq!(Outcome::from_code("bogus", None, None), None);
        let d = |s| Outcome::ServerError { status: s }.disposition();
        assert_eq!(d(500), Disposition::Failed);
        assert_eq!(d(502), Disposition::Retry);
        assert_eq!(d(504), Disposition::Retry);
        assert_eq!(d(505), Disposition::Failed);
    }
}
