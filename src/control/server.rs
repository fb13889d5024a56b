//! The socket server: bind (replacing a stale socket left by a crash), then
//! [`run`] until shutdown, in the manner of tokio's mini-redis: an accept
//! loop, one task per connection, a bounded number of connections, and a
//! graceful stop that tells every connection to finish and waits for them.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc};

use super::protocol::{Command, Reply, parse_line};
use super::{ControlConfig, MAX_BAD_REQUESTS, MAX_LINE, SOCKET_MODE};
use crate::fsutil::{self, FsError};
use crate::shutdown::Shutdown;

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 16;
/// A connection silent for this long is closed (a stuck client must not
/// hold a slot forever).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the daemon implements to answer commands.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, command: Command) -> impl Future<Output = Reply> + Send;
}

/// Why the socket could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error(
        "{path}: another enrolld is already listening here; stop it first",
        path = path.display()
    )]
    InUse { path: PathBuf },
    #[error(
        "{path}: exists and is not a socket; refusing to replace it",
        path = path.display()
    )]
    NotASocket { path: PathBuf },
    #[error(
        "control.group = `{0}`: no such group; create it (`groupadd {0}`) or correct control.group"
    )]
    NoSuchGroup(String),
    /// The socket was made with the daemon's own group and changing it is
    /// not allowed (the shipped unit forbids chown).
    #[error(
        "control.group = `{group}`: the socket belongs to the daemon's own group (GID {own_gid}) \
         and may not be given to another one here; run the daemon with that group instead \
         (systemd: `Group={group}` in a drop-in, `systemctl edit enrolld`), or leave \
         control.group unset and add the socket's users to the daemon's group"
    )]
    GroupNotAllowed { group: String, own_gid: u32 },
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// Binds the control socket: creates its directory, replaces a stale socket
/// file (one nobody listens on: the daemon crashed), refuses to steal a live
/// one, then sets mode 0660 and the configured group.
pub fn bind(config: &ControlConfig) -> Result<UnixListener, BindError> {
    let path = &config.socket;
    if let Some(dir) = path.parent() {
        fsutil::ensure_dir(dir, 0o755)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(BindError::NotASocket { path: path.clone() });
        }
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => return Err(BindError::InUse { path: path.clone() }),
            Err(_) => fsutil::remove_durable(path)?,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(FsError::new(path, "inspect", &e).into()),
    }
    let listener = UnixListener::bind(path).map_err(|e| FsError::new(path, "bind", &e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|e| FsError::new(path, "set the mode of", &e))?;
    if let Some(group) = &config.group {
        chgrp(path, group)?;
    }
    Ok(listener)
}

fn chgrp(path: &Path, group: &str) -> Result<(), BindError> {
    let gid = fsutil::group_id(group)
        .map_err(|e| FsError::new(Path::new("/etc/group"), "look up a group in", &e))?
        .ok_or_else(|| BindError::NoSuchGroup(group.to_owned()))?;
    // Made by a process whose group is already the one asked for (the
    // shipped unit: `Group=enrolld`): nothing to change. chown is forbidden
    // there by `SystemCallFilter=~@privileged`, so it is tried only when
    // the group really differs, e.g. a daemon started by hand as root.
    let own_gid = std::fs::metadata(path)
        .map_err(|e| FsError::new(path, "inspect", &e))?
        .gid();
    if own_gid == gid {
        return Ok(());
    }
    match std::os::unix::fs::chown(path, None, Some(gid)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(BindError::GroupNotAllowed {
            group: group.to_owned(),
            own_gid,
        }),
        Err(e) => Err(FsError::new(path, "change the group of", &e).into()),
    }
}

/// Serves connections until `shutdown`; then every open connection stops
/// too (each finishes the request it is answering) and this waits for them.
pub async fn run<H: Handler>(listener: UnixListener, handler: Arc<H>, shutdown: Shutdown) {
    // Each connection holds a clone of `done_tx`, so `done_rx` yields None
    // once all are gone.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = shutdown.wait() => break,
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
        };
        let stream = tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    log::warn!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let handler = Arc::clone(&handler);
        let stop = shutdown.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(stream, &*handler) => {}
                _ = stop.wait() => {}
            }
            drop(permit);
            drop(done);
        });
    }
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// One connection: read a line, answer it, until EOF, silence or too much garbage.
async fn serve<H: Handler>(stream: UnixStream, handler: &H) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut bad = 0;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let read = tokio::time::timeout(IDLE_TIMEOUT, read_line(limited, &mut line)).await;
        let Ok(Ok(n)) = read else {
            return; // silent too long, or the peer went away
        };
        if n == 0 {
            return; // EOF
        }
        let complete = line.last() == Some(&b'\n');
        if complete {
            line.pop();
        }
        if line.len() > MAX_LINE {
            let reply = Reply::error(format!(
                "request line longer than {MAX_LINE} bytes; closing the connection"
            ));
            let _ = write.write_all(&reply.to_line()).await;
            drain(&mut reader).await;
            return;
        }
        if line.iter().all(u8::is_ascii_whitespace) && complete {
            continue; // blank lines are harmless
        }
        let reply = match parse_line(&line) {
            Ok(command) => handler.handle(command).await,
            Err(message) => {
                bad += 1;
                if bad >= MAX_BAD_REQUESTS {
                    let reply = Reply::error(format!(
                        "{message}; too many malformed requests, closing the connection"
                    ));
                    let _ = write.write_all(&reply.to_line()).await;
                    drain(&mut reader).await;
                    return;
                }
                Reply::error(message)
            }
        };
        if write.write_all(&reply.to_line()).await.is_err() {
            return;
        }
        if !complete {
            return; // the peer closed after an unterminated last line
        }
    }
}

/// Before closing on a client that is still sending: read and discard a
/// little of what it sent. Closing a Unix socket with unread input resets
/// the connection, and the client would lose the reply explaining why.
/// Bounded, so a client sending forever cannot hold the connection.
async fn drain(reader: &mut (impl tokio::io::AsyncRead + Unpin)) {
    const DRAIN_BYTES: u64 = 1 << 20;
    const DRAIN_TIME: Duration = Duration::from_millis(500);
    let mut sink = tokio::io::sink();
    let mut limited = reader.take(DRAIN_BYTES);
    let _ = tokio::time::timeout(DRAIN_TIME, tokio::io::copy(&mut limited, &mut sink)).await;
}

async fn read_line(
    mut reader: impl tokio::io::AsyncBufRead + Unpin,
    line: &mut Vec<u8>,
) -> io::Result<usize> {
    reader.read_until(b'\n', line).await
}
