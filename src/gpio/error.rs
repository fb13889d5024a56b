//! What can go wrong with GPIO, worded for the person wiring the terminal.
//!
//! One enum for the whole module, `Clone + Eq` like gpiocdev's own error, so
//! the daemon can keep the last fault in its status and tests can assert the
//! exact error.

/// A GPIO failure: resolution (which chip, which line), requesting the line,
/// or reading/driving it afterwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpioError {
    /// No GPIO character device is visible at all.
    #[error(
        "no GPIO chips found under /dev (is the GPIO driver loaded, and /dev/gpiochip* readable?)"
    )]
    NoChips,

    /// The configured chip matches no chip by path, name or label.
    #[error("GPIO chip `{spec}` not found; chips: {available}")]
    ChipNotFound { spec: String, available: String },

    /// A label names more than one chip: the name or path must be used.
    #[error(
        "GPIO chip label `{spec}` matches several chips ({matches}); use the chip name or path"
    )]
    AmbiguousChip { spec: String, matches: String },

    /// The configured line name or offset does not exist.
    #[error("line `{spec}` not found on {chip}; lines: {available}")]
    LineNotFound {
        spec: String,
        /// "gpiochip0 (enroll-sim)" or "any chip".
        chip: String,
        available: String,
    },

    /// Two lines that must be requested together sit on different chips.
    #[error(
        "lines `{first}` ({first_chip}) and `{second}` ({second_chip}) are on different chips; set `chip`"
    )]
    LinesOnDifferentChips {
        first: String,
        first_chip: String,
        second: String,
        second_chip: String,
    },

    /// Opening a chip or reading its description failed.
    #[error("cannot open GPIO chip {chip}: {source}")]
    Chip {
        chip: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// The kernel refused the line request (in use, bad bias, permission...).
    #[error("cannot request line {line} on {chip}: {source}")]
    Request {
        chip: String,
        line: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// Waiting for or reading edge events or values failed (chip removed, I/O error).
    #[error("reading line {line} on {chip} failed: {source}")]
    Read {
        chip: String,
        line: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// Setting an output line failed.
    #[error("setting line {line} on {chip} failed: {source}")]
    Write {
        chip: String,
        line: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// The reader thread could not be started (out of resources).
    #[error("cannot start the GPIO reader thread: {reason}")]
    Thread { reason: String },

    /// A simulated line was unplugged (demo and tests of the fault path).
    #[error("simulated line `{line}` unplugged")]
    SimulatedUnplug { line: String },
}
