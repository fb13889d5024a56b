//! `enrolld queue list|resend|drop|resume`: the enrollments waiting to be
//! delivered and the unknown deliveries an operator resolves, in the manner
//! of a mail server's `mailq` and `postsuper`.
//!
//! With the daemon running, every command goes through its control socket
//! (the daemon owns the records). With it stopped, `list`, `resend` and
//! `drop` work on the files directly, holding the directory's lock so a
//! daemon starting meanwhile waits its turn rather than act on the same
//! records; run as root, they act as the directory's owner so every file
//! stays the daemon's.

use std::path::Path;

use clap::Subcommand;
use serde_json::Value;

use super::client::SocketArgs;
use crate::config::Config;
use crate::control::client::{self, ClientError};
use crate::control::protocol::Request;
use crate::queue::{EntryId, Listed, Now, QueueError};
use crate::store::{Store, StoreError};

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    action: QueueAction,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// Queued, in-flight, unknown and review records: id, state, age,
    /// username, verification id, last answer (never the image; `--json`: a
    /// review record's whole answer, what the watchlist screening matched
    /// included).
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send an unknown delivery again. Check the IDMeta dashboard first: you
    /// accept that it may register twice ("already registered" then counts
    /// as registered).
    Resend { id: u64 },
    /// Delete a queued entry, an unknown delivery or a review record (once
    /// looked at) for good.
    Drop { id: u64 },
    /// Resume deliveries paused because IDMeta refused the token or the URL
    /// (after fixing it; `systemctl reload enrolld` does the same).
    Resume,
}

pub fn run(config_path: &Path, args: &QueueArgs) -> i32 {
    let config = match super::load_config_or_exit_code(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let socket = args.socket.path(&config);
    let request = match args.action {
        QueueAction::List { .. } => Request::QueueList,
        QueueAction::Resend { id } => Request::QueueResend { id },
        QueueAction::Drop { id } => Request::QueueDrop { id },
        QueueAction::Resume => Request::QueueResume,
    };
    let answer = match client::request(&socket, &request) {
        Ok(reply) => Ok(Answer::from_reply(&args.action, &reply)),
        Err(ClientError::Connect { .. }) => directly(&config, &args.action),
        Err(e) => Err(e.to_string()),
    };
    match answer {
        Ok(answer) => {
            answer.print(&args.action);
            crate::exit::OK
        }
        Err(message) => {
            eprintln!("enrolld: {message}");
            crate::exit::FAILURE
        }
    }
}

/// What a command produced, from the daemon or from the files.
enum Answer {
    Records(Vec<Value>),
    Done(String),
}

impl Answer {
    fn from_reply(action: &QueueAction, reply: &crate::control::Reply) -> Answer {
        match action {
            QueueAction::List { .. } => Answer::Records(
                reply
                    .get("records")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            ),
            QueueAction::Resend { id } => Answer::Done(format!("queue entry #{id} queued again")),
            QueueAction::Drop { id } => Answer::Done(format!(
                "queue entry #{id} for {} dropped",
                reply.get("username").and_then(Value::as_str).unwrap_or("?")
            )),
            QueueAction::Resume => Answer::Done("deliveries resumed".to_owned()),
        }
    }

    fn print(&self, action: &QueueAction) {
        match (self, action) {
            (Answer::Records(records), QueueAction::List { json: true }) => println!(
                "{}",
                serde_json::to_string_pretty(records).unwrap_or_default()
            ),
            (Answer::Records(records), _) => print_table(records),
            (Answer::Done(message), _) => println!("{message}"),
        }
    }
}

/// The daemon is not running: the same commands on the files.
fn directly(config: &Config, action: &QueueAction) -> Result<Answer, String> {
    if let QueueAction::Resume = action {
        return Ok(Answer::Done(
            "enrolld is not running; deliveries are not paused when it starts".to_owned(),
        ));
    }
    act_as_owner_of(&config.queue.dir)?;
    let opened = Store::open(
        &config.queue,
        &config.control.tickets_file,
        config.control.max_tickets,
    );
    let (mut store, _) = opened.map_err(|e| explain_open_failure(e, config))?;
    eprintln!(
        "(enrolld is not running: working on the files in {})",
        config.queue.dir.display()
    );
    let queue = store.queue_mut();
    match action {
        QueueAction::List { .. } => Ok(Answer::Records(
            queue
                .list(&Now::read())
                .iter()
                .map(|l: &Listed| serde_json::to_value(l).unwrap_or_default())
                .collect(),
        )),
        QueueAction::Resend { id } => queue
            .resend(EntryId(*id))
            .map(|()| {
                Answer::Done(format!(
                    "queue entry #{id} queued again; it is sent when enrolld starts"
                ))
            })
            .map_err(|e| e.to_string()),
        QueueAction::Drop { id } => queue
            .drop_record(EntryId(*id))
            .map(|name| Answer::Done(format!("queue entry #{id} for {name} dropped")))
            .map_err(|e| e.to_string()),
        QueueAction::Resume => unreachable!("answered above"),
    }
}

fn explain_open_failure(e: StoreError, config: &Config) -> String {
    match e {
        StoreError::Queue(QueueError::Locked { .. }) => format!(
            "enrolld is running (it holds {}) but its control socket {} does not answer; \
             check `systemctl status enrolld`",
            config.queue.dir.display(),
            config.control.socket.display()
        ),
        StoreError::Queue(QueueError::Key(k)) => format!(
            "{k}; with the key as a systemd credential the records can only be read while \
             enrolld runs"
        ),
        other => other.to_string(),
    }
}

/// Run as root, the command acts as the owner of the records directory, so
/// a lock file or a repair it makes stays readable by the daemon.
fn act_as_owner_of(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        // Nothing there yet: nothing to own.
        Err(_) => return Ok(()),
    };
    if meta.uid() == 0 {
        return Ok(());
    }
    // SAFETY: plain syscalls on integer ids; group first, while still root.
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(meta.gid()) != 0
            || libc::setuid(meta.uid()) != 0
    };
    if failed {
        return Err(format!(
            "cannot act as the owner of {} (uid {}): {}",
            dir.display(),
            meta.uid(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn print_table(records: &[Value]) {
    if records.is_empty() {
        println!("no queued entries, no unknown deliveries and no registrations to review");
        return;
    }
    println!(
        "{:<6} {:<8} {:>6}  {:<24} {:<38} LAST ANSWER",
        "ID", "STATE", "AGE", "USERNAME", "VERIFICATION ID"
    );
    for r in records {
        let text = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
        let mut last = text("last_answer");
        if let Some(n) = r["attempts"].as_u64().filter(|n| *n > 0) {
            last = format!("{last} ({n} attempts)");
        }
        if r["state"] == "unknown" && r["resendable"] == false {
            last = format!("{last}; no image on record, can only be dropped");
        }
        // The count only: whom it matched is for `--json`.
        if let Some(n) = r["answer"]["screening"]["matches"].as_u64() {
            last = format!("{last}: the watchlist screening matched {n} (see --json)");
        }
        println!(
            "{:<6} {:<8} {:>6}  {:<24} {:<38} {last}",
            r["id"].as_u64().unwrap_or(0),
            text("state"),
            age(r["age_secs"].as_u64().unwrap_or(0)),
            text("username"),
            text("verification_id"),
        );
    }
}

fn age(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7_199 => format!("{}m", secs / 60),
        7_200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(10_800), "3h");
        assert_eq!(age(200_000), "2d");
    }
}
