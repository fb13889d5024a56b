//! The camera: V4L2 capture (or a simulated camera), frame choice and JPEG.
//!
//! # What the daemon calls
//!
//! ```no_run
//! # use enrolld::camera::{self, CameraConfig, CaptureError};
//! # let config = CameraConfig::default();
//! # let max_image_bytes = 1_500_000;
//! // Once, at start (cheap: on-demand mode opens the device per capture).
//! let mut cam = camera::open(&config)?;
//! // Per press, on a blocking thread (everything here blocks, bounded by
//! // `dequeue_timeout_ms` per frame and a few reopens):
//! match camera::capture_jpeg(cam.as_mut(), &config, max_image_bytes) {
//!     Ok(shot) => { /* send shot.jpeg; shot.timings for the log */ }
//!     Err(e) if e.is_retake() => { /* LED "retake"; nothing is sent */ }
//!     Err(e) => { /* LED "fault"; e names the device and what failed */ }
//! }
//! # Ok::<(), camera::CameraError>(())
//! ```
//!
//! # Modules, one job each
//! - [`config`]: the `[camera]` section.
//! - [`frame`]: pixel formats, format negotiation, the frame type.
//! - [`session`]: the capture loop shared by real and simulated cameras
//!   (warm-up, burst, streaming freshness, timeout → close → reopen with backoff).
//! - [`v4l2`]: the real camera (thin; proven under QEMU with vivid elsewhere).
//! - [`sim`] and [`pattern`]: the simulated camera and its generated picture.
//! - [`choose`]: exposure bounds and sharpness (variance of the Laplacian).
//! - [`convert`]: YUYV / NV12 / RGB24 to I420.
//! - [`scale`]: the optional downscale to `max_dimension`.
//! - [`encode`]: libjpeg-turbo under the byte cap; MJPEG checks.
//! - [`pipeline`]: [`capture_jpeg`], timed per stage.
//! - [`probe`]: device listing for `enrolld probe`.
//! - [`csi`]: cameras plain V4L2 cannot drive (a CSI receiver's raw node: libcamera's).

use std::time::Duration;

pub mod choose;
pub mod config;
pub mod convert;
pub mod csi;
pub mod encode;
pub mod error;
pub mod frame;
pub mod pattern;
pub mod pipeline;
pub mod probe;
pub mod scale;
pub mod session;
pub mod sim;
pub mod v4l2;

pub use config::{CameraConfig, CaptureMode, FormatChoice, SourceKind};
pub use error::CameraError;
pub use frame::{Frame, PixelFormat};
pub use pipeline::{
    CaptureError, Shot, StageTimings, capture_jpeg, capture_jpeg_announcing, capture_jpeg_since,
};

/// A camera as the daemon sees it. Blocking; every call is bounded in time.
pub trait Camera: Send {
    /// Warm-up when the stream (re)starts, then `camera.burst` frames taken
    /// after `since` (CLOCK_MONOTONIC; the press's edge when the kernel
    /// timestamped it). Faults are retried by reopening with backoff before
    /// they are returned. In on-demand mode the device is released afterwards.
    fn burst_since(&mut self, since: Duration) -> Result<Vec<Frame>, CameraError> {
        let frames = self.frames_since(since, None);
        self.release();
        frames
    }
    /// [`burst_since`](Camera::burst_since) this call.
    fn burst(&mut self) -> Result<Vec<Frame>, CameraError> {
        self.burst_since(crate::time::monotonic())
    }
    /// Like [`burst_since`](Camera::burst_since) (`count` frames, or `camera.burst`), but
    /// the stream stays open for more: the face check keeps looking at frames until one
    /// passes. End with [`release`](Camera::release).
    fn frames_since(
        &mut self,
        since: Duration,
        count: Option<u32>,
    ) -> Result<Vec<Frame>, CameraError>;
    /// Ends a capture: in on-demand mode the device is released (streaming mode keeps it).
    fn release(&mut self);
    /// The device, for messages.
    fn name(&self) -> String;
    /// Stops streaming and releases the device (streaming mode keeps it
    /// open otherwise). The camera reopens on the next burst.
    fn shutdown(&mut self);
}

/// The configured camera: V4L2 or simulated. Does not open the device for
/// capture yet (the first burst does), so a missing camera is a fault at the
/// first press, not a start failure; a device that is there but can never
/// serve is refused here ([`v4l2::V4l2Camera::check_at_start`]).
pub fn open(config: &CameraConfig) -> Result<Box<dyn Camera>, CameraError> {
    Ok(match config.source {
        SourceKind::V4l2 => {
            let camera = v4l2::V4l2Camera::new(config);
            camera.check_at_start()?;
            Box::new(session::Session::new(camera, config))
        }
        SourceKind::Simulated => {
            Box::new(session::Session::new(sim::SimCamera::new(config)?, config))
        }
    })
}
