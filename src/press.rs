//! A press: what the trigger sends and the daemon consumes.
//!
//! A leaf shared by the GPIO trigger (which sends one per debounced press or
//! presence episode) and the daemon (which binds an enrollment to it), so the
//! trigger hands the daemon its own type and nothing translates between two
//! names for the same thing. Presses pushed in without a line (control
//! socket `trigger`, the demo's keyboard) carry no timestamps.

/// A request to start an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Press {
    /// CLOCK_MONOTONIC nanoseconds of the edge that began the press or the
    /// presence episode: the kernel's own timestamp (after debounce). `None`
    /// when the press did not come from a line.
    pub edge_monotonic_ns: Option<u64>,
    /// CLOCK_MONOTONIC nanoseconds when the trigger's rules decided it was a
    /// press (presence: the end of the hold). `None` when not from a line.
    pub decided_monotonic_ns: Option<u64>,
}

impl Press {
    /// A press that came from a GPIO line through the trigger's rules.
    pub fn from_line(edge_monotonic_ns: u64, decided_monotonic_ns: u64) -> Press {
        Press {
            edge_monotonic_ns: Some(edge_monotonic_ns),
            decided_monotonic_ns: Some(decided_monotonic_ns),
        }
    }

    /// A press pushed in directly (control socket, demo keyboard, tests).
    pub fn injected() -> Press {
        Press::default()
    }
}
