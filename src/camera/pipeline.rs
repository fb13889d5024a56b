//! One enrollment's picture: burst from the camera, frame choice, conversion
//! and encoding, timed per stage. A local retake (too dark / too bright) is
//! kept apart from a fault so the daemon shows the right thing and sends nothing.

use std::time::{Duration, Instant};

use super::Camera;
use super::choose::{self, FrameScore, LumaLayout, LumaView, Retake};
use super::config::CameraConfig;
use super::convert;
use super::encode::{EncodeError, EncodeSettings, Encoder, Jpeg};
use super::error::CameraError;
use super::frame::{Frame, PixelFormat};

/// Wall time spent in each stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Opening (if needed), warm-up and the burst.
    pub capture: Duration,
    /// Scoring every frame of the burst (for MJPEG, includes the decode check).
    pub choose: Duration,
    /// Raw format to I420 (zero for MJPEG).
    pub convert: Duration,
    /// JPEG encoding including the byte-cap loop (MJPEG: checks or re-encode).
    pub encode: Duration,
    /// The face check of every frame checked (zero when the check is off).
    pub face: Duration,
}

impl StageTimings {
    /// Each stage by name, in whole milliseconds (for logs and the status file).
    pub fn stages_ms(&self) -> impl Iterator<Item = (String, u64)> + use<> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        [
            ("capture", self.capture),
            ("choose", self.choose),
            ("convert", self.convert),
            ("encode", self.encode),
            ("face", self.face),
        ]
        .into_iter()
        .filter(|(name, took)| *name != "face" || !took.is_zero())
        .map(move |(name, took)| (name.to_owned(), ms(took)))
    }
}

/// The picture to send, and what it took to make it.
#[derive(Clone)]
pub struct Shot {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The camera's format.
    pub format: PixelFormat,
    /// Quality used, `None` for MJPEG sent as the camera made it.
    pub quality: Option<u8>,
    pub sharpness: f32,
    pub luma: f32,
    /// Frames in the burst.
    pub burst: usize,
    /// Frames the face check looked at (0 when it is off).
    pub face_checks: u32,
    pub timings: StageTimings,
}

impl Shot {
    /// The shot of a frame of `format` made into `jpeg`, scored `score` (burst and face
    /// checks left for the caller).
    pub fn of(jpeg: Jpeg, format: PixelFormat, score: FrameScore, timings: StageTimings) -> Shot {
        Shot {
            jpeg: jpeg.bytes,
            width: jpeg.width,
            height: jpeg.height,
            format,
            quality: jpeg.quality,
            sharpness: score.sharpness,
            luma: score.luma,
            burst: 0,
            face_checks: 0,
            timings,
        }
    }
}

impl std::fmt::Debug for Shot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shot")
            .field("jpeg_bytes", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("quality", &self.quality)
            .field("sharpness", &self.sharpness)
            .field("luma", &self.luma)
            .field("timings", &self.timings)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Nothing usable in the burst: ask the person to retake; nothing is sent.
    #[error("retake: picture {0}")]
    Retake(Retake),
    /// The camera failed (after reopening); the daemon shows a fault.
    #[error("camera fault: {0}")]
    Fault(#[from] CameraError),
    /// Every frame of the burst was unreadable (corrupt MJPEG, short frames). The camera
    /// still works (the next burst may be whole): the daemon asks for a retake.
    #[error("no readable frame in the burst: {0}")]
    Unreadable(String),
    /// The chosen frame could not be made into a JPEG under the cap.
    #[error("{0}")]
    Encode(#[from] EncodeError),
}

impl CaptureError {
    /// A local retake (the person can fix it) rather than a fault.
    pub fn is_retake(&self) -> bool {
        matches!(self, CaptureError::Retake(_))
    }
}

/// Captures, chooses and encodes one picture from frames taken after this
/// call. Blocking: run it on a blocking thread.
pub fn capture_jpeg(
    camera: &mut dyn Camera,
    config: &CameraConfig,
    max_bytes: usize,
) -> Result<Shot, CaptureError> {
    capture_jpeg_since(camera, config, max_bytes, crate::time::monotonic())
}

/// [`capture_jpeg`] from frames taken after `since` (CLOCK_MONOTONIC).
pub fn capture_jpeg_since(
    camera: &mut dyn Camera,
    config: &CameraConfig,
    max_bytes: usize,
    since: Duration,
) -> Result<Shot, CaptureError> {
    capture_jpeg_announcing(camera, config, max_bytes, since, &mut || {})
}

/// [`capture_jpeg_since`], calling `announce` the moment a frame of the burst is chosen, before
/// it is converted and encoded (the daemon overlaps its create-verification with that work).
pub fn capture_jpeg_announcing(
    camera: &mut dyn Camera,
    config: &CameraConfig,
    max_bytes: usize,
    since: Duration,
    announce: &mut dyn FnMut(),
) -> Result<Shot, CaptureError> {
    let mut timings = StageTimings::default();
    let mut encoder = Encoder::new()?;

    let t = Instant::now();
    let frames = camera.burst_since(since)?;
    timings.capture = t.elapsed();

    let t = Instant::now();
    let mut last_problem = String::from("empty burst");
    let scores: Vec<Option<FrameScore>> = frames
        .iter()
        .map(|f| {
            score_frame(&mut encoder, f)
                .map_err(|e| {
                    log::warn!("unreadable {} frame skipped: {e}", f.format);
                    last_problem = e.to_string();
                })
                .ok()
        })
        .collect();
    let chosen = match choose::choose(&scores, config.min_luma, config.max_luma) {
        None => return Err(CaptureError::Unreadable(last_problem)),
        Some(Err(retake)) => return Err(CaptureError::Retake(retake)),
        Some(Ok(i)) => i,
    };
    let score = scores[chosen].expect("chosen frames have a score");
    timings.choose = t.elapsed();
    announce();

    let frame = &frames[chosen];
    let settings = EncodeSettings {
        quality: config.jpeg_quality,
        max_dimension: config.max_dimension,
        max_bytes,
    };
    let jpeg = if frame.format == PixelFormat::Mjpeg {
        let t = Instant::now();
        let jpeg = encoder.pass_mjpeg(frame, &settings)?;
        timings.encode = t.elapsed();
        jpeg
    } else {
        let t = Instant::now();
        let i420 = convert::to_i420(frame).map_err(EncodeError::from)?;
        timings.convert = t.elapsed();
        let t = Instant::now();
        let jpeg = encoder.encode_i420(&i420, &settings)?;
        timings.encode = t.elapsed();
        jpeg
    };
    let mut shot = Shot::of(jpeg, frame.format, score, timings);
    shot.burst = frames.len();
    Ok(shot)
}

/// Scores a frame for the choice; an error (without image bytes) when the
/// frame cannot be read.
pub fn score_frame(encoder: &mut Encoder, frame: &Frame) -> Result<FrameScore, EncodeError> {
    let (width, height) = (frame.width as usize, frame.height as usize);
    let layout = match frame.format {
        PixelFormat::Mjpeg => {
            let (luma, w, h) = encoder.mjpeg_luma(frame)?;
            return Ok(choose::score(LumaView {
                data: &luma,
                width: w,
                height: h,
                stride: w,
                layout: LumaLayout::Plane { step: 1 },
            }));
        }
        PixelFormat::Yuyv => LumaLayout::Plane { step: 2 },
        PixelFormat::Nv12 => LumaLayout::Plane { step: 1 },
        PixelFormat::Rgb24 => LumaLayout::Rgb,
    };
    convert::check_layout(frame)?;
    Ok(choose::score(LumaView {
        data: &frame.data,
        width,
        height,
        stride: frame.stride,
        layout,
    }))
}
