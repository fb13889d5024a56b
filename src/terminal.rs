//! `[terminal]`: who this terminal is, in usernames made from the template,
//! the status file and logs.

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// `[terminal]`: who this terminal is.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalConfig {
    /// Identifies the terminal in usernames made from the template and in logs.
    /// Defaults to the host name.
    pub id: Option<String>,
    /// Username for a press with no pending ticket, e.g. `"{terminal_id}-{timestamp}"`.
    /// Without it, such a press is refused.
    pub username_template: Option<String>,
    /// When IDMeta's watchlist screening flags a registration (v3), the LED (and a screen)
    /// ask the person to see reception. Off by default: a match may be the same person
    /// enrolling twice, and the operator sees every flag either way.
    pub see_reception: bool,
}

impl TerminalConfig {
    /// The terminal id, falling back to the host name.
    pub fn effective_id(&self) -> String {
        self.id.clone().unwrap_or_else(host_name)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(id) = &self.id
            && (id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            return Err(Invalid::new(
                "id",
                "must be non-empty, without spaces or control characters",
            ));
        }
        if let Some(t) = &self.username_template {
            crate::username::check_template(t)
                .map_err(|e| Invalid::new("username_template", e.to_string()))?;
        }
        Ok(())
    }
}

/// The host name by gethostname(2): it works under the shipped unit, whose
/// `ProcSubset=pid` hides /proc/sys/kernel/hostname (every terminal would
/// otherwise be called "enrolld").
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).trim().to_owned()
    } else {
        String::new()
    };
    if name.is_empty() {
        "enrolld".to_owned()
    } else {
        name
    }
}
