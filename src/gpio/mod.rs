//! Trigger and indicator over the GPIO character device (placeholder).

use serde::{Deserialize, Serialize};

use crate::config::Invalid;

/// `[trigger]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {}

impl TriggerConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

/// `[indicator]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorConfig {}

impl IndicatorConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
