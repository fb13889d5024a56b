//! The local control socket: how a reception app, a badge-reader script or
//! `enrolld enroll/trigger/status` talks to the running daemon.
//!
//! A Unix stream socket (default `/run/enrolld/control.sock`, mode 0660,
//! optionally owned by a configured group). One JSON request per line, one
//! JSON reply per line:
//!
//! ```text
//! {"cmd":"enroll","username":"Ann Lee","verification_id":"3f1c..."}  -> {"ok":true,"position":1}
//! {"cmd":"trigger"}                                                  -> {"ok":true}
//! {"cmd":"status"}                                                   -> {"ok":true,"status":{...}}
//! {"cmd":"display_setup"} (or display_wake, display_normal)          -> {"ok":true}
//! {"cmd":"watch"}                              -> {"ok":true,"watching":true}, then one line per change:
//!     {"state":"capturing","view":"mirror","prompt":"step_closer","reason":null,"arrow":null,
//!      "countdown_s":2,"progress":null,"outcome":null}      (and "name" with display.show_name)
//! anything wrong                                                     -> {"ok":false,"error":"..."}
//! ```
//!
//! A `watch` connection takes no more requests: it is a stream until the client closes it or
//! the daemon stops. It holds none of the request slots; at most [`MAX_WATCHERS`] are served
//! at once.
//!
//! Lines are capped at [`MAX_LINE`] bytes; a connection that sends
//! [`MAX_BAD_REQUESTS`] malformed requests, or a line too long, is answered
//! and closed.

pub mod client;
pub mod protocol;
pub mod server;
mod slots;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;
pub use protocol::{Command, DisplayCommand, QueueCommand, Reply};

/// Longest request line accepted, in bytes (newline excluded).
pub const MAX_LINE: usize = 4096;
/// Malformed requests tolerated on one connection before it is closed.
pub const MAX_BAD_REQUESTS: usize = 3;
/// `watch` streams served at once; more are refused.
pub const MAX_WATCHERS: usize = 4;
/// Socket file mode: the service user and its group may connect.
pub const SOCKET_MODE: u32 = 0o660;

/// `[control]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// The Unix socket path.
    pub socket: PathBuf,
    /// Group given the socket, so its members may enroll and trigger.
    pub group: Option<String>,
    /// Where pending tickets are kept across restarts.
    pub tickets_file: PathBuf,
    /// At most this many pending tickets; more are refused.
    pub max_tickets: usize,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            socket: PathBuf::from("/run/enrolld/control.sock"),
            group: None,
            tickets_file: PathBuf::from("/var/lib/enrolld/tickets.json"),
            max_tickets: 100,
        }
    }
}

impl ControlConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        // sun_path holds 108 bytes including the terminating NUL.
        let len = self.socket.as_os_str().len();
        if !self.socket.is_absolute() || len > 107 {
            return Err(Invalid::new(
                "socket",
                "must be an absolute path of at most 107 bytes",
            ));
        }
        if let Some(g) = &self.group
            && (g.is_empty()
                || g.len() > 32
                || !g
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(Invalid::new(
                "group",
                "must be a group name (letters, digits, `_`, `-`, at most 32)",
            ));
        }
        if !self.tickets_file.is_absolute() {
            return Err(Invalid::new("tickets_file", "must be an absolute path"));
        }
        if !(1..=10_000).contains(&self.max_tickets) {
            return Err(Invalid::new("max_tickets", "must be between 1 and 10000"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_checks_name_the_key() {
        ControlConfig::default().validate().unwrap();
        let key = |c: ControlConfig| c.validate().unwrap_err().key;
        let long = PathBuf::from(format!("/{}", "s".repeat(110)));
        assert_eq!(
            key(ControlConfig {
                socket: long,
                ..Default::default()
            }),
            "socket"
        );
        let group = Some("bad group".to_owned());
        assert_eq!(
            key(ControlConfig {
                group,
                ..Default::default()
            }),
            "group"
        );
        assert_eq!(
            key(ControlConfig {
                max_tickets: 0,
                ..Default::default()
            }),
            "max_tickets"
        );
    }
}
