//! The demo's terminal: log lines scroll, and one status line (the LED, the
//! state, the queue) stays at the bottom, redrawn in place.
//!
//! Every write to the terminal goes through one lock: a log line first clears
//! the status line, prints itself with its newline, then redraws the status
//! line below it. Without this the two shared a line ("LED (*) ... INFO ...").
//! The status line is drawn only when stdout is a terminal; piped output gets
//! the plain lines alone.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, PoisonError};

use log::{Log, Metadata, Record};

use crate::gpio::{Layout, Levels};
use crate::machine::State;

/// What is on the bottom line now, if anything.
static STATUS: Mutex<Option<String>> = Mutex::new(None);

/// Erase the current line and go back to its start (VT100, every terminal).
const CLEAR_LINE: &str = "\r\x1b[K";

fn status_line() -> std::sync::MutexGuard<'static, Option<String>> {
    STATUS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prints a whole line on stdout above the status line.
pub fn say(line: &str) {
    let status = status_line();
    let mut out = std::io::stdout().lock();
    let _ = match status.as_deref() {
        Some(s) => write!(out, "{CLEAR_LINE}{line}\n{s}"),
        None => writeln!(out, "{line}"),
    };
    let _ = out.flush();
}

/// Prints a log line on stderr above the status line.
fn log_line(line: &str) {
    let status = status_line();
    if status.is_some() {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{CLEAR_LINE}");
        let _ = out.flush();
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    if let Some(s) = status.as_deref() {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{s}");
        let _ = out.flush();
    }
}

/// Replaces the status line (drawn only when stdout is a terminal).
pub fn set_status(line: String) {
    if !std::io::stdout().is_terminal() {
        return;
    }
    let mut status = status_line();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{CLEAR_LINE}{line}");
    let _ = out.flush();
    *status = Some(line);
}

/// Ends the status line (leaves it on screen) before the closing lines.
pub fn end_status() {
    if status_line().take().is_some() {
        println!();
    }
}

/// The status line's text: the LED as the person at the wall sees it, the
/// state, the queue and the count of registrations.
pub fn describe(
    state: &str,
    levels: Levels,
    layout: Layout,
    depth: u64,
    registered: u64,
) -> String {
    let lamp = if levels.contains(&true) { '●' } else { '○' };
    let led = State::ALL
        .into_iter()
        .find(|s| s.name() == state)
        .map_or_else(|| "?".to_owned(), |s| s.pattern().describe(layout));
    format!("LED {lamp} {led} ({state})   queue {depth}   registered {registered}")
}

/// The demo's logger: `LEVEL message` on stderr, above the status line,
/// without the key-value fields meant for the journal.
pub struct ScreenLog;

impl Log for ScreenLog {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        log_line(&format!("{:<5} {}", record.level(), record.args()));
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_names_colour_pattern_and_state() {
        let line = describe("registered", [true, false], Layout::Pair, 0, 2);
        assert_eq!(
            line,
            "LED ● green solid (registered)   queue 0   registered 2"
        );
        let line = describe("queued", [false, false], Layout::Pair, 3, 2);
        assert!(line.starts_with("LED ○ red slow blink (queued)"), "{line}");
        let line = describe("idle", [false, false], Layout::Single, 0, 0);
        assert!(line.starts_with("LED ○ off (idle)"), "{line}");
        let line = describe("see_reception", [false, true], Layout::Pair, 0, 3);
        assert!(
            line.starts_with("LED ● green solid, then red blinking 2 Hz (see_reception)"),
            "{line}"
        );
    }
}
