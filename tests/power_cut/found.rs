//! What a cut left on the disk, read by the host from the disk image before the next boot:
//! before any daemon started on it, so a start-up that wrongly deleted or rewrote a record
//! cannot hide what was there.
//!
//! The image is copied, the copy's ext4 journal replayed (`e2fsck -E journal_only`: what the
//! guest's kernel does when it mounts the disk, and nothing more), and its files dumped with
//! `debugfs` (e2fsprogs: no mount, no root needed). Records are read with the queue's key from
//! the dump itself, through enrolld's own record decoder (the format, not the start-up's
//! decisions); the tickets file through a copy opened by enrolld's tickets module.

use std::path::{Path, PathBuf};
use std::process::Command;

use enrolld::queue::QueueKey;
use enrolld::queue::entry::decode_prefix;
use enrolld::tickets::{self, Tickets};

/// The state directory as a cut left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Every name under the state directory, `./queue/...`, sorted (as drive.sh's `files`
    /// lists them in the guest).
    pub files: Vec<String>,
    /// The usernames of the pending tickets, next first.
    pub tickets: Vec<String>,
    /// Each record (`./queue/<seq>.bound`, `.sending`, `.entry`, `./queue/unknown/...`) with
    /// the username it is for.
    pub records: Vec<(String, String)>,
    /// Files that are not what their names say (a record that does not decode, a tickets file
    /// enrolld cannot read), with why.
    pub unreadable: Vec<String>,
}

/// Reads what is on `disk` (not changed), using `scratch` (emptied first) for the copy and
/// the dump.
pub fn read(disk: &Path, scratch: &Path) -> Result<Found, String> {
    let _ = std::fs::remove_dir_all(scratch);
    let dump = scratch.join("dump");
    std::fs::create_dir_all(&dump).map_err(|e| format!("{}: {e}", dump.display()))?;
    let copy = scratch.join("disk.img");
    run(Command::new("cp")
        .arg("--sparse=always")
        .arg(disk)
        .arg(&copy))?;
    // 0: nothing to replay; 1: the journal was replayed (the file system "fixed").
    let status = Command::new("e2fsck")
        .args(["-E", "journal_only", "-y"])
        .arg(&copy)
        .output()
        .map_err(|e| format!("cannot run e2fsck: {e}"))?;
    if !matches!(status.status.code(), Some(0 | 1)) {
        return Err(format!(
            "e2fsck -E journal_only {}: {}{}",
            copy.display(),
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump / {}", dump.display()))
        .arg(&copy))?;
    let found = read_dump(&dump);
    let _ = std::fs::remove_file(&copy);
    Ok(found)
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Reads a dumped state directory.
pub fn read_dump(dump: &Path) -> Found {
    let mut found = Found::default();
    let mut all = Vec::new();
    walk(dump, dump, &mut all);
    found.files = all.iter().map(|p| format!("./{}", p.display())).collect();
    // Byte order, as the guest's `find | sort` has it.
    found.files.sort();
    let key = read_key(&dump.join("queue/queue.key"));
    for rel in &all {
        let path = dump.join(rel);
        let shown = format!("./{}", rel.display());
        let name = rel.file_name().unwrap_or_default().to_string_lossy();
        if rel == Path::new("tickets.json") {
            read_tickets(&path, &mut found);
        } else if rel.starts_with("queue") && is_record(&name) {
            let who = if name.ends_with(".json") {
                std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|v| v["username"].as_str().map(str::to_owned))
                    .ok_or_else(|| "not an unknown delivery's JSON".to_owned())
            } else {
                match &key {
                    Some(key) => read_record(&path, key),
                    None => Err("no queue key beside it".to_owned()),
                }
            };
            match who {
                Ok(username) => found.records.push((shown, username)),
                Err(why) => found.unreadable.push(format!("{shown}: {why}")),
            }
        }
    }
    found
}

/// Every file and directory under `dir`, relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        out.push(path.strip_prefix(root).expect("below the root").to_owned());
        if path.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// `<20 digits>.<bound|sending|entry|json>`: a record, not a temporary file nor the queue's
/// own files.
fn is_record(name: &str) -> bool {
    match name.split_once('.') {
        Some((seq, kind)) => {
            seq.len() == 20
                && seq.bytes().all(|b| b.is_ascii_digit())
                && matches!(kind, "bound" | "sending" | "entry" | "json")
        }
        None => false,
    }
}

/// The generated key (`queue/queue.key`: 32 raw bytes).
fn read_key(path: &Path) -> Option<QueueKey> {
    let bytes: [u8; 32] = std::fs::read(path).ok()?.try_into().ok()?;
    Some(QueueKey::from_bytes(bytes))
}

fn read_record(path: &Path, key: &QueueKey) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    decode_prefix(&bytes, bytes.len() as u64, key).map(|d| d.header.username)
}

/// The pending tickets, as enrolld reads the file and its transaction log (copies: opening
/// them may rewrite them). A log line cut short is not unclean: the tickets file holds it.
fn read_tickets(path: &Path, found: &mut Found) {
    let copy = path.with_file_name("tickets-read.json");
    let log = tickets::log_path(path);
    let log_copy = tickets::log_path(&copy);
    let _ = std::fs::remove_file(&log_copy);
    if std::fs::copy(path, &copy).is_err()
        || (log.exists() && std::fs::copy(&log, &log_copy).is_err())
    {
        found
            .unreadable
            .push("./tickets.json: cannot copy".to_owned());
        return;
    }
    match Tickets::open(&copy, usize::MAX) {
        Ok(t) => match t.recovered() {
            Some(why) => found.unreadable.push(format!("./tickets.json: {why}")),
            None => found.tickets = t.iter().map(|t| t.username.clone()).collect(),
        },
        Err(e) => found.unreadable.push(format!("./tickets.json: {e}")),
    }
    let _ = std::fs::remove_file(&copy);
    let _ = std::fs::remove_file(&log_copy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_told_from_the_rest() {
        assert!(is_record("00000000000000000042.entry"));
        assert!(is_record("00000000000000000042.json"));
        assert!(!is_record(".tmp.00000000000000000042.entry.1.2"));
        assert!(!is_record("queue.key"));
        assert!(!is_record("sequence"));
    }
}
