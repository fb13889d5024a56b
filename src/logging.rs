//! Where log lines go: the systemd journal when stderr is connected to it (with
//! structured fields such as `ENROLLD_OUTCOME`), plain lines on stderr otherwise.
//!
//! Call sites attach fields with `log`'s key-value syntax:
//! `log::info!(enrolld_outcome = code; "registered {username}")`. The journal
//! logger upper-cases keys into journal fields; the stderr logger appends
//! them as `key=value`. Nothing secret is ever passed to a log macro: the token
//! type redacts itself and image bytes never leave the capture/encode/API path.

use std::io::Write;

use log::kv::{Key, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record};

/// Installs the logger once for the process. `verbose` lowers the level to debug.
pub fn init(verbose: bool) {
    let level = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let installed = if systemd_journal_logger::connected_to_journal() {
        systemd_journal_logger::JournalLog::new()
            .map(|j| j.with_syslog_identifier("enrolld".to_owned()))
            .map_err(|_| ())
            .and_then(|j| j.install().map_err(|_| ()))
    } else {
        log::set_boxed_logger(Box::new(StderrLog)).map_err(|_| ())
    };
    if installed.is_ok() {
        log::set_max_level(level);
    }
}

/// Plain `LEVEL message key=value ...` lines on stderr.
struct StderrLog;

impl Log for StderrLog {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let mut line = format!("{:<5} {}", record.level(), record.args());
        let _ = record.key_values().visit(&mut AppendPairs(&mut line));
        line.push('\n');
        // One write per line so concurrent threads don't interleave mid-line.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

struct AppendPairs<'a>(&'a mut String);

impl<'kvs> VisitSource<'kvs> for AppendPairs<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        self.0.push_str(&format!(" {key}={value}"));
        Ok(())
    }
}
