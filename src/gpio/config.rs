//! `[trigger]` and `[indicator]`: what the terminal's button, sensor and LEDs
//! are wired to, and the timings that make a press a press.
//!
//! Timing keys that only make sense for one trigger kind are `Option`s so a
//! key set for the wrong kind is reported instead of silently ignored, and so
//! defaults can follow the kind (a button and a PIR sensor are wired
//! differently). `effective_*` give the values in force.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// What starts an enrollment.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    /// Only the control socket (and the demo) trigger; no GPIO is opened.
    /// The default, so a config without `[trigger]` never touches hardware.
    #[default]
    None,
    /// A push button: one press, one event.
    Button,
    /// A presence (PIR) sensor: one event per presence episode.
    Presence,
}

/// Input bias; `as-is` leaves what the board or device tree configured.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BiasSetting {
    PullUp,
    PullDown,
    Disabled,
    AsIs,
}

impl BiasSetting {
    pub(crate) fn to_gpiocdev(self) -> Option<gpiocdev::line::Bias> {
        use gpiocdev::line::Bias;
        match self {
            BiasSetting::PullUp => Some(Bias::PullUp),
            BiasSetting::PullDown => Some(Bias::PullDown),
            BiasSetting::Disabled => Some(Bias::Disabled),
            BiasSetting::AsIs => None,
        }
    }
}

/// A line given by name (as `gpioinfo` shows it, e.g. `GPIO17`) or by offset.
/// A string of digits (`"17"`) is an offset, as with libgpiod's tools.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(
    untagged,
    expecting = "a line name such as \"GPIO17\" or an offset such as 17"
)]
pub enum LineSpec {
    Offset(u32),
    Name(String),
}

impl LineSpec {
    /// The offset, for an integer or an all-digit string.
    pub fn offset(&self) -> Option<u32> {
        match self {
            LineSpec::Offset(o) => Some(*o),
            LineSpec::Name(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().ok()
            }
            LineSpec::Name(_) => None,
        }
    }

    fn check(&self, key: &str) -> Result<(), Invalid> {
        match self {
            LineSpec::Name(n) if n.trim().is_empty() => {
                Err(Invalid::new(key, "must be a line name or an offset"))
            }
            LineSpec::Name(n)
                if self.offset().is_none() && n.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Err(Invalid::new(
                    key,
                    "offset is out of range: give the line's name or its offset on the chip \
                     (`enrolld probe` lists both)",
                ))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for LineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineSpec::Offset(o) => write!(f, "{o}"),
            LineSpec::Name(n) => f.write_str(n),
        }
    }
}

/// `[trigger]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {
    pub kind: TriggerKind,
    /// `/dev/gpiochip0`, `gpiochip0` or a label such as `pinctrl-bcm2711`.
    /// Optional when `line` is a name: every chip is searched.
    pub chip: Option<String>,
    pub line: Option<LineSpec>,
    /// Default: true for a button (wired to ground), false for presence.
    pub active_low: Option<bool>,
    /// Default: `pull-up` for a button, `as-is` for presence.
    pub bias: Option<BiasSetting>,
    /// Default: 20 ms for a button, 100 ms for presence.
    pub debounce_ms: Option<u32>,
    /// Button only: presses ignored this long after each enrollment. Default 2000.
    pub cooldown_ms: Option<u32>,
    /// Presence only: presence must last this long before an event. Default 1000.
    pub hold_ms: Option<u32>,
    /// Presence only: absence needed before a new episode can fire. Default 3000.
    pub rearm_ms: Option<u32>,
}

const MAX_DEBOUNCE_MS: u32 = 1_000;
const MAX_TIMING_MS: u32 = 600_000;

impl TriggerConfig {
    pub fn effective_active_low(&self) -> bool {
        self.active_low.unwrap_or(self.kind == TriggerKind::Button)
    }
    pub fn effective_bias(&self) -> BiasSetting {
        self.bias.unwrap_or(match self.kind {
            TriggerKind::Button => BiasSetting::PullUp,
            _ => BiasSetting::AsIs,
        })
    }
    pub fn effective_debounce(&self) -> Duration {
        ms(self.debounce_ms.unwrap_or(match self.kind {
            TriggerKind::Presence => 100,
            _ => 20,
        }))
    }
    pub fn effective_cooldown(&self) -> Duration {
        ms(self.cooldown_ms.unwrap_or(2_000))
    }
    pub fn effective_hold(&self) -> Duration {
        ms(self.hold_ms.unwrap_or(1_000))
    }
    pub fn effective_rearm(&self) -> Duration {
        ms(self.rearm_ms.unwrap_or(3_000))
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        check_chip(self.chip.as_deref())?;
        if let Some(line) = &self.line {
            line.check("line")?;
        }
        if self.kind != TriggerKind::None && self.line.is_none() {
            return Err(Invalid::new(
                "line",
                format!("is required when kind = \"{}\"", kind_name(self.kind)),
            ));
        }
        if self.line.as_ref().and_then(LineSpec::offset).is_some() && self.chip.is_none() {
            return Err(Invalid::new("chip", "is required when `line` is an offset"));
        }
        check_range("debounce_ms", self.debounce_ms, MAX_DEBOUNCE_MS)?;
        check_range("cooldown_ms", self.cooldown_ms, MAX_TIMING_MS)?;
        check_range("hold_ms", self.hold_ms, MAX_TIMING_MS)?;
        check_range("rearm_ms", self.rearm_ms, MAX_TIMING_MS)?;
        let only_for = |key: &str, set: bool, kind: TriggerKind| {
            if set && self.kind != kind && self.kind != TriggerKind::None {
                Err(Invalid::new(
                    key,
                    format!("only applies to kind = \"{}\"", kind_name(kind)),
                ))
            } else {
                Ok(())
            }
        };
        only_for(
            "cooldown_ms",
            self.cooldown_ms.is_some(),
            TriggerKind::Button,
        )?;
        only_for("hold_ms", self.hold_ms.is_some(), TriggerKind::Presence)?;
        only_for("rearm_ms", self.rearm_ms.is_some(), TriggerKind::Presence)?;
        Ok(())
    }
}

/// How many LEDs show the terminal's state.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    #[default]
    None,
    /// One LED on `line`.
    Single,
    /// A green LED and a red LED.
    Pair,
    /// No hardware: levels are recorded (to `record_file` if set) for the
    /// demo and for whole-daemon tests. A pair when `green`/`red` are named.
    Simulated,
}

/// `[indicator]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorConfig {
    pub kind: IndicatorKind,
    /// As in `[trigger]`; optional when the lines are given by name.
    pub chip: Option<String>,
    /// `kind = "single"`: the LED's line.
    pub line: Option<LineSpec>,
    /// `kind = "pair"`: the green LED's line.
    pub green: Option<LineSpec>,
    /// `kind = "pair"`: the red LED's line.
    pub red: Option<LineSpec>,
    /// LEDs wired from the supply to the pin (lit when the pin is low).
    pub active_low: bool,
    /// `kind = "simulated"`: append each change as a JSON line here.
    pub record_file: Option<std::path::PathBuf>,
}

impl IndicatorConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        check_chip(self.chip.as_deref())?;
        for (key, spec) in [
            ("line", &self.line),
            ("green", &self.green),
            ("red", &self.red),
        ] {
            if let Some(spec) = spec {
                spec.check(key)?;
            }
        }
        if self.record_file.is_some() && self.kind != IndicatorKind::Simulated {
            return Err(Invalid::new(
                "record_file",
                "only applies to kind = \"simulated\"",
            ));
        }
        match self.kind {
            IndicatorKind::None | IndicatorKind::Simulated => {}
            IndicatorKind::Single => {
                if self.line.is_none() {
                    return Err(Invalid::new("line", "is required when kind = \"single\""));
                }
                for (key, set) in [("green", self.green.is_some()), ("red", self.red.is_some())] {
                    if set {
                        return Err(Invalid::new(key, "only applies to kind = \"pair\""));
                    }
                }
            }
            IndicatorKind::Pair => {
                if self.line.is_some() {
                    return Err(Invalid::new(
                        "line",
                        "only applies to kind = \"single\" (a pair uses `green` and `red`)",
                    ));
                }
                let (Some(green), Some(red)) = (&self.green, &self.red) else {
                    let missing = if self.green.is_none() { "green" } else { "red" };
                    return Err(Invalid::new(missing, "is required when kind = \"pair\""));
                };
                if green == red {
                    return Err(Invalid::new("red", "must be a different line from `green`"));
                }
            }
        }
        let any_offset = [&self.line, &self.green, &self.red]
            .into_iter()
            .flatten()
            .any(|s| s.offset().is_some());
        if any_offset && self.chip.is_none() && self.kind != IndicatorKind::None {
            return Err(Invalid::new("chip", "is required when a line is an offset"));
        }
        Ok(())
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

fn kind_name(kind: TriggerKind) -> &'static str {
    match kind {
        TriggerKind::None => "none",
        TriggerKind::Button => "button",
        TriggerKind::Presence => "presence",
    }
}

fn check_chip(chip: Option<&str>) -> Result<(), Invalid> {
    match chip {
        Some(c) if c.trim().is_empty() => Err(Invalid::new(
            "chip",
            "must be a path (/dev/gpiochip0), a name (gpiochip0) or a label",
        )),
        _ => Ok(()),
    }
}

fn check_range(key: &str, value: Option<u32>, max: u32) -> Result<(), Invalid> {
    match value {
        Some(v) if v > max => Err(Invalid::new(key, format!("must be at most {max}"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(text: &str) -> Result<TriggerConfig, String> {
        let c: TriggerConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()
            .map_err(|i| format!("{}: {}", i.key, i.message))?;
        Ok(c)
    }

    fn indicator(text: &str) -> Result<IndicatorConfig, String> {
        let c: IndicatorConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()
            .map_err(|i| format!("{}: {}", i.key, i.message))?;
        Ok(c)
    }

    /// Each text is refused with a message starting with the expected "key: message".
    fn assert_refused<T>(parse: fn(&str) -> Result<T, String>, cases: &[(&str, &str)]) {
        for (text, want) in cases {
            let Err(got) = parse(text) else {
                panic!("{text:?} was accepted");
            };
            assert!(
                got.starts_with(want),
                "{text:?}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn empty_trigger_is_none_and_valid() {
        let c = trigger("").unwrap();
        assert_eq!(c.kind, TriggerKind::None);
    }

    #[test]
    fn button_defaults_follow_a_button_wired_to_ground() {
        let c = trigger("kind = \"button\"\nline = \"GPIO17\"\n").unwrap();
        assert!(c.effective_active_low());
        assert_eq!(c.effective_bias(), BiasSetting::PullUp);
        assert_eq!(c.effective_debounce(), Duration::from_millis(20));
        assert_eq!(c.effective_cooldown(), Duration::from_millis(2_000));
        assert_eq!(c.line, Some(LineSpec::Name("GPIO17".into())));
    }

    #[test]
    fn presence_defaults_follow_an_active_high_sensor() {
        let c = trigger("kind = \"presence\"\nline = \"pir\"\n").unwrap();
        assert!(!c.effective_active_low());
        assert_eq!(c.effective_bias(), BiasSetting::AsIs);
        assert_eq!(c.effective_debounce(), Duration::from_millis(100));
        assert_eq!(c.effective_hold(), Duration::from_millis(1_000));
        assert_eq!(c.effective_rearm(), Duration::from_millis(3_000));
    }

    #[test]
    fn line_may_be_an_offset_integer_or_digit_string() {
        let c = trigger("kind = \"button\"\nchip = \"gpiochip0\"\nline = 17\n").unwrap();
        assert_eq!(c.line.unwrap().offset(), Some(17));
        let c = trigger("kind = \"button\"\nchip = \"gpiochip0\"\nline = \"17\"\n").unwrap();
        assert_eq!(c.line.unwrap().offset(), Some(17));
    }

    #[test]
    fn trigger_errors_name_the_key() {
        let cases = [
            (
                "kind = \"button\"\n",
                "line: is required when kind = \"button\"",
            ),
            (
                "kind = \"button\"\nline = 4\n",
                "chip: is required when `line` is an offset",
            ),
            (
                "kind = \"button\"\nline = \"\"\n",
                "line: must be a line name or an offset",
            ),
            (
                "kind = \"button\"\nchip = \" \"\nline = \"b\"\n",
                "chip: must be a path",
            ),
            (
                "kind = \"button\"\nline = \"b\"\ndebounce_ms = 5000\n",
                "debounce_ms: must be at most 1000",
            ),
            (
                "kind = \"button\"\nline = \"b\"\nhold_ms = 10\n",
                "hold_ms: only applies to kind = \"presence\"",
            ),
            (
                "kind = \"presence\"\nline = \"b\"\ncooldown_ms = 10\n",
                "cooldown_ms: only applies to kind = \"button\"",
            ),
            (
                "kind = \"presence\"\nline = \"b\"\nrearm_ms = 700000\n",
                "rearm_ms: must be at most 600000",
            ),
            (
                "kind = \"button\"\nchip = \"c\"\nline = \"99999999999\"\n",
                "line: offset is out of range: give the line's name or its offset on the chip \
                 (`enrolld probe` lists both)",
            ),
        ];
        assert_refused(trigger, &cases);
    }

    #[test]
    fn a_line_that_is_neither_name_nor_offset_says_what_is_expected() {
        for bad in ["-1", "true", "1.5"] {
            let e = trigger(&format!("line = {bad}\n")).unwrap_err();
            assert!(
                e.contains("a line name such as \"GPIO17\" or an offset such as 17"),
                "{e}"
            );
        }
    }

    #[test]
    fn unknown_kind_and_bias_are_refused_by_the_parser() {
        assert!(
            trigger("kind = \"knob\"\n")
                .unwrap_err()
                .contains("unknown variant")
        );
        assert!(
            trigger("bias = \"up\"\n")
                .unwrap_err()
                .contains("unknown variant")
        );
        let c = trigger("kind = \"button\"\nline = \"b\"\nbias = \"as-is\"\n").unwrap();
        assert_eq!(c.effective_bias(), BiasSetting::AsIs);
    }

    #[test]
    fn indicator_single_and_pair() {
        assert_eq!(indicator("").unwrap().kind, IndicatorKind::None);
        indicator("kind = \"single\"\nline = \"led\"\n").unwrap();
        indicator("kind = \"pair\"\ngreen = \"g\"\nred = \"r\"\n").unwrap();
        indicator("kind = \"pair\"\nchip = \"gpiochip1\"\ngreen = 5\nred = 6\n").unwrap();
    }

    #[test]
    fn indicator_errors_name_the_key() {
        let cases = [
            ("kind = \"single\"\n", "line: is required"),
            (
                "kind = \"single\"\nline = \"a\"\nred = \"b\"\n",
                "red: only applies to kind = \"pair\"",
            ),
            ("kind = \"pair\"\ngreen = \"g\"\n", "red: is required"),
            ("kind = \"pair\"\nred = \"r\"\n", "green: is required"),
            (
                "kind = \"pair\"\nline = \"l\"\ngreen = \"g\"\nred = \"r\"\n",
                "line: only applies",
            ),
            (
                "kind = \"pair\"\ngreen = \"g\"\nred = \"g\"\n",
                "red: must be a different line",
            ),
            (
                "kind = \"single\"\nline = 3\n",
                "chip: is required when a line is an offset",
            ),
        ];
        assert_refused(indicator, &cases);
    }

    #[test]
    fn trigger_round_trips_through_toml() {
        let c = trigger("kind = \"presence\"\nline = \"pir\"\nhold_ms = 500\n").unwrap();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(trigger(&text).unwrap(), c);
    }
}
