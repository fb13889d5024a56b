//! Tickets: who the next press enrolls.
//!
//! A ticket `{username, verification_id?}` is handed in through the control
//! socket and consumed, oldest first, by the next accepted press. The list is
//! bounded and persisted (one small JSON file replaced atomically on every
//! change), so a restart loses none.
//!
//! Taking a ticket does not delete it: it becomes the *ticket in progress*,
//! still on disk, until the daemon reports the enrollment finished
//! ([`Tickets::finish`]) or gives it back ([`Tickets::put_back`], e.g. on a
//! retake, so the person just presses again). A ticket in progress found at
//! start (the daemon died mid-enrollment) goes back to the front.

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

const FILE_VERSION: u32 = 1;

/// Who to enroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_id: Option<String>,
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
        };
        ticket.check()?;
        Ok(ticket)
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
        Ok(())
    }
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
    #[serde(default)]
    in_progress: Option<Ticket>,
    #[serde(default)]
    pending: VecDeque<Ticket>,
}

/// The persisted FIFO of tickets.
#[derive(Debug)]
pub struct Tickets {
    path: PathBuf,
    max: usize,
    in_progress: Option<Ticket>,
    pending: VecDeque<Ticket>,
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
        }
        let mut tickets = Tickets {
            path: path.to_owned(),
            max,
            in_progress: None,
            pending: VecDeque::new(),
            recovered: None,
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tickets),
            Err(e) => return Err(FsError::new(path, "read", &e).into()),
        };
        match parse(&text) {
            Ok(stored) => {
                tickets.pending = stored.pending;
                // The daemon died mid-enrollment: that person was not
                // (knowingly) enrolled, so their ticket is next again.
                if let Some(t) = stored.in_progress {
                    tickets.pending.push_front(t);
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

    /// Number of tickets waiting for a press (the one in progress excluded).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Appends a ticket; returns its position (1 = next). Nothing changes if
    /// it cannot be stored.
    pub fn push(&mut self, ticket: Ticket) -> Result<usize, TicketError> {
        ticket.check()?;
        if self.pending.len() >= self.max {
            return Err(TicketError::Full { max: self.max });
        }
        self.pending.push_back(ticket);
        if let Err(e) = self.save() {
            self.pending.pop_back();
            return Err(e);
        }
        Ok(self.pending.len())
    }

    /// The oldest pending ticket becomes the ticket in progress.
    pub fn take(&mut self) -> Result<Option<Ticket>, TicketError> {
        if let Some(stale) = self.in_progress.take() {
            // The previous enrollment was never reported (a daemon bug):
            // treat it as finished rather than hold two tickets in progress,
            // and say so.
            log::warn!(
                "tickets: ticket for {:?} was still in progress; treating it as used",
                stale.username
            );
        }
        let Some(ticket) = self.pending.pop_front() else {
            return Ok(None);
        };
        self.in_progress = Some(ticket.clone());
        if let Err(e) = self.save() {
            self.pending.push_front(ticket);
            self.in_progress = None;
            return Err(e);
        }
        Ok(Some(ticket))
    }

    /// The enrollment of the ticket in progress ended (registered, queued,
    /// failed): it is used up.
    pub fn finish(&mut self) -> Result<(), TicketError> {
        if self.in_progress.take().is_some() {
            self.save()?;
        }
        Ok(())
    }

    /// The person was not enrolled (retake, capture failed, shutdown): the
    /// ticket in progress goes back to the front.
    pub fn put_back(&mut self) -> Result<(), TicketError> {
        if let Some(t) = self.in_progress.take() {
            self.pending.push_front(t);
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), TicketError> {
        let stored = StoredRef {
            version: FILE_VERSION,
            in_progress: self.in_progress.as_ref(),
            pending: &self.pending,
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
    in_progress: Option<&'a Ticket>,
    pending: &'a VecDeque<Ticket>,
}

/// Decodes and checks a tickets file; the number of tickets in it, or why
/// it is unusable. Public for fuzzing; [`Tickets::open`] is the interface.
#[doc(hidden)]
pub fn check_file(text: &[u8]) -> Result<usize, String> {
    parse(text).map(|s| s.pending.len() + usize::from(s.in_progress.is_some()))
}

fn parse(text: &[u8]) -> Result<Stored, String> {
    let stored: Stored = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    if stored.version != FILE_VERSION {
        return Err(format!("unknown version {}", stored.version));
    }
    for t in stored.pending.iter().chain(stored.in_progress.iter()) {
        t.check().map_err(|e| e.to_string())?;
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

    #[test]
    fn fifo_bounded_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tickets.json");
        let mut q = Tickets::open(&path, 2).unwrap();
        assert_eq!(q.push(t("a")).unwrap(), 1);
        assert_eq!(q.push(t("b")).unwrap(), 2);
        assert_eq!(q.push(t("c")), Err(TicketError::Full { max: 2 }));

        let mut q = Tickets::open(&path, 2).unwrap();
        assert_eq!(q.pending(), 2);
        assert_eq!(q.take().unwrap(), Some(t("a")));
        q.put_back().unwrap();
        assert_eq!(q.take().unwrap(), Some(t("a")));
        q.finish().unwrap();
        assert_eq!(q.take().unwrap(), Some(t("b")));
        // Killed mid-enrollment: "b" is back at the front after a restart.
        drop(q);
        let mut q = Tickets::open(&path, 2).unwrap();
        assert_eq!(q.pending(), 1);
        assert_eq!(q.take().unwrap(), Some(t("b")));
        q.finish().unwrap();
        assert_eq!(q.take().unwrap(), None);
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
