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
        "no GPIO chips found under /dev: check that the board's GPIO driver is loaded \
         (`ls -l /dev/gpiochip*`) and that enrolld's user may read them ({PERMISSION_HINT})"
    )]
    NoChips,

    /// The configured chip matches no chip by path, name or label.
    #[error(
        "GPIO chip `{spec}` not found; chips: {available}. Set `chip` to one of them by path, \
         name or label (`enrolld probe` lists them with their lines)"
    )]
    ChipNotFound { spec: String, available: String },

    /// A label names more than one chip: the name or path must be used.
    #[error(
        "GPIO chip label `{spec}` matches several chips ({matches}); use the chip name or path"
    )]
    AmbiguousChip { spec: String, matches: String },

    /// The configured line name or offset does not exist.
    #[error(
        "line `{spec}` not found on {chip}; lines: {available}. Set `line` to one of these names \
         or offsets (`enrolld probe` lists them)"
    )]
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
    #[error("cannot open GPIO chip {chip}: {source}{}", advice(source, chip))]
    Chip {
        chip: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// The kernel refused the line request (in use, bad bias, permission...).
    #[error(
        "cannot request line {line} on {chip}: {source}{}",
        advice(source, chip)
    )]
    Request {
        chip: String,
        line: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// Waiting for or reading edge events or values failed (chip removed, I/O error).
    #[error(
        "reading line {line} on {chip} failed: {source}{}",
        advice(source, chip)
    )]
    Read {
        chip: String,
        line: String,
        #[source]
        source: gpiocdev::Error,
    },

    /// Setting an output line failed.
    #[error(
        "setting line {line} on {chip} failed: {source}{}",
        advice(source, chip)
    )]
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

/// How enrolld gets at the GPIO chips, for permission errors.
const PERMISSION_HINT: &str = "the packaged udev rule 60-enrolld-gpio.rules gives \
     /dev/gpiochip* to group `gpio` with mode 0660, the unit adds SupplementaryGroups=gpio and \
     DeviceAllow=char-gpiochip rw; without the package, add enrolld's user to the group that owns \
     the chip";

/// What to do about the errno an installer meets, or nothing when the
/// kernel's words are all there is to say.
fn advice(error: &gpiocdev::Error, chip: &str) -> String {
    match errno(error) {
        Some(libc::EACCES | libc::EPERM) => format!("; permission denied: {PERMISSION_HINT}"),
        Some(libc::EBUSY) => format!(
            "; the line is in use by another program or a kernel driver (`gpioinfo` shows its \
             consumer on {chip}): stop that user, or wire to a free line and set `line`"
        ),
        Some(libc::ENODEV | libc::ENXIO) => "; the chip went away (unplugged, or its driver \
                                             unloaded); enrolld reopens the line when it is back"
            .to_owned(),
        _ => String::new(),
    }
}

/// The errno behind a gpiocdev error. Its uAPI errors wrap a type gpiocdev
/// does not export, whose text is the `std::io::Error` one, "... (os error N)".
fn errno(error: &gpiocdev::Error) -> Option<i32> {
    match error {
        gpiocdev::Error::Os(errno) => Some(errno.0),
        gpiocdev::Error::Uapi(_, inner) => errno_in(&inner.to_string()),
        _ => None,
    }
}

fn errno_in(text: &str) -> Option<i32> {
    let (_, tail) = text.rsplit_once("(os error ")?;
    tail.strip_suffix(')')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> gpiocdev::Error {
        gpiocdev::Error::from(std::io::Error::from_raw_os_error(errno))
    }

    #[test]
    fn permission_denied_says_which_group_and_unit_settings() {
        let e = GpioError::Chip {
            chip: "/dev/gpiochip0".into(),
            source: os(libc::EACCES),
        };
        assert_eq!(
            e.to_string(),
            "cannot open GPIO chip /dev/gpiochip0: Permission denied (os error 13); permission \
             denied: the packaged udev rule 60-enrolld-gpio.rules gives /dev/gpiochip* to group \
             `gpio` with mode 0660, the unit adds SupplementaryGroups=gpio and \
             DeviceAllow=char-gpiochip rw; without the package, add enrolld's user to the group \
             that owns the chip"
        );
    }

    #[test]
    fn a_busy_line_says_who_to_ask() {
        let e = GpioError::Request {
            chip: "gpiochip0 (pinctrl-bcm2711)".into(),
            line: "GPIO17 (offset 17)".into(),
            source: os(libc::EBUSY),
        };
        assert_eq!(
            e.to_string(),
            "cannot request line GPIO17 (offset 17) on gpiochip0 (pinctrl-bcm2711): Device or \
             resource busy (os error 16); the line is in use by another program or a kernel \
             driver (`gpioinfo` shows its consumer on gpiochip0 (pinctrl-bcm2711)): stop that \
             user, or wire to a free line and set `line`"
        );
    }

    #[test]
    fn the_errno_of_a_uapi_error_is_read_from_its_text() {
        let text = std::io::Error::from_raw_os_error(libc::EBUSY).to_string();
        assert_eq!(errno_in(&text), Some(libc::EBUSY));
        assert_eq!(errno_in("field 'x' contains unexpected value"), None);
    }

    #[test]
    fn other_errors_are_the_kernels_words_alone() {
        let e = GpioError::Read {
            chip: "gpiochip0".into(),
            line: "button".into(),
            source: os(libc::EIO),
        };
        assert_eq!(
            e.to_string(),
            "reading line button on gpiochip0 failed: Input/output error (os error 5)"
        );
        let gone = GpioError::Read {
            chip: "gpiochip0".into(),
            line: "button".into(),
            source: os(libc::ENODEV),
        };
        assert!(gone.to_string().contains("the chip went away"), "{gone}");
    }
}
