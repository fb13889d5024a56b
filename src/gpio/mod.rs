//! The terminal's physical side over the GPIO character device (gpiocdev, uAPI v2):
//! a trigger (button or presence sensor) and an indicator (one LED or a
//! green/red pair).
//!
//! # What the daemon calls
//!
//! ```no_run
//! # async fn daemon(config: enrolld::config::Config) -> Result<(), enrolld::gpio::GpioError> {
//! use enrolld::gpio::{self, Pattern};
//! let (tx, mut presses) = tokio::sync::mpsc::channel(8);
//! let trigger = gpio::start_trigger(&config.trigger, tx)?; // stops on drop
//! let leds = gpio::start_indicator(&config.indicator)?;   // needs a tokio runtime
//! while let Some(press) = presses.recv().await {
//!     leds.show(Pattern::Busy);                             // never blocks
//!     // ... capture, register ...
//!     leds.show(Pattern::Success);                       // 3 s, then idle
//!     trigger.enrollment_finished();                        // starts the button cooldown
//!     let _ = (press.edge_monotonic_ns, trigger.health());
//! }
//! leds.shutdown().await;                                    // LEDs off
//! # Ok(()) }
//! ```
//!
//! - [`start_trigger`] resolves and requests the line once, so a wrong chip
//!   or line is an error at start-up. After that, a failing line (chip
//!   removed, read error) is a [`TriggerHealth::Fault`] while it is reopened
//!   with backoff (200 ms doubling to 5 s); events resume by themselves.
//! - Events carry the kernel's CLOCK_MONOTONIC timestamp of the (debounced)
//!   edge; [`crate::time::monotonic_ns`] reads the same clock.
//! - A press made while an enrollment runs is still sent: the daemon decides
//!   what it means. After [`TriggerHandle::enrollment_finished`], presses
//!   before the end of `cooldown_ms` are dropped.
//! - [`start_indicator`] starts a task that plays the latest [`Pattern`];
//!   [`IndicatorHandle::show`] replaces it at once. The LEDs are switched off
//!   by [`IndicatorHandle::shutdown`], by dropping the handle, and by the
//!   real driver's `Drop` if the runtime goes away first.
//! - [`sim`] has the same two things on simulated hardware (demo, tests).
//!
//! # Module map
//! - `config`: `[trigger]` and `[indicator]` and their checks.
//! - `resolve`: chip by path/name/label, line by name/offset; errors list what exists.
//! - `rules`: debounce, button and presence rules; pure, clock injected.
//! - `trigger`: the reader thread (rules, fault and backoff) over an edge source.
//! - `line_trigger`: the gpiocdev edge source (kernel debounce, software fallback).
//! - `patterns`: LED patterns as data. `indicator`: the task that plays them.
//! - `flash_limit`: at most three flashes a second when one pattern cuts into another.
//! - `led_lines`: the gpiocdev LED driver. `sim`: simulated line and LEDs.
//! - `probe`: the GPIO half of `enrolld probe`; `watch`: its `--watch` wiring check.

mod config;
mod error;
mod flash_limit;
mod indicator;
mod led_lines;
mod line_trigger;
mod patterns;
pub mod probe;
pub mod resolve;
pub mod rules;
pub mod sim;
mod trigger;
pub mod watch;

pub use crate::press::Press;
pub use config::{
    BiasSetting, IndicatorConfig, IndicatorKind, LineSpec, TriggerConfig, TriggerKind,
};
pub use error::GpioError;
pub use indicator::{IndicatorHandle, LedDriver, spawn as indicator_with_driver};
pub use patterns::{Layout, Levels, Pattern, Program, Repeat, Step};
pub use trigger::{DebounceMode, TriggerHandle, TriggerHealth};

use tokio::sync::mpsc;

/// Watches the configured trigger line and sends one [`Press`] per
/// press or presence episode into `tx`. `kind = "none"` gives a handle that
/// watches nothing. Events are dropped (with a warning) if `tx` is full, so
/// the reader never blocks.
pub fn start_trigger(
    cfg: &TriggerConfig,
    tx: mpsc::Sender<Press>,
) -> Result<TriggerHandle, GpioError> {
    let (Some(settings), Some(line)) = (trigger::LoopSettings::from_config(cfg), cfg.line.clone())
    else {
        return Ok(TriggerHandle::disabled());
    };
    trigger::spawn(line_trigger::LineEdges::new(cfg, line), settings, tx)
}

/// Requests the configured LED lines (dark) and starts the task that drives
/// them. Must be called inside a tokio runtime. `kind = "none"` gives a handle
/// that shows nothing.
pub fn start_indicator(cfg: &IndicatorConfig) -> Result<IndicatorHandle, GpioError> {
    match led_lines::LedLines::open(cfg)? {
        None => Ok(IndicatorHandle::disabled()),
        Some((driver, layout)) => Ok(indicator::spawn(driver, layout)),
    }
}
