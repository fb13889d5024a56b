//! The local control socket (placeholder).

use serde::{Deserialize, Serialize};

use crate::config::Invalid;

/// `[control]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {}

impl ControlConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
