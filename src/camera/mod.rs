//! V4L2 capture, frame choice and JPEG encoding (placeholder).

use serde::{Deserialize, Serialize};

use crate::config::Invalid;

/// `[camera]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {}

impl CameraConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
