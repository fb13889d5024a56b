//! Crash-safe file operations: the pieces the queue, the tickets and the
//! status file share.
//!
//! A file is replaced atomically by writing a temporary file in the same
//! directory (so the rename cannot cross file systems), fsyncing it, renaming
//! it over the target and fsyncing the directory (so the rename itself is on
//! disk). After a power cut or a kill -9 a reader sees either the old content
//! or the new one, never a mix. Errors name the path and the step that failed,
//! and translate the errno people hit on SD cards ("disk full", "read-only
//! file system") into words.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of files holding biometric data or tickets.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode of directories holding such files.
pub const PRIVATE_DIR: u32 = 0o700;

/// A file-system step that failed: which path, which step, why, and (for
/// the errnos an installer meets) what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: cannot {step}: {reason}{advice}", path = path.display(), advice = self.advice())]
pub struct FsError {
    pub path: PathBuf,
    /// What was being done, e.g. "write", "rename into place".
    pub step: &'static str,
    /// The error kind, so callers can tell e.g. "not found" from the rest.
    pub kind: io::ErrorKind,
    /// Human words for the errno ("disk full" for ENOSPC).
    pub reason: String,
    /// The raw errno, if any (ENOSPC, EDQUOT, ...).
    pub errno: Option<i32>,
}

impl FsError {
    pub fn new(path: &Path, step: &'static str, err: &io::Error) -> Self {
        FsError {
            path: path.to_owned(),
            step,
            kind: err.kind(),
            reason: describe(err),
            errno: err.raw_os_error(),
        }
    }

    /// True when the disk (or the quota) is full: the caller may free space
    /// or report "storage full" rather than a generic failure.
    pub fn is_disk_full(&self) -> bool {
        matches!(self.errno, Some(libc::ENOSPC) | Some(libc::EDQUOT))
    }

    /// What to do, for the errnos a wrong owner, mode, path or unit causes.
    fn advice(&self) -> String {
        let dir = parent_of(&self.path).display();
        match self.errno {
            Some(libc::EACCES | libc::EPERM) => format!(
                "; the user enrolld runs as must own it: check owner and mode with `ls -ld {dir} \
                 {path}` (the packaged unit has systemd create /var/lib/enrolld and /run/enrolld \
                 for that user; a path elsewhere needs `chown enrolld`)",
                path = self.path.display()
            ),
            Some(libc::EROFS) => "; under the packaged unit only /var/lib/enrolld and \
                                  /run/enrolld are writable (ProtectSystem=strict): keep the path \
                                  below them, or add it to ReadWritePaths= in a drop-in"
                .to_owned(),
            Some(libc::ENOENT) => format!(
                "; check that {dir} exists (create it for the user enrolld runs as), or correct \
                 the path in the configuration"
            ),
            Some(libc::EEXIST) if self.step != "create directory" => String::new(),
            Some(libc::ENOTDIR | libc::EEXIST) => {
                "; a file stands where a directory is needed: correct the \
                                    path in the configuration, or move the file away"
                    .to_owned()
            }
            Some(libc::EISDIR) => "; a directory stands where a file is needed: correct the \
                                   path in the configuration, or move the directory away"
                .to_owned(),
            Some(libc::ENOSPC | libc::EDQUOT) => format!("; free space there (`df -h {dir}`)"),
            _ => String::new(),
        }
    }
}

/// The reason in words an integrator understands at a glance.
pub fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOSPC) => "disk full (ENOSPC)".to_owned(),
        Some(libc::EDQUOT) => "disk quota exceeded (EDQUOT)".to_owned(),
        Some(libc::EROFS) => "read-only file system (EROFS)".to_owned(),
        Some(libc::EACCES) | Some(libc::EPERM) => format!("permission denied ({err})"),
        Some(libc::EIO) => "input/output error: the storage may be failing (EIO)".to_owned(),
        _ => err.to_string(),
    }
}

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The prefix of temporary files; scanners of a directory skip (and may
/// remove) names starting with it, since they are leftovers of a crash.
pub const TEMP_PREFIX: &str = ".tmp.";

/// Replaces `path` with `bytes` atomically and durably, the file having `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    write_atomic_parts(path, &[bytes], mode)
}

/// Like [`write_atomic`], writing several slices one after the other (a
/// header and a body) without first joining them in memory.
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]], mode: u32) -> Result<(), FsError> {
    replace(path, parts, mode, Durability::Synced)
}

/// Replaces `path` with `bytes` atomically for readers (a reader sees the old
/// content or the new, never half), but not durably: nothing is fsynced. For
/// derived state that is written again at every start (the metrics textfile),
/// where an fsync would only wear the SD card: after a power cut the file may
/// hold an older version (ext4's `auto_da_alloc` keeps a replaced file from
/// coming back empty).
pub fn replace_unsynced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    replace(path, &[bytes], mode, Durability::Unsynced)
}

/// Whether a replacement must survive a power cut once it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    Synced,
    Unsynced,
}

fn replace(path: &Path, parts: &[&[u8]], mode: u32, durability: Durability) -> Result<(), FsError> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{name}.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_new(&temp, parts, mode, durability).and_then(|()| {
        fs::rename(&temp, path).map_err(|e| FsError::new(path, "rename into place", &e))
    });
    if result.is_err() {
        // Best effort: a leftover temp file is harmless (scanners skip it) but
        // would waste the space that was probably just found missing.
        let _ = fs::remove_file(&temp);
    }
    result?;
    match durability {
        Durability::Synced => sync_dir(dir),
        Durability::Unsynced => Ok(()),
    }
}

/// Creates `path` (which must not exist) with `mode` and writes it; fsyncs it
/// when it must be durable.
fn write_new(
    path: &Path,
    parts: &[&[u8]],
    mode: u32,
    durability: Durability,
) -> Result<(), FsError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| FsError::new(path, "create", &e))?;
    for part in parts {
        file.write_all(part)
            .map_err(|e| FsError::new(path, "write", &e))?;
    }
    // The umask may have narrowed the mode; 0600 stays 0600 either way, but a
    // wider requested mode (0644 status file) must not become narrower.
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| FsError::new(path, "set the mode of", &e))?;
    match durability {
        Durability::Synced => fsync(&file).map_err(|e| FsError::new(path, "fsync", &e)),
        Durability::Unsynced => Ok(()),
    }
}

/// Renames durably: the rename, then an fsync of the directory (or both
/// directories) so it survives a power cut.
pub fn rename_durable(from: &Path, to: &Path) -> Result<(), FsError> {
    fs::rename(from, to).map_err(|e| FsError::new(from, "rename", &e))?;
    sync_dir(parent_of(to))?;
    if parent_of(from) != parent_of(to) {
        sync_dir(parent_of(from))?;
    }
    Ok(())
}

/// Removes a file durably. A file already gone is not an error.
pub fn remove_durable(path: &Path) -> Result<(), FsError> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FsError::new(path, "remove", &e)),
    }
}

/// Removes the temporary files a replacement of `path` left behind when it was cut short (a
/// power cut between writing the temporary file and renaming it into place); returns how many.
/// `path` itself is untouched: it holds the last replacement that completed.
pub fn remove_leftover_temps(path: &Path) -> Result<usize, FsError> {
    let dir = parent_of(path);
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(0);
    };
    let prefix = format!("{TEMP_PREFIX}{name}.");
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(FsError::new(dir, "list", &e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| FsError::new(dir, "list", &e))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            remove_durable(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Opens `path` for appending, creating it with `mode` if it does not exist
/// (its name fsynced into the directory then, so a later [`sync_file`] of
/// what was appended is enough for it to survive a power cut).
pub fn open_append(path: &Path, mode: u32) -> Result<File, FsError> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
        .map_err(|e| FsError::new(path, "open for appending", &e))?;
    if !existed {
        sync_dir(parent_of(path))?;
    }
    Ok(file)
}

/// fsyncs what was written to `file` (at `path`, for the error).
pub fn sync_file(file: &File, path: &Path) -> Result<(), FsError> {
    fsync(file).map_err(|e| FsError::new(path, "fsync", &e))
}

/// fsyncs a directory so the names created, renamed or removed in it persist.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| fsync(&d))
        .map_err(|e| FsError::new(dir, "fsync directory", &e))
}

/// True in a build with the test-only `test-no-fsync` feature, which skips every fsync; the
/// daemon says so at start.
pub const FSYNC_TURNED_OFF: bool = cfg!(feature = "test-no-fsync");

/// The one place a file or directory is fsynced. The `test-no-fsync` feature
/// (the power-cut harness's self-test, tests/power_cut.rs) makes it do
/// nothing, so the harness can show that it notices the writes that are lost
/// then; no package enables it, and the daemon warns at start when it is on.
fn fsync(file: &File) -> io::Result<()> {
    if FSYNC_TURNED_OFF {
        return Ok(());
    }
    file.sync_all()
}

/// Creates `dir` and its missing parents with `mode`; an existing `dir` is
/// left as it is (it may be systemd's `RuntimeDirectory=` with its own mode).
///
/// A directory made here is fsynced into its parent (each one, when several
/// levels were missing), like any other new name: the records written into
/// it later are fsynced themselves, but a file system is free to lose the
/// directory holding them if its own name never reached the disk.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<(), FsError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err())
        .collect();
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| FsError::new(dir, "create directory", &e))?;
    if !dir.is_dir() {
        let e = io::Error::from_raw_os_error(libc::ENOTDIR);
        return Err(FsError::new(dir, "use as directory", &e));
    }
    // Outermost last: by then every name below it is on disk.
    for made in missing {
        sync_dir(parent_of(made))?;
    }
    Ok(())
}

/// Proves at start that `file` can be written, its directory existing, by
/// creating and removing an empty temporary file beside it (files are
/// replaced through one): a directory that exists but is read-only (a card
/// remounted read-only, a path outside the unit's writable ones) would
/// otherwise fail only at the first write, long after the daemon reported
/// itself ready. A directory standing at `file` is refused too: nothing can be
/// renamed over it, so every write would fail. The error names `file`.
pub fn check_can_write(file: &Path) -> Result<(), FsError> {
    if file.is_dir() {
        let e = io::Error::from_raw_os_error(libc::EISDIR);
        return Err(FsError::new(file, "replace", &e));
    }
    let probe = parent_of(file).join(format!(
        "{TEMP_PREFIX}probe.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(&probe)
        .map_err(|e| FsError::new(file, "create", &e))?;
    fs::remove_file(&probe).map_err(|e| FsError::new(&probe, "remove", &e))
}

/// Creates `dir` like [`ensure_dir`] and then sets exactly `mode` on it, so a
/// directory holding faces is private even if it existed with a wider mode.
pub fn ensure_private_dir(dir: &Path, mode: u32) -> Result<(), FsError> {
    ensure_dir(dir, mode)?;
    fs::set_permissions(dir, Permissions::from_mode(mode))
        .map_err(|e| FsError::new(dir, "set the mode of", &e))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The id of the group called `name`, `None` if there is no such group.
///
/// Uses `getgrnam_r`, not `getgrnam`: the latter returns a pointer into one
/// static buffer that any other thread's group or user lookup may overwrite,
/// and the daemon runs on a multi-threaded runtime.
pub fn group_id(name: &str) -> io::Result<Option<libc::gid_t>> {
    let Ok(name) = std::ffi::CString::new(name) else {
        return Ok(None); // a name with a NUL byte names no group
    };
    // Big enough for any ordinary group; grown on ERANGE (a group with many members).
    let mut buf = vec![0u8; 1024];
    loop {
        let mut group = std::mem::MaybeUninit::<libc::group>::uninit();
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `name` is NUL-terminated,
        // `group` and `result` are writable locals, and `buf` is writable for
        // the length passed. The record's strings point into `buf`; we read
        // only `gr_gid` (a plain integer), and only when `result` is non-null,
        // which is when the call filled `group`.
        let (rc, gid) = unsafe {
            let rc = libc::getgrnam_r(
                name.as_ptr(),
                group.as_mut_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            );
            (rc, (rc == 0 && !result.is_null()).then(|| (*result).gr_gid))
        };
        match rc {
            0 => return Ok(gid),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            // Not-found codes some libcs return instead of a null result.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one", PRIVATE_FILE).unwrap();
        write_atomic_parts(&path, &[b"tw", b"o"], 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn error_names_path_and_step() {
        let path = Path::new("/nonexistent-dir-enrolld/x");
        let err = write_atomic(path, b"x", PRIVATE_FILE).unwrap_err();
        assert_eq!(err.step, "create");
        assert_eq!(err.kind, io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent-dir-enrolld/.tmp.x"));
    }

    #[test]
    fn permission_and_read_only_errors_say_what_to_do() {
        let e = io::Error::from_raw_os_error(libc::EACCES);
        let err = FsError::new(Path::new("/var/lib/enrolld/queue/1.bound"), "create", &e);
        assert_eq!(
            err.to_string(),
            "/var/lib/enrolld/queue/1.bound: cannot create: permission denied (Permission denied \
             (os error 13)); the user enrolld runs as must own it: check owner and mode with \
             `ls -ld /var/lib/enrolld/queue /var/lib/enrolld/queue/1.bound` (the packaged unit \
             has systemd create /var/lib/enrolld and /run/enrolld for that user; a path \
             elsewhere needs `chown enrolld`)"
        );
        let e = io::Error::from_raw_os_error(libc::EROFS);
        let err = FsError::new(Path::new("/srv/status.json"), "create", &e);
        assert!(
            err.to_string().ends_with(
                "read-only file system (EROFS); under the packaged unit only /var/lib/enrolld and \
                 /run/enrolld are writable (ProtectSystem=strict): keep the path below them, or \
                 add it to ReadWritePaths= in a drop-in"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_where_a_directory_belongs_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("queue");
        fs::write(&file, b"").unwrap();
        let err = ensure_dir(&file, PRIVATE_DIR).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "; a file stands where a directory is needed: correct the path in the \
                 configuration, or move the file away"
            ),
            "{err}"
        );
    }

    #[test]
    fn enospc_reads_disk_full() {
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        let err = FsError::new(Path::new("/q/1.entry"), "write", &e);
        assert!(err.is_disk_full());
        assert_eq!(
            err.to_string(),
            "/q/1.entry: cannot write: disk full (ENOSPC); free space there (`df -h /q`)"
        );
    }

    #[test]
    fn private_dir_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("a/b");
        ensure_dir(&q, 0o755).unwrap();
        ensure_private_dir(&q, PRIVATE_DIR).unwrap();
        assert_eq!(fs::metadata(&q).unwrap().mode() & 0o777, 0o700);
        remove_durable(&q.join("missing")).unwrap();
    }

    #[test]
    fn group_ids_are_looked_up() {
        assert_eq!(group_id("root").unwrap(), Some(0));
        assert_eq!(group_id("no-such-group-enrolld").unwrap(), None);
        assert_eq!(group_id("bad\0name").unwrap(), None);
    }

    #[test]
    fn group_lookups_agree_across_threads() {
        let threads: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| (0..200).all(|_| group_id("root").unwrap() == Some(0))))
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap()));
    }
}
