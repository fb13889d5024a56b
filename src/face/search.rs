//! A capture that looks for a face: frames are taken from the camera and checked one by one
//! until a burst holds a passing frame or `face.deadline_ms` runs out. The best passing frame
//! (the sharpest face) is the only one encoded; frames that fail are dropped where they lie,
//! never encoded, stored or sent.
//!
//! The press's own burst is checked whole (the person is there now); after it, frames keep
//! coming from the open stream but at most `face.max_checks_per_second` of them are checked,
//! the rest read and dropped, so a presence sensor's long wait costs a bounded share of a
//! core. The reason reported when nothing passes is the one most frames were refused for
//! (ties: the latest), which is what the person most needs to change.
//!
//! With a screen (`Wanted::steady`, `face.steady_frames` above 1) a passing frame is not taken
//! at once: the frame taken is the one that completes a run of passing frames in which the
//! face held still ([`super::steady`]), and `passed` is called then. A passing frame whose face
//! jumped counts as `not_steady`; time running out while a run builds ends with that reason.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::crop;
use super::reason::Refusal;
use super::steady::{Fed, Progress, Steady};
use super::{FaceCheck, Passed, Report};
use crate::camera::choose::FrameScore;
use crate::camera::convert::{self, I420};
use crate::camera::encode::{EncodeError, EncodeSettings, Encoder, Jpeg};
use crate::camera::{Camera, CameraConfig, CameraError, Frame, PixelFormat, Shot, StageTimings};

/// A passing frame, encoded.
#[derive(Debug, Clone)]
pub struct FaceShot {
    pub shot: Shot,
    /// The face that passed (in the frame's coordinates, before any crop).
    pub face: Passed,
    /// Frames checked before it passed (the passing one included).
    pub checked: u32,
}

/// Why a face capture sent nothing.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// No frame passed before the deadline: a retake (button) or back to idle (presence).
    #[error("no frame showed one well-placed face in {waited_ms} ms ({checked} checked): {reason}")]
    NoFace {
        reason: Refusal,
        checked: u32,
        waited_ms: u64,
        /// How many checked frames each rule refused.
        refusals: BTreeMap<Refusal, u32>,
    },
    #[error("camera fault: {0}")]
    Camera(#[from] CameraError),
    #[error("{0}")]
    Encode(#[from] EncodeError),
}

impl SearchError {
    /// The person can act on it (nothing passed) rather than a fault of the terminal.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            SearchError::NoFace { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// Refusals so far, and the order they came in (for ties).
#[derive(Debug, Default)]
struct Tally {
    counts: BTreeMap<Refusal, u32>,
    last_seen: BTreeMap<Refusal, u32>,
    checked: u32,
}

impl Tally {
    /// A frame checked that passed but is not taken (yet).
    fn looked(&mut self) {
        self.checked += 1;
    }

    fn refused(&mut self, r: Refusal) {
        self.checked += 1;
        *self.counts.entry(r).or_default() += 1;
        self.last_seen.insert(r, self.checked);
    }

    /// The most frequent refusal, ties broken by the latest; `NoFace` when nothing was checked.
    fn reason(&self) -> Refusal {
        self.counts
            .iter()
            .max_by_key(|(r, n)| (**n, self.last_seen.get(r).copied().unwrap_or(0)))
            .map_or(Refusal::NoFace, |(r, _)| *r)
    }
}

/// What a capture is for: the camera's settings, the byte cap of the JPEG, and the press
/// (CLOCK_MONOTONIC) whose frames count.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub camera: &'a CameraConfig,
    pub max_bytes: usize,
    pub since: Duration,
    /// A screen shows the person the capture: take the frame only once the face has held
    /// still (`face.steady_frames`, see [`super::steady`]). Off: the sharpest passing frame
    /// of the first burst that has one.
    pub steady: bool,
}

/// Captures until a frame passes the face check, and encodes that one (cropped to the face
/// when `face.crop` is set). Blocking: run it on a blocking thread.
pub fn capture(
    camera: &mut dyn Camera,
    check: &mut FaceCheck,
    wanted: Wanted<'_>,
) -> Result<FaceShot, SearchError> {
    capture_announcing(camera, check, wanted, &mut |_, _, _| {}, &mut || {})
}

/// [`capture`], showing `watch` every frame checked and its report (the screen's mirror and
/// prompt), and calling `passed` the moment a frame passed, before it is encoded (the daemon
/// asks IDMeta for a verification then: a press in which no frame passes reaches nobody).
pub fn capture_announcing(
    camera: &mut dyn Camera,
    check: &mut FaceCheck,
    wanted: Wanted<'_>,
    watch: &mut dyn FnMut(&Frame, &Report, Option<Progress>),
    passed: &mut dyn FnMut(),
) -> Result<FaceShot, SearchError> {
    let result = search(camera, check, wanted, watch, passed);
    camera.release();
    result
}

/// [`capture`], showing `watch` every frame checked and its report (the installer's
/// `enrolld capture --check-face` prints and draws them).
pub fn capture_watched(
    camera: &mut dyn Camera,
    check: &mut FaceCheck,
    wanted: Wanted<'_>,
    watch: &mut dyn FnMut(&Frame, &Report, Option<Progress>),
) -> Result<FaceShot, SearchError> {
    let result = search(camera, check, wanted, watch, &mut || {});
    camera.release();
    result
}

fn search(
    camera: &mut dyn Camera,
    check: &mut FaceCheck,
    wanted: Wanted<'_>,
    watch: &mut dyn FnMut(&Frame, &Report, Option<Progress>),
    passed: &mut dyn FnMut(),
) -> Result<FaceShot, SearchError> {
    let started = Instant::now();
    let deadline = started + check.config().deadline();
    let interval = check.config().check_interval();
    let mut timings = StageTimings::default();
    let mut tally = Tally::default();
    let mut last_check: Option<Instant> = None;
    let mut last_captured: Option<Duration> = None;
    let mut since = wanted.since;
    let mut first_burst = true;
    let mut announced = false;
    let mut steady = wanted
        .steady
        .then(|| Steady::from_config(check.config()))
        .flatten();
    loop {
        let t = Instant::now();
        let frames = camera.frames_since(since, None)?;
        timings.capture += t.elapsed();
        // Later frames are all new: no more skipping of frames from before the press.
        since = Duration::ZERO;

        let mut passing: Vec<(Frame, Passed)> = Vec::new();
        for frame in frames {
            let due = if steady.is_some() {
                // A steady run counts frames taken at least the check interval apart (by the
                // camera's clock, not the checker's), so `steady_frames` is a time held still:
                // frames buffered a few ms apart, or read late by a slow check, would
                // otherwise complete it at once, whatever the person did.
                match (frame.captured_at, last_captured) {
                    (Some(at), Some(last)) => at.saturating_sub(last) >= interval,
                    (None, _) => last_check.is_none_or(|t| t.elapsed() >= interval),
                    (Some(_), None) => true,
                }
            } else {
                first_burst || last_check.is_none_or(|t| t.elapsed() >= interval)
            };
            if !due {
                continue;
            }
            last_check = Some(Instant::now());
            last_captured = frame.captured_at.or(last_captured);
            let report = check.check(&frame);
            timings.face += report.took;
            let Some(steady) = steady.as_mut() else {
                watch(&frame, &report, None);
                match report.verdict {
                    Ok(face) => passing.push((frame, face)),
                    Err(refusal) => tally.refused(refusal),
                }
                continue;
            };
            let face = report.verdict.as_ref().ok().map(|p| &p.face.bounds);
            let fed = steady.feed(face, frame.width, frame.height);
            watch(&frame, &report, fed.progress());
            match (report.verdict, fed) {
                (Err(refusal), _) => tally.refused(refusal),
                // Passed, but not where the face was: a frame that cannot count yet.
                (Ok(_), Fed::Jumped(_)) => tally.refused(Refusal::NotSteady),
                (Ok(face), fed) => {
                    tally.looked();
                    if fed.progress().is_some_and(Progress::done) {
                        // The frame that completed the run is the one taken, at once.
                        passing.push((frame, face));
                        break;
                    }
                }
            }
        }
        first_burst = false;
        let best = passing
            .into_iter()
            .max_by(|a, b| a.1.quality.sharpness.total_cmp(&b.1.quality.sharpness));
        if let Some((frame, face)) = best {
            // Once per capture: a frame whose crop is then refused has already started the
            // verification, which the next passing frame goes out with.
            if !announced {
                announced = true;
                passed();
            }
            // With the steadiness rule the taken frame was counted as it was checked.
            let checked = tally.checked + u32::from(steady.is_none());
            let crop = check.config().crop.then_some(check.config().crop_margin);
            match encode(&frame, &face, wanted, crop, timings) {
                Ok(mut shot) => {
                    shot.burst = checked as usize;
                    shot.face_checks = checked;
                    return Ok(FaceShot {
                        shot,
                        face,
                        checked,
                    });
                }
                // Refused like any other frame: the whole frame is never the fallback.
                Err(Encoded::Refused(refusal)) => {
                    tally.refused(refusal);
                    if let Some(steady) = steady.as_mut() {
                        steady.feed(None, frame.width, frame.height);
                    }
                }
                Err(Encoded::Failed(e)) => return Err(e),
            }
        }
        if Instant::now() >= deadline {
            // A run still building when time ran out: what the person needed was to hold still.
            let reason = if steady.as_ref().is_some_and(Steady::building) {
                Refusal::NotSteady
            } else {
                tally.reason()
            };
            return Err(SearchError::NoFace {
                reason,
                checked: tally.checked,
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                refusals: tally.counts,
            });
        }
    }
}

/// Why the chosen frame was not encoded.
#[derive(Debug)]
enum Encoded {
    /// The frame is refused (its crop cannot be made): look on.
    Refused(Refusal),
    Failed(SearchError),
}

impl<E: Into<SearchError>> From<E> for Encoded {
    fn from(e: E) -> Encoded {
        Encoded::Failed(e.into())
    }
}

/// The chosen frame as the JPEG to send: MJPEG passed through when nothing needs changing,
/// otherwise converted (and cropped) and encoded under the byte cap. With a crop asked for,
/// only the crop is ever encoded.
fn encode(
    frame: &Frame,
    passed: &Passed,
    wanted: Wanted<'_>,
    crop_margin: Option<f32>,
    mut timings: StageTimings,
) -> Result<Shot, Encoded> {
    let mut encoder = Encoder::new()?;
    let settings = EncodeSettings {
        quality: wanted.camera.jpeg_quality,
        max_dimension: wanted.camera.max_dimension,
        max_bytes: wanted.max_bytes,
    };
    let t = Instant::now();
    let jpeg: Jpeg = match crop_margin {
        None if frame.format == PixelFormat::Mjpeg => {
            let jpeg = encoder.pass_mjpeg(frame, &settings)?;
            timings.encode = t.elapsed();
            jpeg
        }
        _ => {
            let mut i420: I420 = match frame.format {
                PixelFormat::Mjpeg => encoder.decode_to_i420(frame)?,
                _ => convert::to_i420(frame).map_err(EncodeError::from)?,
            };
            if let Some(margin) = crop_margin {
                i420 = crop::crop_i420(&i420, &passed.face.bounds, margin)
                    .map_err(Encoded::Refused)?;
            }
            timings.convert = t.elapsed();
            let t = Instant::now();
            let jpeg = encoder.encode_i420(&i420, &settings)?;
            timings.encode = t.elapsed();
            jpeg
        }
    };
    let score = FrameScore {
        luma: passed.quality.luma,
        sharpness: passed.quality.sharpness,
    };
    Ok(Shot::of(jpeg, frame.format, score, timings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Detection, FaceQuality, Rect};

    #[test]
    fn a_crop_that_cannot_be_made_refuses_the_frame_and_sends_nothing() {
        let frame = crate::camera::sim::pack(
            &image::RgbImage::from_pixel(64, 48, image::Rgb([120, 110, 100])),
            PixelFormat::Yuyv,
        );
        // A face a hundredth of a pixel wide: its crop holds no 2x2 block.
        let passed = Passed {
            face: Detection {
                score: 0.9,
                bounds: Rect {
                    left: 0.5,
                    top: 0.5,
                    width: 0.0001,
                    height: 0.0001,
                },
                ..Detection::default()
            },
            quality: FaceQuality {
                luma: 110.0,
                sharpness: 100.0,
            },
        };
        let camera = CameraConfig::default();
        let wanted = Wanted {
            camera: &camera,
            max_bytes: 1_000_000,
            since: Duration::ZERO,
            steady: false,
        };
        let got = encode(&frame, &passed, wanted, Some(0.6), StageTimings::default());
        assert!(
            matches!(got, Err(Encoded::Refused(Refusal::CropFailed))),
            "{got:?}"
        );
        // Without the crop the same frame is encoded whole.
        assert!(encode(&frame, &passed, wanted, None, StageTimings::default()).is_ok());
    }

    #[test]
    fn the_reason_is_the_most_frequent_then_the_latest() {
        let mut t = Tally::default();
        assert_eq!(t.reason(), Refusal::NoFace);
        t.refused(Refusal::OffCentre);
        t.refused(Refusal::NoFace);
        t.refused(Refusal::OffCentre);
        assert_eq!(t.reason(), Refusal::OffCentre);
        t.refused(Refusal::NoFace);
        // 2 each: the latest wins.
        assert_eq!(t.reason(), Refusal::NoFace);
        assert_eq!(t.checked, 4);
    }
}
