//! The simulated camera: a picture (a JPEG file, or PNG with the `demo`
//! feature, or the generated face)
//! served as a stream in any of the formats enrolld reads, with a script of
//! events (dark, bright or blurred frames, stalls, failures) so tests drive
//! the shared capture loop through timeouts, faults and reopens.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use image::{Rgb, RgbImage};

use super::config::CameraConfig;
use super::error::CameraError;
use super::frame::{Frame, PixelFormat, negotiate};
use super::pattern;
use super::session::FrameSource;
use crate::time::monotonic;

/// What the simulated camera does for one frame (or one open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimEvent {
    /// The picture as it is.
    Normal,
    /// Under-exposed.
    Dark,
    /// Over-exposed.
    Bright,
    /// Out of focus.
    Blurred,
    /// A frame captured before the request (left queued in a running stream).
    Stale,
    /// No frame: the dequeue times out (after waiting the timeout).
    Stall,
    /// The dequeue fails with an I/O error.
    Fail,
    /// Opening the device fails (consumed by the next open).
    OpenFail,
}

/// Shared handle to steer a simulated camera and read what happened to it.
#[derive(Debug, Clone, Default)]
pub struct SimControl(Arc<Mutex<SimState>>);

#[derive(Debug, Default)]
struct SimState {
    script: VecDeque<SimEvent>,
    opens: u32,
    frames: u32,
    /// Frames asked of a stream that had already failed: the V4L2 source
    /// must never do that, so the capture loop must not either.
    reuse_after_error: u32,
}

impl SimControl {
    fn state(&self) -> MutexGuard<'_, SimState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Queues events; when the script is empty, frames are `Normal`.
    pub fn push(&self, events: &[SimEvent]) {
        self.state().script.extend(events);
    }
    pub fn opens(&self) -> u32 {
        self.state().opens
    }
    pub fn frames(&self) -> u32 {
        self.state().frames
    }
    pub fn reuse_after_error(&self) -> u32 {
        self.state().reuse_after_error
    }
}

/// Formats the simulated camera offers, like a UVC camera with MJPEG.
pub const OFFERED: [PixelFormat; 4] = [
    PixelFormat::Yuyv,
    PixelFormat::Mjpeg,
    PixelFormat::Nv12,
    PixelFormat::Rgb24,
];

pub struct SimCamera {
    picture: RgbImage,
    /// `simulated_image` and the modification time of the version shown: a file replaced
    /// while the camera runs is shown from the next frame on (a person stepping in front of
    /// the demo's or a test's camera).
    file: Option<(PathBuf, Option<SystemTime>)>,
    wanted: super::config::FormatChoice,
    format: Option<PixelFormat>,
    failed: bool,
    packed: HashMap<SimEvent, Vec<u8>>,
    control: SimControl,
    /// Where this camera's frame numbers start: random, so two runs of the
    /// daemon never stamp the same frame.
    first_number: u32,
    /// Frames a stream hands out at once after it opens (its warm-up and first burst, as a
    /// camera's queued buffers would); after them it delivers [`FRAME_RATE`] frames a second,
    /// so a capture that keeps looking (the face check) waits for frames as it would on a
    /// camera instead of spinning.
    instant_frames: u32,
    since_open: u32,
    last_frame: Option<std::time::Instant>,
}

/// The simulated camera's rate once its first frames are taken.
pub const FRAME_RATE: u32 = 30;

impl SimCamera {
    /// A simulated camera showing `config.simulated_image` or the generated face.
    pub fn new(config: &CameraConfig) -> Result<SimCamera, CameraError> {
        let (w, h) = (config.width, config.height);
        let picture = match &config.simulated_image {
            Some(path) => load_picture(path, w, h)?,
            None => pattern::face(w, h),
        };
        let file = config
            .simulated_image
            .as_ref()
            .map(|p| (p.clone(), modified(p)));
        Ok(SimCamera {
            picture,
            file,
            wanted: config.format,
            format: None,
            failed: false,
            packed: HashMap::new(),
            control: SimControl::default(),
            first_number: fastrand::u32(..),
            instant_frames: config.warmup_frames + config.burst,
            since_open: 0,
            last_frame: None,
        })
    }

    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Waits for the next frame's time once the stream's first frames are taken.
    fn pace(&mut self) {
        self.since_open += 1;
        if self.since_open > self.instant_frames
            && let Some(last) = self.last_frame
        {
            let next = last + Duration::from_secs(1) / FRAME_RATE;
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
        self.last_frame = Some(std::time::Instant::now());
    }

    /// Shows the picture file anew when it was replaced; a file that does not load (being
    /// written) keeps the old picture until it does.
    fn refresh(&mut self) {
        let Some((path, shown)) = &self.file else {
            return;
        };
        let now = modified(path);
        if now == *shown {
            return;
        }
        let (w, h) = (self.picture.width(), self.picture.height());
        if let Ok(picture) = load_picture(path, w, h) {
            self.picture = picture;
            self.packed.clear();
            self.file = Some((path.clone(), now));
        }
    }

    fn frame_bytes(&mut self, event: SimEvent, format: PixelFormat, number: u32) -> Vec<u8> {
        let picture = &self.picture;
        let mut data = self
            .packed
            .entry(event)
            .or_insert_with(|| pack(&variant(picture, event), format).data)
            .clone();
        stamp(&mut data, format, self.first_number.wrapping_add(number));
        data
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load_picture(path: &Path, w: u32, h: u32) -> Result<RgbImage, CameraError> {
    let img = image::open(path)
        .map_err(|e| CameraError::Simulated(format!("{}: {e}", path.display())))?;
    Ok(image::imageops::resize(
        &img.to_rgb8(),
        w,
        h,
        image::imageops::FilterType::Triangle,
    ))
}

impl FrameSource for SimCamera {
    fn open(&mut self) -> Result<PixelFormat, CameraError> {
        let mut st = self.control.state();
        if st.script.front() == Some(&SimEvent::OpenFail) {
            st.script.pop_front();
            return Err(CameraError::Simulated("open failed (scripted)".into()));
        }
        let format = negotiate(&OFFERED, self.wanted).ok_or_else(|| {
            CameraError::Simulated(format!("format {} not offered", self.wanted.name()))
        })?;
        st.opens += 1;
        drop(st);
        if self.format != Some(format) {
            self.packed.clear();
        }
        self.format = Some(format);
        self.failed = false;
        self.since_open = 0;
        Ok(format)
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let format = self
            .format
            .ok_or_else(|| CameraError::Simulated("frame asked of a closed camera".into()))?;
        let event = {
            let mut st = self.control.state();
            if self.failed {
                st.reuse_after_error += 1;
                return Err(CameraError::Simulated(
                    "stream reused after an error".into(),
                ));
            }
            st.script.pop_front().unwrap_or(SimEvent::Normal)
        };
        match event {
            SimEvent::Stall => {
                self.failed = true;
                std::thread::sleep(timeout);
                return Err(CameraError::Timeout {
                    device: "simulated".into(),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            SimEvent::Fail | SimEvent::OpenFail => {
                self.failed = true;
                return Err(CameraError::Simulated("dequeue failed (scripted)".into()));
            }
            _ => {}
        }
        let number = {
            let mut st = self.control.state();
            st.frames += 1;
            st.frames
        };
        let captured_at = match event {
            SimEvent::Stale => Some(Duration::ZERO),
            _ => Some(monotonic()),
        };
        let event = if event == SimEvent::Stale {
            SimEvent::Normal
        } else {
            event
        };
        self.pace();
        self.refresh();
        let data = self.frame_bytes(event, format, number);
        Ok(Frame {
            format,
            width: self.picture.width(),
            height: self.picture.height(),
            stride: format.min_stride(self.picture.width()),
            data,
            captured_at,
        })
    }

    fn close(&mut self) {
        self.format = None;
        self.failed = false;
    }

    fn name(&self) -> String {
        "simulated camera".into()
    }
}

/// Writes the frame's number into its first bytes, one bit a byte (dark or
/// light), as a sensor's noise would make it differ: no two captures encode
/// to the same JPEG, so tests can tell which capture a registration carried.
/// A compressed frame gets the number as a JPEG comment instead.
fn stamp(data: &mut Vec<u8>, format: PixelFormat, number: u32) {
    if format == PixelFormat::Mjpeg {
        let text = format!("simulated frame {number}");
        let len = u16::try_from(text.len() + 2).expect("short comment");
        let mut comment = vec![0xff, 0xfe];
        comment.extend_from_slice(&len.to_be_bytes());
        comment.extend_from_slice(text.as_bytes());
        // After SOI (FF D8).
        data.splice(2..2, comment);
        return;
    }
    for (bit, byte) in data.iter_mut().take(32).enumerate() {
        *byte = if number >> bit & 1 == 1 { 0xf0 } else { 0x10 };
    }
}

/// The picture as the event shows it.
fn variant(picture: &RgbImage, event: SimEvent) -> RgbImage {
    let mut out = picture.clone();
    match event {
        SimEvent::Dark => out.pixels_mut().for_each(|p| p.0 = p.0.map(|c| c / 8)),
        SimEvent::Bright => out
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|c| 235 + c / 13)),
        SimEvent::Blurred => out = image::imageops::blur(picture, 4.0),
        _ => {}
    }
    out
}

/// Full-range BT.601 (JFIF) Y, Cb, Cr of one RGB pixel, unrounded.
fn ycbcr(p: &Rgb<u8>) -> [f32; 3] {
    let [r, g, b] = p.0.map(f32::from);
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    ]
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Packs an RGB picture (even width and height) into a tightly packed frame
/// of `format`, as a camera would deliver it. A straightforward per-pixel
/// implementation: it serves the simulated camera, tests and benchmarks.
pub fn pack(picture: &RgbImage, format: PixelFormat) -> Frame {
    let (w, h) = picture.dimensions();
    let data = match format {
        PixelFormat::Rgb24 => picture.as_raw().clone(),
        PixelFormat::Yuyv => {
            let mut out = Vec::with_capacity((w * h * 2) as usize);
            for y in 0..h {
                for x in (0..w).step_by(2) {
                    let (a, b) = (
                        ycbcr(picture.get_pixel(x, y)),
                        ycbcr(picture.get_pixel(x + 1, y)),
                    );
                    out.extend_from_slice(&[
                        to_u8(a[0]),
                        to_u8((a[1] + b[1]) / 2.0),
                        to_u8(b[0]),
                        to_u8((a[2] + b[2]) / 2.0),
                    ]);
                }
            }
            out
        }
        PixelFormat::Nv12 => {
            let mut out: Vec<u8> = picture.pixels().map(|p| to_u8(ycbcr(p)[0])).collect();
            for y in (0..h).step_by(2) {
                for x in (0..w).step_by(2) {
                    let mut sum = [0.0f32; 2];
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let c = ycbcr(picture.get_pixel(x + dx, y + dy));
                        sum[0] += c[1];
                        sum[1] += c[2];
                    }
                    out.extend_from_slice(&[to_u8(sum[0] / 4.0), to_u8(sum[1] / 4.0)]);
                }
            }
            out
        }
        PixelFormat::Mjpeg => turbojpeg::compress(
            turbojpeg::Image {
                pixels: picture.as_raw().as_slice(),
                width: w as usize,
                pitch: w as usize * 3,
                height: h as usize,
                format: turbojpeg::PixelFormat::RGB,
            },
            90,
            turbojpeg::Subsamp::Sub2x1,
        )
        .map(|b| b.to_vec())
        .unwrap_or_default(),
    };
    Frame {
        format,
        width: w,
        height: h,
        stride: format.min_stride(w),
        data,
        captured_at: None,
    }
}
