//! What the LED tells the person at the wall: one pattern per kind of state.
//!
//! A leaf shared by the pure state machine (which picks a pattern) and the
//! LED drivers in `gpio` (which blink it), so neither depends on the other and
//! nothing translates between two names for the same thing.

/// A terminal state worth showing; `gpio::patterns` says how each one blinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Idle, starting or stopping: dark.
    Off,
    /// Capturing or submitting (2 Hz blink).
    Busy,
    /// Registered or already registered (solid).
    Success,
    /// Registered, and the person is asked to see reception (solid, then blinking).
    SeeReception,
    /// The face was not usable (too dark, no face...): step closer and retry (double blink).
    Retake,
    /// Failed (long blinks on one LED, solid red on a pair).
    Failed,
    /// Offline: the enrollment is stored and will be delivered later (slow blink).
    Queued,
    /// Camera or GPIO broken, or deliveries paused (SOS).
    Fault,
    /// A press that cannot be served, e.g. nobody to enroll (three short flashes).
    Refused,
}

impl Pattern {
    pub const ALL: [Pattern; 9] = [
        Pattern::Off,
        Pattern::Busy,
        Pattern::Success,
        Pattern::SeeReception,
        Pattern::Retake,
        Pattern::Failed,
        Pattern::Queued,
        Pattern::Fault,
        Pattern::Refused,
    ];

    /// The word for it in the demo and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Off => "off",
            Pattern::Busy => "busy",
            Pattern::Success => "success",
            Pattern::SeeReception => "see_reception",
            Pattern::Retake => "retake",
            Pattern::Failed => "failed",
            Pattern::Queued => "queued",
            Pattern::Fault => "fault",
            Pattern::Refused => "refused",
        }
    }
}
