//! The on-device face check: nothing leaves the terminal unless a frame shows one well-placed
//! face. Every frame a press considers is checked here before it is chosen, encoded, stored or
//! sent; a frame that fails is dropped where it lies.
//!
//! ```text
//! Frame ─► input: the central square (128x128) and the whole frame (128x80 for 16:9);
//!          MJPEG decoded once, at 1/4 for 720p
//!       ─► detector (BlazeFace, fused runner) on each ─► faces in the frame's coordinates,
//!          a face inside the square taken from it ─► decide::placement (one person,
//!          distance, border, centre, tilt, turn) ─► input::face_quality (the face's own
//!          luma and sharpness) ─► decide::quality ─► crop::keep (with face.crop) ─► Passed,
//!          or the first Refusal
//! ```
//!
//! Every frame's [`Report`] holds the verdict (the face that passed, or the reason), every face
//! found with its box and landmarks, and what the check took: what a live mirror or a "held
//! still for N frames" rule reads, frame by frame.
//!
//! # Modules, one job each
//! - [`config`]: the `[face]` section.
//! - [`detection`]: a face as found (box, six landmarks, score) in the frame's fractions.
//! - [`reason`]: the named refusals.
//! - [`decide`]: the rules, pure, as tables.
//! - [`blazeface`]: the model's anchors, output decoding, merging (of one face's finds, and of
//!   the two looks), the windows (what part of the frame an input shows).
//! - [`input`]: frames (YUYV, NV12, RGB24, MJPEG) to the detector's inputs and face measures.
//! - `fused`: the network (crate `enrolld-blazeface`, in `blazeface/`) with the weights the
//!   build took out of the packaged model (src/build/face_model.rs checks its layers).
//! - `detector`: the network run and its outputs decoded (only in builds with the `face`
//!   feature; without it the check cannot be turned on and `[face] enabled = true` is refused
//!   at start).
//! - [`annotate`]: the installer's picture: box, landmarks and margins drawn on the frame.
//! - [`crop`]: the optional privacy crop.
//! - [`search`]: a capture that looks at frames until one passes or the deadline.

pub mod annotate;
pub mod blazeface;
pub mod config;
pub mod crop;
pub mod decide;
pub mod detection;
pub mod input;
pub mod reason;
pub mod search;

#[cfg(feature = "face")]
pub mod fused;

#[cfg(feature = "face")]
mod detector;
#[cfg(not(feature = "face"))]
#[path = "no_detector.rs"]
mod detector;

use std::time::{Duration, Instant};

pub use config::FaceConfig;
pub use decide::{FaceQuality, FrameSize};
pub use detection::{Detection, Rect};
pub use detector::{DetectError, MODEL_SOURCE, ModelError};
pub use reason::Refusal;

use crate::camera::Frame;
use blazeface::{NoRegion, Window};
use detector::Detector;
use input::InputMaker;

/// The central square's input side: the model's own (see docs/benchmarks.md for 96).
pub const REGION_INPUT: usize = blazeface::INPUT_SIZE;

/// A frame that passed: its face and how the face looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Passed {
    pub face: Detection,
    pub quality: FaceQuality,
}

/// What the check made of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub verdict: Result<Passed, Refusal>,
    /// Every face found above `face.second_face_score`, strongest first (for the installer's
    /// picture and the CLI).
    pub faces: Vec<Detection>,
    /// The whole check: input, model, rules and measures.
    pub took: Duration,
}

/// The loaded detector with its thresholds: one per camera, used from one thread at a time.
pub struct FaceCheck {
    config: FaceConfig,
    detector: Detector,
    inputs: InputMaker,
    /// Whether "the central region cannot be cut" was said (once per check: every frame of a
    /// camera has the same size).
    said_no_region: bool,
}

impl FaceCheck {
    /// Loads the embedded model.
    pub fn load(config: &FaceConfig) -> Result<FaceCheck, ModelError> {
        let inputs = InputMaker::new().map_err(|e| ModelError::Load(e.to_string()))?;
        Ok(FaceCheck {
            config: config.clone(),
            detector: Detector::load()?,
            inputs,
            said_no_region: false,
        })
    }

    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// A reload's new thresholds (the model stays loaded).
    pub fn set_config(&mut self, config: &FaceConfig) {
        self.config = config.clone();
    }

    /// Checks one frame. Never fails: a frame that cannot be read is refused as
    /// [`Refusal::Unreadable`] (and logged without its bytes).
    pub fn check(&mut self, frame: &Frame) -> Report {
        let started = Instant::now();
        let (verdict, faces) = match self.judge(frame) {
            Ok(judged) => judged,
            Err(why) => {
                log::warn!("face check: {} frame unreadable: {why}", frame.format);
                (Err(Refusal::Unreadable), Vec::new())
            }
        };
        Report {
            verdict,
            faces,
            took: started.elapsed(),
        }
    }

    #[allow(clippy::type_complexity)]
    fn judge(
        &mut self,
        frame: &Frame,
    ) -> Result<(Result<Passed, Refusal>, Vec<Detection>), CheckError> {
        let faces = self.find_faces(frame)?;
        let size = FrameSize {
            width: frame.width,
            height: frame.height,
        };
        let face = match decide::placement(&faces, size, &self.config) {
            Ok(face) => face,
            Err(refusal) => return Ok((Err(refusal), faces)),
        };
        let quality = self.inputs.face_quality(frame, &face.bounds)?;
        let verdict = decide::quality(quality, &self.config)
            .and_then(|()| self.croppable(&face, frame))
            .map(|()| Passed { face, quality });
        Ok((verdict, faces))
    }

    /// Every face above the lower of the two thresholds, strongest first, from two looks: the
    /// frame's central square (where the placement rules want the face) at the model's full
    /// resolution, and the whole frame (second faces anywhere, faces too close for the square).
    /// A frame whose square cannot be cut is looked at whole, and that is said once.
    fn find_faces(&mut self, frame: &Frame) -> Result<Vec<Detection>, CheckError> {
        let whole = Window::whole(frame.width, frame.height);
        let centre = match Window::centre(frame.width, frame.height, REGION_INPUT) {
            Ok(window) => Some(window),
            Err(NoRegion::SameAsWhole) => None,
            Err(NoRegion::TooSmall { short_side }) => {
                if !self.said_no_region {
                    log::warn!(
                        "face check: {}x{} frames are too small to cut their central square \
                         ({short_side} px, the detector takes {REGION_INPUT}): the whole frame \
                         is looked at alone, and faces far from the camera may be missed",
                        frame.width,
                        frame.height
                    );
                    self.said_no_region = true;
                }
                None
            }
        };
        let windows: Vec<Window> = centre.into_iter().chain([whole]).collect();
        let inputs = self.inputs.detector_inputs(frame, &windows)?;
        let floor = self.config.second_face_score.min(self.config.min_score);
        let mut looks = Vec::with_capacity(inputs.len());
        for input in &inputs {
            looks.push(self.detector.detect(input, floor)?);
        }
        Ok(match (centre, looks.as_slice()) {
            (Some(c), [in_centre, in_whole]) => {
                blazeface::merge_looks(in_centre, &c.region, in_whole)
            }
            _ => looks.pop().unwrap_or_default(),
        })
    }

    /// With `face.crop` on, a face whose crop cannot be made is refused here, so the frame is
    /// never chosen (the encode refuses it again rather than send the whole frame).
    fn croppable(&self, face: &Detection, frame: &Frame) -> Result<(), Refusal> {
        if !self.config.crop {
            return Ok(());
        }
        crop::keep(
            &face.bounds,
            self.config.crop_margin,
            frame.width,
            frame.height,
        )
        .map(drop)
    }
}

/// Why one check could not be carried out (reported as [`Refusal::Unreadable`]).
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error(transparent)]
    Detect(#[from] DetectError),
}
