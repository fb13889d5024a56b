//! From config words to a chip path and a line offset.
//!
//! A chip is given by path (`/dev/gpiochip0`, or a udev symlink), by name
//! (`gpiochip0`) or by label (`pinctrl-bcm2711`, `enroll-sim`): labels are
//! what stays the same when chip numbering changes between boards and
//! kernels. A line is given by name, as `gpioinfo` shows it, or by offset;
//! without a chip, a named line is searched on every chip. When nothing
//! matches, the error lists what exists, so the fix is in the message.
//!
//! The choosing (`pick_*`) is pure and unit-tested; the I/O around it is a
//! thin layer over gpiocdev's chip API.

use std::fmt;
use std::path::{Path, PathBuf};

use gpiocdev::Chip;

use super::config::LineSpec;
use super::error::GpioError;

/// A GPIO chip as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipSummary {
    pub path: PathBuf,
    pub name: String,
    pub label: String,
    pub num_lines: u32,
}

impl fmt::Display for ChipSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.label)
    }
}

/// A line found on a chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLine {
    pub chip: ChipSummary,
    pub offset: u32,
    /// The kernel's name for the line; may be empty.
    pub name: String,
}

impl fmt::Display for ResolvedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "offset {} on {}", self.offset, self.chip)
        } else {
            write!(f, "{} (offset {}) on {}", self.name, self.offset, self.chip)
        }
    }
}

/// Every GPIO chip under /dev, in natural order. Chips that cannot be opened
/// (permissions) are skipped with a warning.
pub fn list_chips() -> Result<Vec<ChipSummary>, GpioError> {
    let paths = gpiocdev::chip::chips().map_err(|source| GpioError::Chip {
        chip: "/dev".into(),
        source,
    })?;
    let mut chips = Vec::with_capacity(paths.len());
    for path in paths {
        match chip_summary(&path) {
            Ok(c) => chips.push(c),
            Err(e) => log::warn!("{e}"),
        }
    }
    Ok(chips)
}

/// Opens one chip and reads its description.
pub fn chip_summary(path: &Path) -> Result<ChipSummary, GpioError> {
    let chip_err = |source| GpioError::Chip {
        chip: path.display().to_string(),
        source,
    };
    let chip = Chip::from_path(path).map_err(chip_err)?;
    let info = chip.info().map_err(chip_err)?;
    Ok(ChipSummary {
        path: chip.path().to_owned(),
        name: info.name,
        label: info.label,
        num_lines: info.num_lines,
    })
}

/// The names of a chip's lines, by offset (empty for unnamed lines).
pub fn line_names(chip: &ChipSummary) -> Result<Vec<String>, GpioError> {
    let chip_err = |source| GpioError::Chip {
        chip: chip.to_string(),
        source,
    };
    let c = Chip::from_path(&chip.path).map_err(chip_err)?;
    let iter = c.line_info_iter().map_err(chip_err)?;
    iter.map(|info| info.map(|i| i.name).map_err(chip_err))
        .collect()
}

/// Finds the chip a config names.
pub fn resolve_chip(spec: &str) -> Result<ChipSummary, GpioError> {
    if spec.contains('/') {
        return chip_summary(Path::new(spec)).map_err(|e| match e {
            GpioError::Chip { .. } if !Path::new(spec).exists() => GpioError::ChipNotFound {
                spec: spec.into(),
                available: list_chips().map(|c| describe_chips(&c)).unwrap_or_default(),
            },
            other => other,
        });
    }
    let chips = list_chips()?;
    pick_chip(spec, &chips).cloned()
}

/// Finds a line: on the given chip, or by name on every chip.
pub fn resolve_line(chip: Option<&str>, line: &LineSpec) -> Result<ResolvedLine, GpioError> {
    if let Some(spec) = chip {
        let chip = resolve_chip(spec)?;
        let names = line_names(&chip)?;
        let offset = pick_line(line, &chip, &names)?;
        let name = names.get(offset as usize).cloned().unwrap_or_default();
        return Ok(ResolvedLine { chip, offset, name });
    }
    let chips = list_chips()?;
    if chips.is_empty() {
        return Err(GpioError::NoChips);
    }
    let mut seen = Vec::with_capacity(chips.len());
    for chip in chips {
        let names = line_names(&chip)?;
        if let Ok(offset) = pick_line(line, &chip, &names) {
            let name = names[offset as usize].clone();
            return Ok(ResolvedLine { chip, offset, name });
        }
        seen.push(format!("{}: {}", chip.name, describe_names(&names)));
    }
    Err(GpioError::LineNotFound {
        spec: line.to_string(),
        chip: "any chip".into(),
        available: seen.join("; "),
    })
}

/// Chip by name first (names are unique), then by label.
pub(crate) fn pick_chip<'a>(
    spec: &str,
    chips: &'a [ChipSummary],
) -> Result<&'a ChipSummary, GpioError> {
    if chips.is_empty() {
        return Err(GpioError::NoChips);
    }
    if let Some(c) = chips.iter().find(|c| c.name == spec) {
        return Ok(c);
    }
    let by_label: Vec<&ChipSummary> = chips.iter().filter(|c| c.label == spec).collect();
    match by_label.as_slice() {
        [one] => Ok(one),
        [] => Err(GpioError::ChipNotFound {
            spec: spec.into(),
            available: describe_chips(chips),
        }),
        many => Err(GpioError::AmbiguousChip {
            spec: spec.into(),
            matches: many
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The offset of a line on a chip whose line names (by offset) are `names`.
pub(crate) fn pick_line(
    spec: &LineSpec,
    chip: &ChipSummary,
    names: &[String],
) -> Result<u32, GpioError> {
    let found = match (spec.offset(), spec) {
        (Some(offset), _) => (offset < chip.num_lines).then_some(offset),
        (None, LineSpec::Name(name)) => names
            .iter()
            .position(|n| n == name)
            .and_then(|i| u32::try_from(i).ok()),
        (None, LineSpec::Offset(_)) => None,
    };
    found.ok_or_else(|| GpioError::LineNotFound {
        spec: spec.to_string(),
        chip: chip.to_string(),
        available: match spec.offset() {
            Some(_) => format!("offsets 0 to {}", chip.num_lines.saturating_sub(1)),
            None => describe_names(names),
        },
    })
}

const NAMES_SHOWN: usize = 24;

fn describe_names(names: &[String]) -> String {
    let named: Vec<&str> = names
        .iter()
        .filter(|n| !n.is_empty())
        .map(String::as_str)
        .collect();
    let unnamed = names.len() - named.len();
    let mut text = if named.is_empty() {
        "none named".to_owned()
    } else {
        named[..named.len().min(NAMES_SHOWN)].join(", ")
    };
    if named.len() > NAMES_SHOWN {
        text.push_str(&format!(" and {} more", named.len() - NAMES_SHOWN));
    }
    if unnamed > 0 && !named.is_empty() {
        text.push_str(&format!(" ({unnamed} unnamed)"));
    }
    if names.is_empty() {
        text = "no lines".into();
    }
    text
}

fn describe_chips(chips: &[ChipSummary]) -> String {
    if chips.is_empty() {
        return "none".into();
    }
    chips
        .iter()
        .map(|c| format!("{} ({}, {} lines)", c.name, c.label, c.num_lines))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chip(n: u32, label: &str, lines: u32) -> ChipSummary {
        ChipSummary {
            path: PathBuf::from(format!("/dev/gpiochip{n}")),
            name: format!("gpiochip{n}"),
            label: label.into(),
            num_lines: lines,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chip_by_name_then_by_label() {
        let chips = [chip(0, "pinctrl-bcm2711", 58), chip(1, "enroll-sim", 8)];
        assert_eq!(pick_chip("gpiochip1", &chips).unwrap().label, "enroll-sim");
        assert_eq!(pick_chip("enroll-sim", &chips).unwrap().name, "gpiochip1");
    }

    #[test]
    fn unknown_chip_lists_the_chips() {
        let chips = [chip(0, "pinctrl-bcm2711", 58), chip(1, "enroll-sim", 8)];
        assert_eq!(
            pick_chip("gpiochip7", &chips).unwrap_err().to_string(),
            "GPIO chip `gpiochip7` not found; chips: gpiochip0 (pinctrl-bcm2711, 58 lines), \
             gpiochip1 (enroll-sim, 8 lines). Set `chip` to one of them by path, name or label \
             (`enrolld probe` lists them with their lines)"
        );
        assert_eq!(pick_chip("x", &[]), Err(GpioError::NoChips));
    }

    #[test]
    fn a_label_on_two_chips_is_ambiguous() {
        let chips = [chip(0, "gpio-sim", 8), chip(1, "gpio-sim", 8)];
        assert_eq!(
            pick_chip("gpio-sim", &chips),
            Err(GpioError::AmbiguousChip {
                spec: "gpio-sim".into(),
                matches: "gpiochip0, gpiochip1".into()
            })
        );
    }

    #[test]
    fn line_by_name_or_offset() {
        let c = chip(0, "enroll-sim", 4);
        let n = names(&["led", "button", "", "pir"]);
        assert_eq!(pick_line(&LineSpec::Name("button".into()), &c, &n), Ok(1));
        assert_eq!(pick_line(&LineSpec::Name("pir".into()), &c, &n), Ok(3));
        assert_eq!(pick_line(&LineSpec::Offset(2), &c, &n), Ok(2));
        assert_eq!(pick_line(&LineSpec::Name("3".into()), &c, &n), Ok(3));
    }

    #[test]
    fn unknown_line_lists_the_names() {
        let c = chip(0, "enroll-sim", 4);
        let n = names(&["led", "button", "", "pir"]);
        assert_eq!(
            pick_line(&LineSpec::Name("GPIO71".into()), &c, &n)
                .unwrap_err()
                .to_string(),
            "line `GPIO71` not found on gpiochip0 (enroll-sim); lines: led, button, pir \
             (1 unnamed). Set `line` to one of these names or offsets (`enrolld probe` lists them)"
        );
        assert_eq!(
            pick_line(&LineSpec::Offset(4), &c, &n)
                .unwrap_err()
                .to_string(),
            "line `4` not found on gpiochip0 (enroll-sim); lines: offsets 0 to 3. Set `line` to \
             one of these names or offsets (`enrolld probe` lists them)"
        );
    }

    #[test]
    fn long_name_lists_are_cut() {
        let many: Vec<String> = (0..30).map(|i| format!("GPIO{i}")).collect();
        let text = describe_names(&many);
        assert!(text.ends_with("GPIO23 and 6 more"), "{text}");
        assert_eq!(describe_names(&names(&["", ""])), "none named");
        assert_eq!(describe_names(&[]), "no lines");
    }

    #[test]
    fn resolved_line_reads_well() {
        let l = ResolvedLine {
            chip: chip(0, "enroll-sim", 8),
            offset: 1,
            name: "button".into(),
        };
        assert_eq!(l.to_string(), "button (offset 1) on gpiochip0 (enroll-sim)");
    }
}
