//! One owner per queue directory: an exclusive `flock(2)` on `<dir>/.lock`,
//! held for as long as the [`Queue`](super::Queue) lives. The kernel drops it
//! when the process exits, however it exits, so a crash never leaves the
//! directory locked. This is what keeps `enrolld queue drop` (working on the
//! files while the daemon is stopped) and a starting daemon from acting on
//! the same records at once.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::QueueError;
use crate::fsutil::{FsError, PRIVATE_FILE};

pub(super) const LOCK_FILE: &str = ".lock";

#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock or says who has it; never waits.
    pub(super) fn take(dir: &Path) -> Result<DirLock, QueueError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE)
            .open(&path)
            .map_err(|e| FsError::new(&path, "open", &e))?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(QueueError::Locked {
                    dir: dir.to_owned(),
                });
            }
            return Err(FsError::new(&path, "lock", &err).into());
        }
        Ok(DirLock { _file: file })
    }
}
