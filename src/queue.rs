//! The durable offline queue (placeholder).

use serde::{Deserialize, Serialize};

use crate::config::Invalid;

/// `[queue]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {}

impl QueueConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
