//! The detector's place in a build without the `face` feature (`cargo build
//! --no-default-features`): the same interface, and loading it says why it cannot be used.
//! `[face] enabled = true` is refused at start in such a build (`FaceConfig::validate`), so
//! the daemon never gets here; `enrolld face-check` does, and says so.

use super::detection::Detection;
use super::input::DetectorInput;

pub const MODEL_SOURCE: &str = "none (built without the `face` feature)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("this build of enrolld has no face detector (built without the `face` feature)")]
    NotBuilt,
    #[error("{0}")]
    Load(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error("this build of enrolld has no face detector")]
    NotBuilt,
}

pub struct Detector;

impl Detector {
    pub fn load() -> Result<Detector, ModelError> {
        Err(ModelError::NotBuilt)
    }

    pub fn detect(
        &mut self,
        _input: &DetectorInput,
        _min_score: f32,
    ) -> Result<Vec<Detection>, DetectError> {
        Err(DetectError::NotBuilt)
    }
}
