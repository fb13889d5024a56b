//! Tickets: who the next press enrolls.
//!
//! A ticket `{username, verification_id?}` is handed in through the control
//! socket and consumed, oldest first, by the next accepted press. The list is
//! bounded and persisted (one small JSON file replaced atomically and fsynced
//! on every change), so a restart loses none.
//!
//! The transactions of consumed tickets (remembered so that a request
//! delivered twice queues its person once) go to an append-only file beside
//! it, `<name>.transactions`, one per line, instead of being rewritten with
//! every change: the last 16 appended ride along in the
//! tickets file, which is fsynced anyway, and the log is fsynced once per that
//! many (docs/architecture.md, the queue, has the figures). A line cut
//! short by a power cut is therefore always also in the tickets file: it is
//! dropped at open and said once. The log is rewritten with the kept
//! transactions when it grows past twice [`REMEMBERED_TRANSACTIONS`].
//!
//! A press binds the front ticket to its capture: the ticket moves into that
//! enrollment's durable record (see [`crate::queue`]) and only then leaves
//! this list ([`Tickets::remove_front`]). It comes back to the front
//! ([`Tickets::restore_front`]) only when nothing was registered and the
//! same person is expected to press again (a retake, a failed capture).
//! Every ticket gets an id when it is pushed, so a ticket restored after a
//! crash is never listed twice.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};

/// Longest username accepted, in characters. IDMeta documents no limit; 128
/// holds any display name or e-mail address a reception desk would type, and
/// keeps a ticket small.
pub const MAX_USERNAME_CHARS: usize = 128;
/// Longest verification id accepted. IDMeta's are UUIDs (36 characters).
pub const MAX_VERIFICATION_ID_CHARS: usize = 128;

/// Longest request `transaction` accepted (an MQTT client's own id).
pub const MAX_TRANSACTION_CHARS: usize = 128;
/// Transactions remembered after their tickets were pushed, so a request
/// delivered twice (MQTT's QoS 1 is at least once) queues the person once.
/// A broker redelivers within minutes; 1000 covers days of a busy terminal.
pub const REMEMBERED_TRANSACTIONS: usize = 1000;

/// Transactions of consumed tickets appended to the log but not yet fsynced
/// there; the tickets file carries them until then. 16 keeps the file within
/// one 4 KiB block with 128-character ids and costs the log one fsync per 16
/// consumed tickets.
const UNSYNCED_TRANSACTIONS: usize = 16;

/// Version 2 added ticket ids and `next_id`; version 1 files are read too.
/// (`transactions` came later as an optional field: older files read as none.)
const FILE_VERSION: u32 = 2;

/// Who to enroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_id: Option<String>,
    /// Given when the ticket is pushed (0 before); unique per tickets file.
    #[serde(default)]
    pub id: u64,
    /// The requester's id for this request (MQTT `transaction`): a second
    /// ticket with a transaction already seen is not queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

/// What pushing a ticket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued at this position (1 = next).
    Queued(usize),
    /// Its transaction was seen before: nothing queued again.
    Repeated,
}

/// Why a ticket or the ticket file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("ticket queue full ({max} pending): wait for presses or raise control.max_tickets")]
    Full { max: usize },
    #[error(transparent)]
    Storage(#[from] FsError),
}

impl Ticket {
    /// A checked ticket; the error names the field and the rule broken.
    pub fn new(username: &str, verification_id: Option<&str>) -> Result<Ticket, TicketError> {
        let ticket = Ticket {
            username: username.to_owned(),
            verification_id: verification_id.map(str::to_owned),
            id: 0,
            transaction: None,
        };
        ticket.check()?;
        Ok(ticket)
    }

    /// The same ticket carrying the request's `transaction`, checked.
    pub fn with_transaction(mut self, transaction: Option<&str>) -> Result<Ticket, TicketError> {
        self.transaction = transaction.map(str::to_owned);
        self.check()?;
        Ok(self)
    }

    /// Checks a ticket however it was made (deserialized ones included).
    pub fn check(&self) -> Result<(), TicketError> {
        let invalid = |field, reason: &str| TicketError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        check_text(&self.username, MAX_USERNAME_CHARS).map_err(|r| invalid("username", &r))?;
        if let Some(id) = &self.verification_id {
            check_text(id, MAX_VERIFICATION_ID_CHARS)
                .map_err(|r| invalid("verification_id", &r))?;
            if id.chars().any(char::is_whitespace) {
                return Err(invalid("verification_id", "must not contain spaces"));
            }
        }
        if let Some(t) = &self.transaction {
            check_transaction(t).map_err(|r| invalid("transaction", &r))?;
        }
        Ok(())
    }
}

/// A request's `transaction`: what [`Ticket::check`] asks of it.
pub fn check_transaction(transaction: &str) -> Result<(), String> {
    check_text(transaction, MAX_TRANSACTION_CHARS)
}

/// Rules shared by usernames and verification ids. Strings are UTF-8 by
/// construction; the rest is what would confuse logs, JSON readers or the
/// person reading the status.
fn check_text(text: &str, max_chars: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(format!(
            "too long: {chars} characters (at most {max_chars})"
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains a control character (U+{:04X})",
            u32::from(c)
        ));
    }
    if text.trim() != text {
        return Err("must not start or end with spaces".to_owned());
    }
    Ok(())
}

/// The file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    /// Version 1 only: the ticket of an enrollment in progress.
    #[serde(default)]
    in_progress: Option<Ticket>,
    #[serde(default)]
    pending: VecDeque<Ticket>,
    /// The id the next pushed ticket gets.
    #[serde(default)]
    next_id: u64,
    /// Transactions of consumed tickets not yet fsynced in the log (before
    /// the log existed: every remembered transaction), oldest first.
    #[serde(default)]
    transactions: VecDeque<String>,
}

/// The persisted FIFO of tickets.
#[derive(Debug)]
pub struct Tickets {
    path: PathBuf,
    max: usize,
    pending: VecDeque<Ticket>,
    next_id: u64,
    /// The transactions of consumed tickets remembered, oldest first (those of
    /// pending tickets are in `pending`).
    transactions: VecDeque<String>,
    /// The last of `transactions`, appended to the log but not yet fsynced
    /// there: saved in the tickets file until then.
    unsynced: Vec<String>,
    log: TransactionLog,
    /// Set when the file was unreadable at open and moved aside.
    recovered: Option<String>,
}

impl Tickets {
    /// Loads the tickets at `path` (none if the file does not exist yet). An
    /// unreadable file is moved aside to `<path>.corrupt` and reported in
    /// [`Tickets::recovered`], not silently overwritten.
    pub fn open(path: &Path, max: usize) -> Result<Tickets, TicketError> {
        if let Some(dir) = path.parent() {
            fsutil::ensure_dir(dir, fsutil::PRIVATE_DIR)?;
            // Written on every change: a directory that refuses files must
            // stop the start, not the first ticket.
            fsutil::check_can_write(path)?;
        }
        // A save cut short by a power cut leaves its temporary file; the file itself holds
        // the last save that completed.
        fsutil::remove_leftover_temps(path)?;
        let (log, transactions) = TransactionLog::open(&log_path(path))?;
        let mut tickets = Tickets {
            path: path.to_owned(),
            max,
            pending: VecDeque::new(),
            next_id: 1,
            transactions,
            unsynced: Vec::new(),
            log,
            recovered: None,
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tickets),
            Err(e) => return Err(FsError::new(path, "read", &e).into()),
        };
        match parse(&text) {
            Ok(stored) => {
                let legacy = stored.version == 1;
                tickets.pending = stored.pending;
                tickets.next_id = stored.next_id.max(1);
                // Those the log may have lost (a line cut short): made durable there, once,
                // so the tickets file can drop them.
                if !stored.transactions.is_empty() {
                    for t in &stored.transactions {
                        tickets.log.append(t)?;
                        tickets.remember(t);
                    }
                    tickets.log.sync()?;
                    tickets.save()?;
                }
                // A version 1 file's ticket in progress: that enrollment's
                // fate is unknowable now; as before, the person is next again.
                if let Some(t) = stored.in_progress {
                    tickets.pending.push_front(t);
                }
                // Version 1 tickets have no ids yet.
                for t in tickets.pending.iter_mut().filter(|t| t.id == 0) {
                    t.id = tickets.next_id;
                    tickets.next_id += 1;
                }
                if legacy {
                    tickets.save()?;
                }
            }
            Err(reason) => {
                let aside = path.with_extension("json.corrupt");
                fsutil::rename_durable(path, &aside)?;
                tickets.recovered = Some(format!(
                    "{}: unreadable ({reason}); moved to {}",
                    path.display(),
                    aside.display()
                ));
            }
        }
        Ok(tickets)
    }

    /// What was wrong with the file at open, if it had to be moved aside.
    pub fn recovered(&self) -> Option<&str> {
        self.recovered.as_deref()
    }

    /// What the transaction log's open dropped (a line cut short by a power
    /// cut), to be said once.
    pub fn log_notice(&self) -> Option<&str> {
        self.log.notice.as_deref()
    }

    /// Whether a ticket with this transaction was pushed before (pending, or
    /// consumed and still remembered).
    fn seen(&self, transaction: &str) -> bool {
        self.transactions.iter().any(|t| t == transaction)
            || self
                .pending
                .iter()
                .any(|p| p.transaction.as_deref() == Some(transaction))
    }

    /// Keeps a consumed ticket's transaction in memory, bounded.
    fn remember(&mut self, transaction: &str) {
        if self.transactions.iter().any(|t| t == transaction) {
            return;
        }
        self.transactions.push_back(transaction.to_owned());
        if self.transactions.len() > REMEMBERED_TRANSACTIONS {
            self.transactions.pop_front();
        }
    }

    /// A consumed ticket's transaction goes to the log before the ticket
    /// leaves the tickets file: appended, and carried by the tickets file
    /// until the log is fsynced (once every [`UNSYNCED_TRANSACTIONS`]).
    fn log_consumed(&mut self, transaction: &str) -> Result<(), FsError> {
        if self.unsynced.iter().any(|t| t == transaction) {
            return Ok(());
        }
        if self.log.damaged {
            self.log.compact(&self.transactions)?;
            self.unsynced.clear();
        }
        self.log.append(transaction)?;
        self.remember(transaction);
        self.unsynced.push(transaction.to_owned());
        if self.unsynced.len() >= UNSYNCED_TRANSACTIONS {
            self.log.sync()?;
            self.unsynced.clear();
        }
        if self.log.lines > 2 * REMEMBERED_TRANSACTIONS {
            // Written whole and fsynced: nothing is left to carry.
            self.log.compact(&self.transactions)?;
            self.unsynced.clear();
        }
        Ok(())
    }

    /// Number of tickets waiting for a press (the one in progress excluded).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The pending tickets, next first.
    pub fn iter(&self) -> impl Iterator<Item = &Ticket> {
        self.pending.iter()
    }

    /// The ticket the next press binds, if any.
    pub fn front(&self) -> Option<&Ticket> {
        self.pending.front()
    }

    /// Appends a ticket and gives it its id; returns its position (1 =
    /// next), or [`Pushed::Repeated`] for a transaction seen before. The
    /// ticket and its transaction are saved in one write, so a crash
    /// cannot keep one without the other. Nothing changes if it cannot be
    /// stored.
    pub fn push(&mut self, mut ticket: Ticket) -> Result<Pushed, TicketError> {
        ticket.check()?;
        if let Some(t) = &ticket.transaction
            && self.seen(t)
        {
            return Ok(Pushed::Repeated);
        }
        if self.pending.len() >= self.max {
            return Err(TicketError::Full { max: self.max });
        }
        ticket.id = self.next_id;
        self.next_id += 1;
        self.pending.push_back(ticket);
        if let Err(e) = self.save() {
            self.pending.pop_back();
            self.next_id -= 1;
            return Err(e);
        }
        Ok(Pushed::Queued(self.pending.len()))
    }

    /// The front ticket (`id`) was bound to a capture and its record is on
    /// disk: it leaves the list. Nothing happens if another ticket is in
    /// front (already removed before a crash).
    pub fn remove_front(&mut self, id: u64) -> Result<(), TicketError> {
        if self.pending.front().map(|t| t.id) != Some(id) {
            return Ok(());
        }
        let ticket = self.pending.pop_front().expect("checked");
        // The transaction is on its way to the log before the ticket (which
        // carries it) leaves the file; a failure leaves at most a repeated
        // line, harmless.
        let logged = match &ticket.transaction {
            Some(t) => self.log_consumed(t).map_err(TicketError::from),
            None => Ok(()),
        };
        if let Err(e) = logged.and_then(|()| self.save()) {
            self.pending.push_front(ticket);
            return Err(e);
        }
        Ok(())
    }

    /// Nothing was registered for this ticket and the person presses again:
    /// it goes back to the front, unless it is already in the list (a
    /// restore repeated after a crash).
    pub fn restore_front(&mut self, ticket: Ticket) -> Result<(), TicketError> {
        if ticket.id != 0 && self.pending.iter().any(|t| t.id == ticket.id) {
            return Ok(());
        }
        self.next_id = self.next_id.max(ticket.id + 1);
        self.pending.push_front(ticket);
        if let Err(e) = self.save() {
            self.pending.pop_front();
            return Err(e);
        }
        Ok(())
    }

    fn save(&self) -> Result<(), TicketError> {
        let stored = StoredRef {
            version: FILE_VERSION,
            pending: &self.pending,
            next_id: self.next_id,
            transactions: &self.unsynced,
        };
        let mut text = serde_json::to_vec_pretty(&stored).expect("tickets serialize");
        text.push(b'\n');
        fsutil::write_atomic(&self.path, &text, fsutil::PRIVATE_FILE)?;
        Ok(())
    }
}

/// Borrowing twin of [`Stored`] so saving does not clone the list.
#[derive(Serialize)]
struct StoredRef<'a> {
    version: u32,
    pending: &'a VecDeque<Ticket>,
    next_id: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transactions: &'a Vec<String>,
}

/// Where the transaction log of the tickets file at `path` is.
pub fn log_path(path: &Path) -> PathBuf {
    path.with_extension("transactions")
}

/// The append-only file of consumed tickets' transactions, one per line.
#[derive(Debug)]
struct TransactionLog {
    path: PathBuf,
    file: std::fs::File,
    /// Lines in the file (repeats included), for compaction.
    lines: usize,
    /// An append failed part way: the file may end in half a line, so the
    /// next append rewrites it whole first.
    damaged: bool,
    /// What the open dropped, to be said once.
    notice: Option<String>,
}

impl TransactionLog {
    /// Opens (creates) the log; the last [`REMEMBERED_TRANSACTIONS`] in it,
    /// oldest first. A last line without its line break (cut short by a power
    /// cut; the tickets file also holds it) or a line that is not a
    /// transaction is dropped, noted, and the file rewritten without it.
    fn open(path: &Path) -> Result<(TransactionLog, VecDeque<String>), FsError> {
        fsutil::remove_leftover_temps(path)?;
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(FsError::new(path, "read", &e)),
        };
        let (kept, dropped) = read_log(&text);
        let mut transactions = VecDeque::new();
        for t in &kept {
            if !transactions.contains(t) {
                transactions.push_back(t.clone());
            }
            if transactions.len() > REMEMBERED_TRANSACTIONS {
                transactions.pop_front();
            }
        }
        let mut log = TransactionLog {
            path: path.to_owned(),
            file: fsutil::open_append(path, fsutil::PRIVATE_FILE)?,
            lines: kept.len(),
            damaged: false,
            notice: None,
        };
        if dropped > 0 || kept.len() > 2 * REMEMBERED_TRANSACTIONS {
            log.compact(&transactions)?;
        }
        if dropped > 0 {
            log.notice = Some(format!(
                "{}: dropped {dropped} unreadable line(s) (a write cut short by a power cut; the \
                 tickets file kept what they held)",
                path.display()
            ));
        }
        Ok((log, transactions))
    }

    fn append(&mut self, transaction: &str) -> Result<(), FsError> {
        use std::io::Write;
        let line = format!("{transaction}\n");
        self.file.write_all(line.as_bytes()).map_err(|e| {
            self.damaged = true;
            FsError::new(&self.path, "append to", &e)
        })?;
        self.lines += 1;
        Ok(())
    }

    fn sync(&self) -> Result<(), FsError> {
        fsutil::sync_file(&self.file, &self.path)
    }

    /// Rewrites the log with `kept` only, atomically and fsynced.
    fn compact(&mut self, kept: &VecDeque<String>) -> Result<(), FsError> {
        let mut text = String::new();
        for t in kept {
            text.push_str(t);
            text.push('\n');
        }
        fsutil::write_atomic(&self.path, text.as_bytes(), fsutil::PRIVATE_FILE)?;
        self.file = fsutil::open_append(&self.path, fsutil::PRIVATE_FILE)?;
        self.lines = kept.len();
        self.damaged = false;
        Ok(())
    }
}

/// The complete, valid lines of a log, and how many parts were dropped (a
/// last line without its line break, lines that are not transactions).
fn read_log(text: &[u8]) -> (Vec<String>, usize) {
    let mut kept = Vec::new();
    let mut dropped = 0;
    let mut parts: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // After the last line break: empty, or a line cut short.
    if parts.pop().is_some_and(|torn| !torn.is_empty()) {
        dropped += 1;
    }
    for part in parts {
        match std::str::from_utf8(part) {
            Ok(t) if check_transaction(t).is_ok() => kept.push(t.to_owned()),
            _ => dropped += 1,
        }
    }
    (kept, dropped)
}

/// Decodes and checks a tickets file; the number of tickets in it, or why
/// it is unusable. Public for fuzzing; [`Tickets::open`] is the interface.
#[doc(hidden)]
pub fn check_file(text: &[u8]) -> Result<usize, String> {
    parse(text).map(|s| s.pending.len() + usize::from(s.in_progress.is_some()))
}

fn parse(text: &[u8]) -> Result<Stored, String> {
    // The field's path first (`pending[2].username: invalid type ...`); the
    // position stays, since this is a file a person may open.
    let mut json = serde_json::Deserializer::from_slice(text);
    let stored: Stored =
        serde_path_to_error::deserialize(&mut json).map_err(|e| match e.path().iter().next() {
            Some(_) => format!("{}: {}", e.path(), e.inner()),
            None => e.inner().to_string(),
        })?;
    json.end().map_err(|e| e.to_string())?;
    if !(1..=FILE_VERSION).contains(&stored.version) {
        return Err(format!("unknown version {}", stored.version));
    }
    for t in stored.pending.iter().chain(stored.in_progress.iter()) {
        t.check().map_err(|e| e.to_string())?;
    }
    for t in &stored.transactions {
        check_transaction(t).map_err(|e| format!("transaction: {e}"))?;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Ticket {
        Ticket::new(name, None).unwrap()
    }

    fn reason(r: Result<Ticket, TicketError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn validation_names_field_and_rule() {
        assert_eq!(reason(Ticket::new("", None)), "username: must not be empty");
        let long = "x".repeat(129);
        assert_eq!(
            reason(Ticket::new(&long, None)),
            "username: too long: 129 characters (at most 128)"
        );
        assert!(Ticket::new(&"é".repeat(128), None).is_ok());
        assert_eq!(
            reason(Ticket::new("a\u{7}b", None)),
            "username: contains a control character (U+0007)"
        );
        assert_eq!(
            reason(Ticket::new(" ann", None)),
            "username: must not start or end with spaces"
        );
        assert_eq!(
            reason(Ticket::new("ann", Some("a b"))),
            "verification_id: must not contain spaces"
        );
        assert_eq!(
            reason(Ticket::new("ann", Some(""))),
            "verification_id: must not be empty"
        );
        assert!(Ticket::new("Ann Lee", Some("3f1c2a9e-0000-4000-8000-000000000001")).is_ok());
    }

    fn names(q: &Tickets) -> Vec<(u64, String)> {
        q.pending
            .iter()
            .map(|t| (t.id, t.username.clone()))
            .collect()
    }

    #[test]
    fn fifo_bounded_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tickets.json");
        let mut q = Tickets::open(&path, 2).unwrap();
        assert_eq!(q.push(t("a")).unwrap(), Pushed::Queued(1));
        assert_eq!(q.push(t("b")).unwrap(), Pushed::Queued(2));
        assert_eq!(q.push(t("c")), Err(TicketError::Full { max: 2 }));

        let mut q = Tickets::open(&path, 2).unwrap();
        assert_eq!(names(&q), [(1, "a".into()), (2, "b".into())]);
        let a = q.front().unwrap().clone();
        q.remove_front(a.id).unwrap();
        // Removing again (a repeat after a crash) does not take "b".
        q.remove_front(a.id).unwrap();
        assert_eq!(names(&q), [(2, "b".into())]);
        q.restore_front(a.clone()).unwrap();
        q.restore_front(a).unwrap();
        assert_eq!(
            names(&Tickets::open(&path, 2).unwrap()),
            [(1, "a".into()), (2, "b".into())]
        );
        // Ids are never reused, even for a ticket pushed after others left.
        q.remove_front(1).unwrap();
        q.remove_front(2).unwrap();
        assert_eq!(q.push(t("c")).unwrap(), Pushed::Queued(1));
        assert_eq!(q.front().unwrap().id, 3);
        assert_eq!(Tickets::open(&path, 2).unwrap().front().unwrap().id, 3);
    }

    #[test]
    fn a_transaction_queues_its_person_once_also_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let with = |name: &str, tx: &str| t(name).with_transaction(Some(tx)).unwrap();
        let mut q = Tickets::open(&path, 4).unwrap();
        assert_eq!(q.push(with("ann", "tx-1")).unwrap(), Pushed::Queued(1));
        assert_eq!(q.push(with("ann", "tx-1")).unwrap(), Pushed::Repeated);
        // Still remembered once the ticket was consumed, and after a restart.
        q.remove_front(1).unwrap();
        let mut q = Tickets::open(&path, 4).unwrap();
        assert_eq!(q.push(with("ann", "tx-1")).unwrap(), Pushed::Repeated);
        assert_eq!(q.push(with("bob", "tx-2")).unwrap(), Pushed::Queued(1));
        assert_eq!(names(&q), [(2, "bob".into())]);
        let e = t("ann").with_transaction(Some("")).unwrap_err().to_string();
        assert_eq!(e, "transaction: must not be empty");
    }

    #[test]
    fn remembered_transactions_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Tickets::open(&dir.path().join("tickets.json"), 2).unwrap();
        for i in 0..=REMEMBERED_TRANSACTIONS {
            let ticket = t("a").with_transaction(Some(&format!("tx-{i}"))).unwrap();
            q.push(ticket).unwrap();
            let id = q.front().unwrap().id;
            q.remove_front(id).unwrap();
        }
        assert_eq!(q.transactions.len(), REMEMBERED_TRANSACTIONS);
        let first = t("a").with_transaction(Some("tx-0")).unwrap();
        assert!(matches!(q.push(first).unwrap(), Pushed::Queued(_)));
    }

    /// The SD card's share: with a full memory of transactions, a ticket
    /// pushed and consumed rewrites only the pending tickets and appends one
    /// line (before: the 1,000 transactions, twice).
    #[test]
    fn consumed_transactions_are_appended_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let mut q = Tickets::open(&path, 4).unwrap();
        let uuid = |i: usize| format!("3f1c2a9e-0000-4000-8000-{i:012}");
        for i in 0..REMEMBERED_TRANSACTIONS {
            q.push(t("a").with_transaction(Some(&uuid(i))).unwrap())
                .unwrap();
            q.remove_front(q.front().unwrap().id).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        let file = size(&path);
        assert!(file < 1024, "the tickets file is {file} bytes");
        let log = log_path(&path);
        let before = size(&log);
        q.push(t("a").with_transaction(Some("tx-last")).unwrap())
            .unwrap();
        assert!(size(&path) < 1024);
        q.remove_front(q.front().unwrap().id).unwrap();
        assert_eq!(size(&log), before + "tx-last\n".len() as u64);
        // All of them remembered after a reopen.
        let mut q = Tickets::open(&path, 4).unwrap();
        let again = |i| t("a").with_transaction(Some(&uuid(i))).unwrap();
        assert_eq!(q.push(again(1)).unwrap(), Pushed::Repeated);
        assert_eq!(
            q.push(again(REMEMBERED_TRANSACTIONS - 1)).unwrap(),
            Pushed::Repeated
        );
        assert_eq!(q.log_notice(), None);
    }

    /// A power cut mid-append leaves half a line; the tickets file still
    /// holds that transaction, so nothing is forgotten, and the open says so
    /// once and leaves a clean log.
    #[test]
    fn a_log_line_cut_short_is_dropped_said_once_and_nothing_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let mut q = Tickets::open(&path, 4).unwrap();
        for tx in ["tx-1", "tx-22"] {
            q.push(t("a").with_transaction(Some(tx)).unwrap()).unwrap();
            q.remove_front(q.front().unwrap().id).unwrap();
        }
        drop(q);
        let log = log_path(&path);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "tx-1\ntx-22\n");
        // The cut: the last line's end did not reach the disk.
        std::fs::write(&log, "tx-1\ntx-2").unwrap();
        let mut q = Tickets::open(&path, 4).unwrap();
        let notice = q.log_notice().unwrap();
        assert!(notice.contains("dropped 1 unreadable line"), "{notice}");
        let again = |tx| t("b").with_transaction(Some(tx)).unwrap();
        assert_eq!(q.push(again("tx-22")).unwrap(), Pushed::Repeated);
        // The half line "tx-2" is not taken for a transaction of its own.
        assert_eq!(q.push(again("tx-2")).unwrap(), Pushed::Queued(1));
        drop(q);
        let q = Tickets::open(&path, 4).unwrap();
        assert_eq!(q.log_notice(), None, "said twice");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.lines().any(|l| l == "tx-22"), "{text}");
        assert!(text.ends_with('\n'), "{text:?}");
    }

    #[test]
    fn the_log_is_compacted_past_twice_the_kept_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let mut q = Tickets::open(&path, 2).unwrap();
        for i in 0..=2 * REMEMBERED_TRANSACTIONS {
            q.push(t("a").with_transaction(Some(&format!("tx-{i}"))).unwrap())
                .unwrap();
            q.remove_front(q.front().unwrap().id).unwrap();
        }
        let lines = std::fs::read_to_string(log_path(&path))
            .unwrap()
            .lines()
            .count();
        assert!(
            lines <= REMEMBERED_TRANSACTIONS + UNSYNCED_TRANSACTIONS,
            "{lines} lines"
        );
        let mut q = Tickets::open(&path, 2).unwrap();
        let tx = |i: usize| t("a").with_transaction(Some(&format!("tx-{i}"))).unwrap();
        assert_eq!(
            q.push(tx(2 * REMEMBERED_TRANSACTIONS)).unwrap(),
            Pushed::Repeated
        );
        assert!(matches!(q.push(tx(0)).unwrap(), Pushed::Queued(_)));
    }

    #[test]
    fn a_version_1_file_is_read_with_its_ticket_in_progress_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        std::fs::write(
            &path,
            br#"{"version":1,"in_progress":{"username":"ann"},"pending":[{"username":"bob"}]}"#,
        )
        .unwrap();
        let q = Tickets::open(&path, 4).unwrap();
        assert_eq!(names(&q), [(1, "ann".into()), (2, "bob".into())]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
        assert!(text.contains("\"next_id\": 3"), "{text}");
    }

    #[test]
    fn a_save_cut_short_leaves_no_temporary_file_after_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let mut q = Tickets::open(&path, 10).unwrap();
        q.push(t("ana")).unwrap();
        drop(q);
        let leftover = dir.path().join(".tmp.tickets.json.135.7");
        std::fs::write(&leftover, b"{\"version\":2,\"pend").unwrap();
        let other = dir.path().join(".tmp.status.json.1.1");
        std::fs::write(&other, b"not ours").unwrap();
        let q = Tickets::open(&path, 10).unwrap();
        assert!(
            !leftover.exists(),
            "the cut save's temporary file is still there"
        );
        assert!(other.exists(), "another file's temporary file was removed");
        assert_eq!(names(&q), vec![(1, "ana".to_string())]);
    }

    #[test]
    fn corrupt_file_is_moved_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        std::fs::write(&path, b"{\"version\":1,\"pending\":[{\"username\":\"\"}]}").unwrap();
        let q = Tickets::open(&path, 4).unwrap();
        assert_eq!(q.pending(), 0);
        let msg = q.recovered().unwrap();
        assert!(msg.contains("username: must not be empty"), "{msg}");
        assert!(dir.path().join("tickets.json.corrupt").exists());
        // A value of the wrong type is named by its place in the file.
        std::fs::write(&path, br#"{"version":2,"pending":[{"username":5}]}"#).unwrap();
        let q = Tickets::open(&path, 4).unwrap();
        let msg = q.recovered().unwrap();
        assert!(
            msg.contains("pending[0].username: invalid type: integer `5`"),
            "{msg}"
        );
    }

    #[test]
    fn storage_failure_leaves_the_list_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        let mut q = Tickets::open(&path, 4).unwrap();
        q.push(t("a")).unwrap();
        // Make the directory unwritable by replacing it with a file path.
        q.path = dir.path().join("missing/tickets.json");
        let err = q.push(t("b")).unwrap_err();
        assert!(matches!(err, TicketError::Storage(_)), "{err}");
        assert_eq!(q.pending(), 1);
    }
}
