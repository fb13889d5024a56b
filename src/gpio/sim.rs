//! Simulated trigger line and LEDs for the demo and for tests.
//!
//! The simulated trigger is not a shortcut around the logic: a [`SimLine`]
//! is an `EdgeSource` behind the very same thread and rules as a real line,
//! so debounce, cooldown and presence behave exactly as on a terminal (the
//! line has no kernel, so the debounce is always the software one). To push a
//! ready-made press instead (control socket, demo keyboard), send
//! [`Press::injected`] on the daemon's channel.
//!
//! [`SimLeds`] records every change of the LED levels with its (tokio) time,
//! so tests with paused time assert exact sequences, and renders a one-line
//! view; given a file, it also appends each change there, which is how the
//! daemon's `indicator.kind = "simulated"` lets the demo and the whole-daemon
//! tests (another process) follow the LED.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::{LineSpec, TriggerConfig};
use super::error::GpioError;
use super::indicator::{self, IndicatorHandle, LedDriver};
use super::patterns::{Layout, Levels};
use super::rules::Edge;
use super::trigger::{self, EdgeSource, LoopSettings, Opened, TriggerHandle, lock};
use crate::press::Press;
use crate::time::monotonic_ns;

#[derive(Debug, Default)]
struct LineState {
    level: bool,
    edges: VecDeque<Edge>,
    unplugged: bool,
}

/// The "hand" on a simulated trigger line.
#[derive(Debug, Clone, Default)]
pub struct SimLine {
    shared: Arc<(Mutex<LineState>, Condvar)>,
    name: String,
}

impl SimLine {
    /// Sets the line's logical level (pressed / present = `true`) now.
    pub fn set_active(&self, active: bool) {
        let (state, wake) = &*self.shared;
        let mut s = lock(state);
        if s.level != active {
            s.level = active;
            s.edges.push_back(Edge {
                at_ns: monotonic_ns(),
                active,
            });
            wake.notify_all();
        }
    }

    /// A clean press: active for `hold`, then released (blocks for `hold`).
    pub fn press(&self, hold: Duration) {
        self.set_active(true);
        std::thread::sleep(hold);
        self.set_active(false);
    }

    /// Makes reads and opens fail, as a removed chip would.
    pub fn unplug(&self) {
        let (state, wake) = &*self.shared;
        lock(state).unplugged = true;
        wake.notify_all();
    }

    pub fn replug(&self) {
        lock(&self.shared.0).unplugged = false;
    }

    fn unplugged_error(&self) -> GpioError {
        GpioError::SimulatedUnplug {
            line: self.name.clone(),
        }
    }
}

impl EdgeSource for SimLine {
    fn open(&mut self) -> Result<Opened, GpioError> {
        let mut s = lock(&self.shared.0);
        if s.unplugged {
            return Err(self.unplugged_error());
        }
        s.edges.clear();
        Ok(Opened {
            active: s.level,
            kernel_debounce: false,
        })
    }

    fn wait(&mut self, timeout: Duration, edges: &mut Vec<Edge>) -> Result<(), GpioError> {
        let (state, wake) = &*self.shared;
        let s = lock(state);
        let (mut s, _) = wake
            .wait_timeout_while(s, timeout, |s| s.edges.is_empty() && !s.unplugged)
            .unwrap_or_else(PoisonError::into_inner);
        if s.unplugged {
            return Err(self.unplugged_error());
        }
        edges.extend(s.edges.drain(..));
        Ok(())
    }

    fn close(&mut self) {}
}

/// Starts a trigger on a simulated line with the rules `cfg` describes
/// (`chip`, `line`, `bias`, `active_low` are not used). For `kind = "none"`
/// the handle is disabled and the line goes nowhere.
pub fn start_trigger(
    cfg: &TriggerConfig,
    tx: mpsc::Sender<Press>,
) -> Result<(SimLine, TriggerHandle), GpioError> {
    let line = SimLine {
        shared: Arc::default(),
        name: cfg
            .line
            .as_ref()
            .map_or_else(|| "sim".to_owned(), LineSpec::to_string),
    };
    let handle = match LoopSettings::from_config(cfg) {
        None => TriggerHandle::disabled(),
        Some(settings) => trigger::spawn(line.clone(), settings, tx)?,
    };
    Ok((line, handle))
}

/// One recorded change of the LED levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Since the simulated LEDs were created (tokio time, so paused time is exact).
    pub at: Duration,
    pub levels: Levels,
}

/// The most changes a test's [`SimLeds`] keeps in memory.
const KEEP: usize = 4096;

/// A view on simulated LEDs: what they showed and when.
#[derive(Debug, Clone)]
pub struct SimLeds {
    layout: Layout,
    record: Arc<Mutex<VecDeque<Transition>>>,
    /// How many changes `record` holds at most.
    keep: usize,
    fail: Arc<Mutex<Option<GpioError>>>,
}

impl SimLeds {
    /// The changes so far (the latest few thousand), oldest first.
    pub fn transitions(&self) -> Vec<Transition> {
        lock(&self.record).iter().copied().collect()
    }

    /// The levels now (all off before the first write).
    pub fn current(&self) -> Levels {
        lock(&self.record)
            .back()
            .map_or([false, false], |t| t.levels)
    }

    /// Makes every write fail with `error` (or work again with `None`).
    pub fn fail_with(&self, error: Option<GpioError>) {
        *lock(&self.fail) = error;
    }

    /// The LEDs as one line of text, e.g. `LED [*]` or `green [*] red [ ]`.
    pub fn render(&self) -> String {
        let lamp = |lit: bool| if lit { "[*]" } else { "[ ]" };
        let [a, b] = self.current();
        match self.layout {
            Layout::Single => format!("LED {}", lamp(a)),
            Layout::Pair => format!("green {} red {}", lamp(a), lamp(b)),
        }
    }
}

/// The driver behind [`SimLeds`]: keeps each change in memory and, when
/// given a file, appends it there as a JSON line
/// (`{"t_ms":...,"levels":[a,b]}`) for a test or a demo in another process.
struct SimLedDriver {
    view: SimLeds,
    start: Instant,
    file: Option<std::fs::File>,
}

impl LedDriver for SimLedDriver {
    fn set(&mut self, levels: Levels) -> Result<(), GpioError> {
        if let Some(e) = lock(&self.view.fail).clone() {
            return Err(e);
        }
        let at = self.start.elapsed();
        {
            let mut record = lock(&self.view.record);
            if record.len() >= self.view.keep {
                record.pop_front();
            }
            record.push_back(Transition { at, levels });
        }
        if let Some(f) = self.file.as_mut() {
            let line = format!(
                "{{\"t_ms\":{},\"levels\":[{},{}]}}\n",
                at.as_millis(),
                levels[0],
                levels[1]
            );
            // A failed record write is not a GPIO fault: the LED "worked".
            let _ = f.write_all(line.as_bytes());
        }
        Ok(())
    }
}

/// Starts an indicator on simulated LEDs (inside a tokio runtime).
pub fn start_indicator(layout: Layout) -> (IndicatorHandle, SimLeds) {
    spawn_leds(layout, None, KEEP)
}

/// Simulated LEDs for a daemon (`indicator.kind = "simulated"`): every change
/// is appended to `record` (created if missing) when given, and only the
/// latest is kept in memory, since a daemon blinks for hours (demo, footprint
/// bench) and its history, if wanted, is the file.
pub fn start_indicator_recording(
    layout: Layout,
    record: Option<&Path>,
) -> std::io::Result<(IndicatorHandle, SimLeds)> {
    let file = match record {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => None,
    };
    Ok(spawn_leds(layout, file, 1))
}

fn spawn_leds(
    layout: Layout,
    file: Option<std::fs::File>,
    keep: usize,
) -> (IndicatorHandle, SimLeds) {
    let view = SimLeds {
        layout,
        record: Arc::default(),
        keep,
        fail: Arc::default(),
    };
    let driver = SimLedDriver {
        view: view.clone(),
        start: Instant::now(),
        file,
    };
    (indicator::spawn(driver, layout), view)
}
