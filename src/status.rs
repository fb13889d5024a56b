//! The status file (placeholder).

use serde::{Deserialize, Serialize};

use crate::config::Invalid;

/// `[status]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {}

impl StatusConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
