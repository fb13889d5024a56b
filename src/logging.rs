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
    let sink: Box<dyn Log> = match systemd_journal_logger::JournalLog::new() {
        Ok(journal) if systemd_journal_logger::connected_to_journal() => {
            Box::new(journal.with_syslog_identifier("enrolld".to_owned()))
        }
        _ => Box::new(StderrLog),
    };
    init_with(verbose, sink);
}

/// Installs `sink` (behind the same wire-crate filter) as the logger, e.g.
/// the demo's screen, which has no use for the journal fields.
pub fn init_with(verbose: bool, sink: Box<dyn Log>) {
    let level = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let installed = log::set_boxed_logger(Box::new(QuietWire(sink)));
    if installed.is_ok() {
        log::set_max_level(level);
    }
}

/// The HTTP and TLS crates log request bytes at trace level, which would
/// include the `Authorization` header and the image: those targets are held
/// at info whatever the daemon's own level is.
struct QuietWire(Box<dyn Log>);

const WIRE_TARGETS: [&str; 3] = ["ureq", "rustls", "ureq_proto"];

impl Log for QuietWire {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let wire = WIRE_TARGETS
            .iter()
            .any(|t| metadata.target().starts_with(t));
        (!wire || metadata.level() <= log::Level::Info) && self.0.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
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
