//! What the person at the wall sees: the terminal's states, their names in
//! the status file, and the LED pattern of each.

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
    /// Registered and flagged for review (a watchlist match), with `terminal.see_reception`
    /// on: the person is asked to see reception (the LED's `Pattern::SeeReception`, a screen's
    /// `PromptKey::SeeReception`). With it off such a registration shows `Registered`, so an
    /// output never needs the option itself: the state says what to tell the person.
    SeeReception,
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
    pub const ALL: [State; 14] = [
        State::Starting,
        State::Idle,
        State::Capturing,
        State::Submitting,
        State::Registered,
        State::SeeReception,
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
            State::SeeReception => "see_reception",
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
                | State::SeeReception
                | State::AlreadyRegistered
                | State::Retake
                | State::Failed
                | State::Queued
                | State::Refused
        )
    }

    /// States in which a press starts an enrollment.
    pub(super) fn takes_presses(self) -> bool {
        self.is_result() || matches!(self, State::Idle | State::Paused)
    }

    /// The LED pattern that shows this state (docs/operations.md).
    pub fn pattern(self) -> Pattern {
        match self {
            State::Starting | State::Idle | State::Stopping => Pattern::Off,
            State::Capturing | State::Submitting => Pattern::Busy,
            State::Registered | State::AlreadyRegistered => Pattern::Success,
            State::SeeReception => Pattern::SeeReception,
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
