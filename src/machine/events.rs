//! What goes into the machine (events) and what comes out (actions), and
//! the plain data they carry.

use std::time::Duration;

use super::{Conclusion, Destination, Fate, Pattern, State};
use crate::api::Outcome;

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
    /// A frame passed (the face check; without it, the burst's chosen frame), before its
    /// JPEG is made: from now on the enrollment may reach IDMeta. Optional: a capture that
    /// reports only [`Event::CaptureDone`] has its frame pass with it.
    FramePassed {
        attempt: u64,
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
    /// Frames came but the face is not usable (too dark, blurred, or no well-placed face
    /// before the face check's deadline after a button press).
    CaptureRetake {
        attempt: u64,
    },
    /// No frame showed a well-placed face before the deadline after the presence sensor
    /// woke the camera: someone walked past. Nothing is sent and nothing is shown: the
    /// terminal goes back to rest, as if the sensor had not fired.
    CaptureNobody {
        attempt: u64,
    },
    /// The create-verification of the attempt finished.
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
    /// [`Action::AbandonVerification`] is done (finalized, or failed and logged).
    Abandoned {
        attempt: u64,
    },
    /// The delivery worker found the token or URL refused.
    DeliveriesPaused,
    /// A reload, `enrolld queue resume` or a probe ended the pause.
    DeliveriesResumed,
    FaultRaised(Component),
    FaultCleared(Component),
    /// The daemon's timer for [`Machine::deadline`](super::Machine::deadline) fired.
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
    /// An own verification that no request will use: finalize it, the one way the API offers
    /// to close a verification (IDMeta then shows it incomplete instead of leaving it open),
    /// and log it; report [`Event::Abandoned`].
    AbandonVerification {
        attempt: u64,
        verification_id: String,
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

/// The attempt an event is about, if it is about one.
pub(super) fn event_attempt(event: &Event) -> Option<u64> {
    match event {
        Event::Bound { attempt, .. }
        | Event::FramePassed { attempt }
        | Event::CaptureDone { attempt, .. }
        | Event::CaptureFailed { attempt, .. }
        | Event::CaptureRetake { attempt }
        | Event::CaptureNobody { attempt }
        | Event::VerificationCreated { attempt, .. }
        | Event::Stored { attempt, .. }
        | Event::Answered { attempt, .. }
        | Event::Settled { attempt } => Some(*attempt),
        _ => None,
    }
}

/// How a stale event is logged.
pub(super) fn stale_name(event: &Event) -> &'static str {
    match event {
        Event::Bound { .. } => "stale bound",
        Event::FramePassed { .. } => "stale frame_passed",
        Event::CaptureDone { .. } => "stale capture_done",
        Event::CaptureFailed { .. } => "stale capture_failed",
        Event::CaptureRetake { .. } => "stale capture_retake",
        Event::CaptureNobody { .. } => "stale capture_nobody",
        Event::VerificationCreated { .. } => "stale verification",
        Event::Stored { .. } => "stale stored",
        Event::Answered { .. } => "stale answer",
        _ => "stale event",
    }
}
