//! The GPIO half of `enrolld probe`: every chip and every line, with what a
//! person wiring a terminal needs (names to put in the config, which lines
//! are free, how they are set up now).

use std::fmt::Write as _;

use gpiocdev::Chip;
use gpiocdev::line::{Bias, Direction, Info};

use super::error::GpioError;
use super::resolve::{self, ChipSummary};

/// The report as text; an error only if /dev cannot be listed at all.
pub fn describe() -> Result<String, GpioError> {
    let paths = gpiocdev::chip::chips().map_err(|source| GpioError::Chip {
        chip: "/dev".into(),
        source,
    })?;
    if paths.is_empty() {
        return Ok("GPIO: no chips (no /dev/gpiochip*; is the GPIO driver loaded?)\n".into());
    }
    let mut out = String::new();
    for path in paths {
        // One unreadable chip (permissions) must not hide the others.
        match resolve::chip_summary(&path).and_then(|c| line_infos(&c).map(|l| (c, l))) {
            Ok((chip, lines)) => out.push_str(&format_chip(&chip, &lines)),
            Err(e) => {
                let _ = writeln!(out, "{}: {e}", path.display());
            }
        }
    }
    Ok(out)
}

fn line_infos(chip: &ChipSummary) -> Result<Vec<Info>, GpioError> {
    let chip_err = |source| GpioError::Chip {
        chip: chip.to_string(),
        source,
    };
    let c = Chip::from_path(&chip.path).map_err(chip_err)?;
    c.line_info_iter()
        .map_err(chip_err)?
        .map(|i| i.map_err(chip_err))
        .collect()
}

/// One chip: a header line, then one line per GPIO line.
pub(crate) fn format_chip(chip: &ChipSummary, lines: &[Info]) -> String {
    let mut out = format!(
        "{} [{}] {} - {} lines\n",
        chip.path.display(),
        chip.label,
        chip.name,
        chip.num_lines
    );
    for l in lines {
        let name = if l.name.is_empty() {
            "unnamed".to_owned()
        } else {
            format!("\"{}\"", l.name)
        };
        let direction = match l.direction {
            Direction::Input => "input",
            Direction::Output => "output",
        };
        let active = if l.active_low {
            "active-low"
        } else {
            "active-high"
        };
        let bias = match l.bias {
            Some(Bias::PullUp) => "pull-up",
            Some(Bias::PullDown) => "pull-down",
            Some(Bias::Disabled) => "bias-disabled",
            None => "bias-as-is",
        };
        let usage = match (l.used, l.consumer.as_str()) {
            (false, _) => "free".to_owned(),
            (true, "") => "in use".to_owned(),
            (true, consumer) => format!("in use by \"{consumer}\""),
        };
        let _ = writeln!(
            out,
            "    line {:>3}: {:<16} {:<6} {:<11} {:<13} {usage}",
            l.offset, name, direction, active, bias
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chip_reads_like_gpioinfo() {
        let chip = ChipSummary {
            path: "/dev/gpiochip1".into(),
            name: "gpiochip1".into(),
            label: "enroll-sim".into(),
            num_lines: 3,
        };
        let lines = [
            Info {
                offset: 0,
                name: "led".into(),
                consumer: "enrolld-indicator".into(),
                used: true,
                direction: Direction::Output,
                ..Info::default()
            },
            Info {
                offset: 1,
                name: "button".into(),
                active_low: true,
                bias: Some(Bias::PullUp),
                ..Info::default()
            },
            Info {
                offset: 2,
                used: true,
                ..Info::default()
            },
        ];
        assert_eq!(
            format_chip(&chip, &lines),
            "/dev/gpiochip1 [enroll-sim] gpiochip1 - 3 lines\n\
             \x20   line   0: \"led\"            output active-high bias-as-is    in use by \"enrolld-indicator\"\n\
             \x20   line   1: \"button\"         input  active-low  pull-up       free\n\
             \x20   line   2: unnamed          input  active-high bias-as-is    in use\n"
        );
    }
}
