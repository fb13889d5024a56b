//! `[face]`: whether a frame must show one well-placed face before anything is sent, and the
//! thresholds of each rule. Defaults and ranges are documented in docs/configuration.md.

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// `[face]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FaceConfig {
    /// Check every frame for one well-placed face before it is sent. Default: on in builds with
    /// the face detector (board packages), and such a build is the only one that may turn it on.
    pub enabled: bool,
    /// The detector's confidence (0-1) above which a detection is a face.
    pub min_score: f32,
    /// A second detection above this confidence is a second person: "one person at a time".
    /// At most `min_score`.
    pub second_face_score: f32,
    /// The face's width as a fraction of the frame's width: below it the person is too far.
    pub min_width: f32,
    /// ... and above it too close (the face would be cut or touch the border at IDMeta).
    pub max_width: f32,
    /// The face's centre must lie at least this fraction of the frame's width (and height)
    /// from each edge.
    pub margin: f32,
    /// Largest angle of the line through the eyes, in degrees: more is a tilted head.
    pub max_tilt_deg: f32,
    /// Largest distance of the nose from the eyes' midpoint, as a fraction of the distance
    /// between the eyes: more is a head turned away.
    pub max_turn: f32,
    /// Sharpness of the face itself (variance of the Laplacian on the face scaled to 64x64):
    /// below it the face is blurred (motion, focus).
    pub min_sharpness: f32,
    /// Mean luma (0-255) of the face below which it is too dark ...
    pub min_luma: u8,
    /// ... and above which too bright (a window or lamp behind or in front of the person).
    pub max_luma: u8,
    /// How long a press looks for a passing frame before it ends as a retake (button) or goes
    /// back to idle (presence sensor), sending nothing.
    pub deadline_ms: u64,
    /// Frames checked per second at most while looking: bounds the CPU the detector takes.
    /// Frames in between are read and dropped.
    pub max_checks_per_second: u32,
    /// Send only the face, widened by `crop_margin`, instead of the whole frame.
    pub crop: bool,
    /// What the privacy crop adds on each side, as a fraction of the face's width (height:
    /// of its height). IDMeta answers "too close to the border" for tight crops.
    pub crop_margin: f32,
}

impl Default for FaceConfig {
    fn default() -> Self {
        FaceConfig {
            enabled: cfg!(feature = "face"),
            min_score: 0.7,
            second_face_score: 0.6,
            min_width: 0.10,
            max_width: 0.7,
            margin: 0.15,
            max_tilt_deg: 20.0,
            max_turn: 0.35,
            min_sharpness: 25.0,
            min_luma: 50,
            max_luma: 210,
            deadline_ms: 3_000,
            max_checks_per_second: 10,
            crop: false,
            crop_margin: 0.6,
        }
    }
}

impl FaceConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.enabled && !cfg!(feature = "face") {
            return Err(Invalid::new(
                "enabled",
                "this build of enrolld has no face detector (built without the `face` \
                 feature; the board packages have it): set face.enabled = false or install a \
                 board package",
            ));
        }
        Invalid::check_range("min_score", self.min_score, 0.3..=0.99)?;
        Invalid::check_range("second_face_score", self.second_face_score, 0.3..=0.99)?;
        ordered(
            "second_face_score",
            self.second_face_score <= self.min_score,
            format!("must be at most face.min_score ({})", self.min_score),
        )?;
        Invalid::check_range("min_width", self.min_width, 0.02..=0.9)?;
        Invalid::check_range("max_width", self.max_width, 0.1..=1.0)?;
        ordered(
            "max_width",
            self.max_width > self.min_width,
            format!("must be more than face.min_width ({})", self.min_width),
        )?;
        Invalid::check_range("margin", self.margin, 0.0..=0.45)?;
        Invalid::check_range("max_tilt_deg", self.max_tilt_deg, 1.0..=60.0)?;
        Invalid::check_range("max_turn", self.max_turn, 0.05..=1.0)?;
        Invalid::check_range("min_sharpness", self.min_sharpness, 0.0..=10_000.0)?;
        ordered(
            "min_luma",
            self.min_luma < self.max_luma,
            format!("must be less than face.max_luma ({})", self.max_luma),
        )?;
        Invalid::check_range("deadline_ms", self.deadline_ms, 200..=60_000)?;
        Invalid::check_range("max_checks_per_second", self.max_checks_per_second, 1..=60)?;
        Invalid::check_range("crop_margin", self.crop_margin, 0.2..=3.0)?;
        Ok(())
    }

    /// The shortest time between two checked frames.
    pub fn check_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1) / self.max_checks_per_second.max(1)
    }

    pub fn deadline(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.deadline_ms)
    }
}

/// A bound that depends on another key: `Ok` when `holds`.
fn ordered(key: &str, holds: bool, message: String) -> Result<(), Invalid> {
    if holds {
        Ok(())
    } else {
        Err(Invalid::new(key, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(c: &FaceConfig) -> Option<String> {
        c.validate().err().map(|i| i.key)
    }

    #[test]
    fn defaults_are_valid_in_a_build_with_the_detector() {
        let defaults = FaceConfig::default();
        assert_eq!(defaults.enabled, cfg!(feature = "face"));
        assert_eq!(defaults.validate(), Ok(()));
    }

    #[test]
    fn each_bound_names_its_key() {
        let base = FaceConfig {
            enabled: false,
            ..FaceConfig::default()
        };
        let cases: Vec<(&str, FaceConfig)> = vec![
            (
                "min_score",
                FaceConfig {
                    min_score: 1.5,
                    ..base.clone()
                },
            ),
            (
                "second_face_score",
                FaceConfig {
                    second_face_score: 0.8,
                    ..base.clone()
                },
            ),
            (
                "min_width",
                FaceConfig {
                    min_width: 0.0,
                    ..base.clone()
                },
            ),
            (
                "max_width",
                FaceConfig {
                    max_width: 0.1,
                    min_width: 0.2,
                    ..base.clone()
                },
            ),
            (
                "margin",
                FaceConfig {
                    margin: 0.5,
                    ..base.clone()
                },
            ),
            (
                "max_tilt_deg",
                FaceConfig {
                    max_tilt_deg: 90.0,
                    ..base.clone()
                },
            ),
            (
                "max_turn",
                FaceConfig {
                    max_turn: 0.0,
                    ..base.clone()
                },
            ),
            (
                "min_sharpness",
                FaceConfig {
                    min_sharpness: -1.0,
                    ..base.clone()
                },
            ),
            (
                "min_luma",
                FaceConfig {
                    min_luma: 200,
                    max_luma: 100,
                    ..base.clone()
                },
            ),
            (
                "deadline_ms",
                FaceConfig {
                    deadline_ms: 10,
                    ..base.clone()
                },
            ),
            (
                "max_checks_per_second",
                FaceConfig {
                    max_checks_per_second: 0,
                    ..base.clone()
                },
            ),
            (
                "crop_margin",
                FaceConfig {
                    crop_margin: 9.0,
                    ..base.clone()
                },
            ),
        ];
        for (key, config) in cases {
            assert_eq!(key_of(&config).as_deref(), Some(key), "{key}");
        }
    }

    #[test]
    fn a_build_without_the_detector_refuses_to_turn_it_on() {
        let on = FaceConfig {
            enabled: true,
            ..FaceConfig::default()
        };
        if cfg!(feature = "face") {
            assert_eq!(on.validate(), Ok(()));
        } else {
            assert_eq!(key_of(&on).as_deref(), Some("enabled"));
        }
    }

    #[test]
    fn checks_are_spaced_by_the_rate() {
        let c = FaceConfig {
            max_checks_per_second: 4,
            ..FaceConfig::default()
        };
        assert_eq!(c.check_interval(), std::time::Duration::from_millis(250));
    }
}
