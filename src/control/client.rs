//! The client side, for `enrolld enroll`, `enrolld trigger`, `enrolld status`:
//! blocking (the CLI has no runtime), one request, one reply, with a timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{Reply, Request};

/// How long the CLI waits for the daemon.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{path}: cannot connect ({reason}); is enrolld running?", path = path.display())]
    Connect { path: PathBuf, reason: String },
    #[error("{path}: {reason}", path = path.display())]
    Io { path: PathBuf, reason: String },
    #[error("enrolld sent a reply that is not understood")]
    BadReply,
    /// The daemon understood and said no (e.g. "ticket queue full").
    #[error("enrolld: {0}")]
    Refused(String),
}

/// Sends one request and returns the successful reply.
pub fn request(socket: &Path, request: &Request) -> Result<Reply, ClientError> {
    let mut reader = send(socket, request)?;
    read_reply(socket, &mut reader)
}

fn io_error(socket: &Path) -> impl Fn(std::io::Error) -> ClientError + '_ {
    move |e| ClientError::Io {
        path: socket.to_owned(),
        reason: crate::fsutil::describe(&e),
    }
}

/// Connects and sends `request`; the reader waits at most [`TIMEOUT`] for each read.
fn send(socket: &Path, request: &Request) -> Result<BufReader<UnixStream>, ClientError> {
    let io_err = io_error(socket);
    let mut stream = UnixStream::connect(socket).map_err(|e| ClientError::Connect {
        path: socket.to_owned(),
        reason: crate::fsutil::describe(&e),
    })?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(&io_err)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(&io_err)?;
    let mut line = serde_json::to_vec(request).expect("request serializes");
    line.push(b'\n');
    stream.write_all(&line).map_err(&io_err)?;
    Ok(BufReader::new(stream))
}

fn read_reply(socket: &Path, reader: &mut BufReader<UnixStream>) -> Result<Reply, ClientError> {
    let mut reply = Vec::new();
    reader
        .by_ref()
        .take(1 << 20)
        .read_until(b'\n', &mut reply)
        .map_err(io_error(socket))?;
    let reply = Reply::from_line(&reply).ok_or(ClientError::BadReply)?;
    match reply.error_message() {
        _ if reply.is_ok() => Ok(reply),
        Some(message) => Err(ClientError::Refused(message.to_owned())),
        None => Err(ClientError::BadReply),
    }
}

/// `watch`: hands every line the daemon streams to `line` until the daemon closes the
/// stream (it stopped) or `line` returns false. Waits for lines without a timeout.
pub fn watch(socket: &Path, mut line: impl FnMut(&str) -> bool) -> Result<(), ClientError> {
    let mut reader = send(socket, &Request::Watch)?;
    read_reply(socket, &mut reader)?;
    reader
        .get_ref()
        .set_read_timeout(None)
        .map_err(io_error(socket))?;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .by_ref()
            .take(1 << 20)
            .read_until(b'\n', &mut buf)
            .map_err(io_error(socket))?;
        if n == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&buf);
        if !line(text.trim_end()) {
            return Ok(());
        }
    }
}

/// Queues a ticket; returns its position (1 = next press).
pub fn enroll(
    socket: &Path,
    username: &str,
    verification_id: Option<&str>,
) -> Result<u64, ClientError> {
    // Checked here too, so a 10 kB name is refused for what it is rather
    // than as an oversized request line.
    crate::tickets::Ticket::new(username, verification_id)
        .map_err(|e| ClientError::Refused(e.to_string()))?;
    let reply = request(
        socket,
        &Request::Enroll {
            username: username.to_owned(),
            verification_id: verification_id.map(str::to_owned),
            transaction: None,
        },
    )?;
    reply
        .get("position")
        .and_then(serde_json::Value::as_u64)
        .ok_or(ClientError::BadReply)
}

/// Presses the button remotely.
pub fn trigger(socket: &Path) -> Result<(), ClientError> {
    request(socket, &Request::Trigger).map(drop)
}

/// The live status document (see `status::Status`), as JSON.
pub fn status(socket: &Path) -> Result<serde_json::Value, ClientError> {
    let reply = request(socket, &Request::Status)?;
    reply.get("status").cloned().ok_or(ClientError::BadReply)
}
