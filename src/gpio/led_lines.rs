//! The real LED driver: one gpiocdev v2 request holding the LED line(s) as
//! outputs, started inactive (dark).
//!
//! Thin on purpose (proven under QEMU with gpio-sim, not on this machine).
//! The kernel keeps an output's last value after a request is released, so
//! `Drop` drives every line inactive first: whatever path ends the process
//! short of an abort (SIGTERM handled by the daemon, an error unwinding the
//! runtime), the LEDs are left off.

use gpiocdev::Request;
use gpiocdev::line::{Value, Values};

use super::config::{IndicatorConfig, IndicatorKind, LineSpec};
use super::error::GpioError;
use super::indicator::LedDriver;
use super::patterns::{Layout, Levels};
use super::resolve::{self, ResolvedLine};

/// The consumer name `gpioinfo` shows for the LED lines.
pub const CONSUMER: &str = "enrolld-indicator";

pub(crate) struct LedLines {
    chip: Option<String>,
    specs: Vec<LineSpec>,
    active_low: bool,
    lines: Vec<ResolvedLine>,
    req: Option<Request>,
}

impl LedLines {
    /// `None` for `kind = "none"`.
    pub fn open(cfg: &IndicatorConfig) -> Result<Option<(Self, Layout)>, GpioError> {
        let (specs, layout) = match cfg.kind {
            IndicatorKind::None => return Ok(None),
            IndicatorKind::Single => (vec![required(&cfg.line, "line")?], Layout::Single),
            IndicatorKind::Pair => (
                vec![required(&cfg.green, "green")?, required(&cfg.red, "red")?],
                Layout::Pair,
            ),
        };
        let mut leds = LedLines {
            chip: cfg.chip.clone(),
            specs,
            active_low: cfg.active_low,
            lines: Vec::new(),
            req: None,
        };
        leds.request()?;
        Ok(Some((leds, layout)))
    }

    fn request(&mut self) -> Result<(), GpioError> {
        self.req = None;
        let lines = self
            .specs
            .iter()
            .map(|s| resolve::resolve_line(self.chip.as_deref(), s))
            .collect::<Result<Vec<_>, _>>()?;
        if let [first, second] = lines.as_slice()
            && first.chip.path != second.chip.path
        {
            return Err(GpioError::LinesOnDifferentChips {
                first: self.specs[0].to_string(),
                first_chip: first.chip.to_string(),
                second: self.specs[1].to_string(),
                second_chip: second.chip.to_string(),
            });
        }
        let offsets: Vec<u32> = lines.iter().map(|l| l.offset).collect();
        let mut b = Request::builder();
        b.on_chip(&lines[0].chip.path)
            .with_consumer(CONSUMER)
            .with_lines(&offsets)
            .as_output(Value::Inactive);
        if self.active_low {
            b.as_active_low();
        }
        let req = b.request().map_err(|source| GpioError::Request {
            chip: lines[0].chip.to_string(),
            line: self.describe(),
            source,
        })?;
        for l in &lines {
            log::info!("indicator: driving {l}");
        }
        self.req = Some(req);
        self.lines = lines;
        Ok(())
    }

    fn describe(&self) -> String {
        self.specs
            .iter()
            .map(LineSpec::to_string)
            .collect::<Vec<_>>()
            .join("+")
    }
}

impl LedDriver for LedLines {
    fn set(&mut self, levels: Levels) -> Result<(), GpioError> {
        let Some(req) = &self.req else {
            return Err(GpioError::Write {
                chip: self.chip.clone().unwrap_or_default(),
                line: self.describe(),
                source: gpiocdev::Error::InvalidArgument("lines not requested".into()),
            });
        };
        let mut values = Values::default();
        for (line, lit) in self.lines.iter().zip(levels) {
            values.set(line.offset, Value::from(lit));
        }
        req.set_values(&values).map_err(|source| GpioError::Write {
            chip: self.lines[0].chip.to_string(),
            line: self.describe(),
            source,
        })
    }

    fn recover(&mut self) -> Result<(), GpioError> {
        self.request()
    }
}

impl Drop for LedLines {
    fn drop(&mut self) {
        if self.req.is_some() {
            let _ = self.set([false, false]);
        }
    }
}

fn required(spec: &Option<LineSpec>, key: &str) -> Result<LineSpec, GpioError> {
    // Validation already refused this; keep the error readable if it slips through.
    spec.clone().ok_or_else(|| GpioError::LineNotFound {
        spec: format!("(indicator.{key} not set)"),
        chip: "config".into(),
        available: "-".into(),
    })
}
