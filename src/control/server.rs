//! The socket server: bind (replacing a stale socket left by a crash), then
//! [`run`] until shutdown, in the manner of tokio's mini-redis: an accept
//! loop, one task per connection, a bounded number of connections (the
//! longest-waiting one closed to make room, see `control::slots`), and a
//! graceful stop that tells every connection to finish and waits for them.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::protocol::{Command, Reply, parse_line};
use super::slots::{Slot, Slots};
use super::{ControlConfig, MAX_BAD_REQUESTS, MAX_LINE, MAX_WATCHERS, SOCKET_MODE};
use crate::fsutil::{self, FsError};
use crate::shutdown::Shutdown;

/// Connections served at once. A new one never waits for a slot held by a
/// client that is keeping the daemon waiting: see `Slots::admit` in `control::slots`.
pub const MAX_CONNECTIONS: usize = 16;
/// From accept to the first complete request line. The CLI and a reception
/// app write their request as soon as they connect; this only bounds a
/// client that connects and says nothing.
pub const FIRST_REQUEST_WITHIN: Duration = Duration::from_secs(5);
/// From a reply to the next complete request line, for a client that keeps
/// its connection open between requests.
pub const NEXT_REQUEST_WITHIN: Duration = Duration::from_secs(60);
/// A reply the client does not read within this long closes the connection.
pub const REPLY_WITHIN: Duration = Duration::from_secs(5);

/// What the daemon implements to answer commands.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, command: Command) -> impl Future<Output = Reply> + Send;
    /// The screen's events for `watch`: the latest line, and each change (`None`: not served).
    fn watch(&self) -> Option<watch::Receiver<Arc<str>>> {
        None
    }
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
    let slots = Slots::new(MAX_CONNECTIONS);
    let watchers = Arc::new(Semaphore::new(MAX_WATCHERS));
    loop {
        // Accepted at once, whoever holds the slots: a connection left in
        // the kernel's backlog would wait on the slowest client.
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
        let slot = tokio::select! {
            _ = shutdown.wait() => break,
            slot = slots.admit() => slot,
        };
        let handler = Arc::clone(&handler);
        let stop = shutdown.clone();
        let done = done_tx.clone();
        let watchers = Arc::clone(&watchers);
        tokio::spawn(async move {
            let watching = tokio::select! {
                watching = serve(stream, &*handler, &slot, &watchers) => watching,
                _ = stop.wait() => None,
            };
            // A watcher streams on without a request slot.
            drop(slot);
            if let Some(watching) = watching {
                tokio::select! {
                    _ = watching.stream() => {}
                    _ = stop.wait() => {}
                }
            }
            drop(done);
        });
    }
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// What a connection sent next.
enum Next {
    /// A request line (blank lines skipped); `complete` if it ended in a newline.
    Line {
        complete: bool,
    },
    TooLong,
    Eof,
}

/// One connection: read a request, answer it, until EOF, a deadline, an
/// eviction or too much garbage.
///
/// Each request has one deadline, from the moment the daemon starts waiting
/// for it to its complete line: blank lines and bytes without a newline do
/// not extend it, so a client dribbling input cannot hold a slot longer than
/// one that says nothing. Eviction (see [`Slots`]) is what keeps a full
/// house from delaying a newcomer; the deadlines only bound how long a slot
/// is kept while there is room.
async fn serve<H: Handler>(
    stream: UnixStream,
    handler: &H,
    slot: &Slot,
    watchers: &Arc<Semaphore>,
) -> Option<Watching> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut bad = 0;
    let mut line = Vec::with_capacity(256);
    let mut within = FIRST_REQUEST_WITHIN;
    loop {
        slot.waiting();
        let deadline = tokio::time::Instant::now() + within;
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, next_request(&mut reader, &mut line)) => next,
            () = slot.evicted() => {
                // Never blocks: a client that is not reading gets nothing.
                let _ = write.try_write(&Reply::error(format!(
                    "closing this connection: all {MAX_CONNECTIONS} connections are taken and this \
                     one had no request in progress; connect again to send one"
                )).to_line());
                return None;
            }
        };
        let complete = match next {
            Ok(Ok(Next::Line { complete })) => complete,
            Ok(Ok(Next::TooLong)) => {
                let reply = Reply::error(format!(
                    "request line longer than {MAX_LINE} bytes; closing the connection"
                ));
                let _ = write.try_write(&reply.to_line());
                drain(&mut reader).await;
                return None;
            }
            Ok(Ok(Next::Eof) | Err(_)) => return None, // the peer went away
            Err(_elapsed) => {
                let _ = write.try_write(
                    &Reply::error(format!(
                        "no complete request line within {} s; closing the connection",
                        within.as_secs()
                    ))
                    .to_line(),
                );
                return None;
            }
        };
        if !slot.busy() {
            return None; // given to another connection meanwhile
        }
        let reply = match parse_line(&line) {
            Ok(Command::Watch) => match (handler.watch(), Arc::clone(watchers).try_acquire_owned())
            {
                (Some(events), Ok(permit)) => {
                    let ok = Reply::ok().with("watching", true).to_line();
                    let sent = tokio::time::timeout(REPLY_WITHIN, write.write_all(&ok)).await;
                    return matches!(sent, Ok(Ok(()))).then_some(Watching {
                        reader,
                        write,
                        events,
                        _permit: permit,
                    });
                }
                (Some(_), Err(_)) => Reply::error(format!(
                    "already {MAX_WATCHERS} watch streams; close one and try again"
                )),
                (None, _) => Reply::error("watch is served on the control socket only"),
            },
            Ok(command) => handler.handle(command).await,
            Err(message) => {
                bad += 1;
                if bad >= MAX_BAD_REQUESTS {
                    let reply = Reply::error(format!(
                        "{message}; too many malformed requests, closing the connection"
                    ));
                    let _ = write.try_write(&reply.to_line());
                    // The drain waits on the client: it may lose its slot meanwhile.
                    slot.waiting();
                    drain(&mut reader).await;
                    return None;
                }
                Reply::error(message)
            }
        };
        // Waiting again, now for the client to read its reply.
        slot.waiting();
        let reply = reply.to_line();
        let sent = tokio::select! {
            sent = tokio::time::timeout(REPLY_WITHIN, write.write_all(&reply)) => {
                matches!(sent, Ok(Ok(())))
            }
            () = slot.evicted() => false,
        };
        if !sent || !complete {
            return None; // not read, or the peer closed after an unterminated last line
        }
        within = NEXT_REQUEST_WITHIN;
    }
}

/// A `watch` connection: every change of the screen as one line, until the client closes
/// it, stops reading, or the daemon stops.
struct Watching {
    reader: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
    events: watch::Receiver<Arc<str>>,
    _permit: OwnedSemaphorePermit,
}

impl Watching {
    async fn stream(mut self) {
        let mut sink = [0u8; 256];
        loop {
            let line = self.events.borrow_and_update().clone();
            if !line.is_empty() {
                let mut bytes = Vec::with_capacity(line.len() + 1);
                bytes.extend_from_slice(line.as_bytes());
                bytes.push(b'\n');
                // A watcher that does not read loses its stream, never holds up the daemon.
                let sent = tokio::time::timeout(REPLY_WITHIN, self.write.write_all(&bytes)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
            }
            tokio::select! {
                changed = self.events.changed() => if changed.is_err() { return },
                // Anything the client sends is ignored; its close ends the stream.
                read = self.reader.read(&mut sink) => if matches!(read, Ok(0) | Err(_)) { return },
            }
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

/// Reads up to the next request line, skipping blank lines, each line
/// capped at [`MAX_LINE`] bytes (not buffered beyond it).
async fn next_request(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> io::Result<Next> {
    loop {
        line.clear();
        let n = (&mut *reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', line)
            .await?;
        if n == 0 {
            return Ok(Next::Eof);
        }
        let complete = line.last() == Some(&b'\n');
        if complete {
            line.pop();
        }
        if line.len() > MAX_LINE {
            return Ok(Next::TooLong);
        }
        if complete && line.iter().all(u8::is_ascii_whitespace) {
            continue; // blank lines are harmless, and do not buy time
        }
        return Ok(Next::Line { complete });
    }
}
