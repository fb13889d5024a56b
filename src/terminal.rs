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
            crate::username::check_template(t).map_err(|m| Invalid::new("username_template", m))?;
        }
        Ok(())
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "enrolld".to_owned())
}
