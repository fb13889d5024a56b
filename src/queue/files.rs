//! File names and reading, writing and moving record files.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::entry::{self, Header};
use super::{CorruptFile, Entry, EntryId, Queue, QueueError, QueueKey, UnknownDelivery};
use crate::fsutil::{self, FsError, PRIVATE_FILE};

/// `<dir>/00000000000000000042.<kind>`
pub(super) fn record_path(dir: &Path, seq: u64, kind: &str) -> PathBuf {
    dir.join(format!("{seq:020}.{kind}"))
}

/// `00000000000000000042.entry` → (42, "entry").
pub(super) fn parse_name(name: &str) -> Option<(u64, &str)> {
    let (num, ext) = name.split_once('.')?;
    if num.len() != 20 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, ext))
}

pub(super) fn list(dir: &Path) -> Result<Vec<String>, QueueError> {
    let read = fs::read_dir(dir).map_err(|e| FsError::new(dir, "list", &e))?;
    let mut names = Vec::new();
    for item in read {
        let item = item.map_err(|e| FsError::new(dir, "list", &e))?;
        names.push(item.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Reads and authenticates the first line and header; returns them and the file size.
pub(super) fn read_prefix(path: &Path, key: &QueueKey) -> Result<(entry::Decoded, u64), String> {
    let mut file = fs::File::open(path).map_err(|e| fsutil::describe(&e))?;
    let len = file.metadata().map_err(|e| fsutil::describe(&e))?.len();
    let mut start = Vec::with_capacity(entry::PREFIX_READ);
    (&mut file)
        .take(entry::PREFIX_READ as u64)
        .read_to_end(&mut start)
        .map_err(|e| fsutil::describe(&e))?;
    Ok((entry::decode_prefix(&start, len, key)?, len))
}

/// Reads a whole record and opens the JPEG too.
pub(super) fn read_whole(
    path: &Path,
    id: EntryId,
    key: &QueueKey,
) -> Result<(Header, Vec<u8>), String> {
    let bytes = fs::read(path).map_err(|e| fsutil::describe(&e))?;
    let d = entry::decode_prefix(&bytes, bytes.len() as u64, key)?;
    if d.header.seq != id.0 {
        return Err("sequence number differs from file name".to_owned());
    }
    let jpeg = entry::open_jpeg(key, &d, &bytes[d.jpeg_offset..])?;
    Ok((d.header, jpeg))
}

impl Entry {
    pub(super) fn from_parts(header: Header, jpeg: Vec<u8>) -> Entry {
        Entry {
            id: EntryId(header.seq),
            username: header.username,
            verification_id: header.verification_id,
            created: header.created,
            jpeg,
            resent: header.resent,
        }
    }
}

impl Queue {
    /// Seals and writes a record atomically; returns its size on disk.
    pub(super) fn write_record(
        &self,
        path: &Path,
        header: &Header,
        jpeg: &[u8],
    ) -> Result<u64, QueueError> {
        let sealed = entry::seal_entry(&self.key, header, jpeg)
            .map_err(|bytes| QueueError::HeaderTooLarge { bytes })?;
        fsutil::write_atomic_parts(path, &[&sealed.prefix, &sealed.jpeg], PRIVATE_FILE)?;
        Ok(sealed.file_len())
    }

    /// Reads a record whole; a damaged one is moved to `corrupt/` and
    /// returned as [`QueueError::Corrupt`].
    pub(super) fn read_or_move_aside(
        &mut self,
        path: &Path,
        id: EntryId,
    ) -> Result<(Header, Vec<u8>), QueueError> {
        match read_whole(path, id, &self.key) {
            Ok(parts) => Ok(parts),
            Err(reason) => {
                let moved_to = self.move_aside(path, &reason)?;
                let username = self.report.corrupt.last().and_then(|c| c.username.clone());
                // Known from the index when even the header is unreadable now.
                let username = username.or_else(|| {
                    let meta = self.index.get(&id.0).map(|m| &m.username);
                    meta.or_else(|| self.unknown.get(&id.0).map(|u| &u.record.username))
                        .cloned()
                });
                Err(QueueError::Corrupt {
                    path: moved_to,
                    reason,
                    username,
                })
            }
        }
    }

    /// Who a damaged record was for, if its header still authenticates.
    pub(super) fn username_of_damaged(&self, path: &Path) -> Option<String> {
        let mut start = Vec::with_capacity(entry::PREFIX_READ);
        let file = fs::File::open(path).ok()?;
        file.take(entry::PREFIX_READ as u64)
            .read_to_end(&mut start)
            .ok()?;
        entry::header_of_damaged(&start, &self.key).map(|h| h.username)
    }

    pub(super) fn write_unknown_json(&self, record: &UnknownDelivery) -> Result<(), QueueError> {
        let mut json = serde_json::to_vec_pretty(record).expect("record serializes");
        json.push(b'\n');
        fsutil::write_atomic(&self.unknown_json(record.seq), &json, PRIVATE_FILE)?;
        Ok(())
    }

    /// Moves a damaged file to `corrupt/`, records it (with whom it was
    /// for, when its header still authenticates), returns where it went.
    pub(super) fn move_aside(&mut self, path: &Path, reason: &str) -> Result<PathBuf, QueueError> {
        let username = self.username_of_damaged(path);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let corrupt = self.config.dir.join("corrupt");
        let mut to = corrupt.join(&*name);
        let mut n = 1;
        while to.exists() {
            to = corrupt.join(format!("{name}.{n}"));
            n += 1;
        }
        fsutil::rename_durable(path, &to)?;
        self.report.corrupt.push(CorruptFile {
            moved_to: to.clone(),
            reason: reason.to_owned(),
            username,
        });
        Ok(to)
    }
}
