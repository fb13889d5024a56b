//! Real and simulated hardware, adapted to the daemon's ports.
//!
//! `open` builds what the configuration names: GPIO lines through the
//! character device and a V4L2 camera on a wall; `camera.source =
//! "simulated"` and `indicator.kind = "simulated"` for the demo and for the
//! whole-daemon tests (the simulated LEDs append every change to a file so a
//! test in another process can check the pattern sequence).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Devices;
use super::ports::{self, Live, Press, Shot, ShotError};
use crate::camera::{self, CameraConfig, CameraError, CaptureError, Frame};
use crate::config::Config;
use crate::display::{DisplayConfig, DisplayError};
use crate::face::FaceCheck;
use crate::face::search::{self, SearchError};
use crate::gpio::{
    self, GpioError, IndicatorHandle, IndicatorKind, Layout, TriggerHandle, TriggerHealth,
};
use crate::machine::{Component, Pattern};

/// Why the hardware could not be set up at all (a fault that can recover,
/// such as a camera that is unplugged, is not an error: the daemon starts in
/// `fault`).
#[derive(Debug, thiserror::Error)]
pub enum DevicesError {
    #[error("trigger: {0}")]
    Trigger(GpioError),
    #[error("indicator: {0}")]
    Indicator(GpioError),
    #[error("camera: {0}")]
    Camera(CameraError),
    #[error("indicator.record_file: {0}")]
    Record(crate::fsutil::FsError),
    #[error("face check: {0} (or set face.enabled = false)")]
    Face(crate::face::ModelError),
    /// The font, or a prompt's letters (the configuration's fault).
    #[error("{0}")]
    Display(DisplayError),
}

/// Opens the configured hardware. Needs a tokio runtime (the LED task).
/// Also returns a sender on the presses' channel, for presses pushed in
/// without a line (the demo's keyboard).
pub fn open(config: &Config) -> Result<(Devices, mpsc::Sender<Press>), DevicesError> {
    let (press_tx, presses) = mpsc::channel::<Press>(16);
    let mut initial_faults = Vec::new();
    let trigger =
        gpio::start_trigger(&config.trigger, press_tx.clone()).map_err(DevicesError::Trigger)?;
    let indicator: Box<dyn ports::Indicator> = match config.indicator.kind {
        IndicatorKind::Simulated => {
            let record = config.indicator.record_file.as_deref();
            let (leds, _view) = gpio::sim::start_indicator_recording(layout_of(config), record)
                .map_err(|e| {
                    let path = record.unwrap_or(Path::new(""));
                    DevicesError::Record(crate::fsutil::FsError::new(path, "open", &e))
                })?;
            Box::new(LedPort(leds))
        }
        _ => Box::new(LedPort(
            gpio::start_indicator(&config.indicator).map_err(DevicesError::Indicator)?,
        )),
    };
    let cam = camera::open(&config.camera).map_err(DevicesError::Camera)?;
    // Loaded at start (a few milliseconds), so a press never waits for it.
    let face = if config.face.enabled {
        Some(FaceCheck::load(&config.face).map_err(DevicesError::Face)?)
    } else {
        None
    };
    if let TriggerHealth::Fault { error } = trigger.health() {
        initial_faults.push((Component::Gpio, error.to_string()));
    }
    // The font is read and checked now: a missing one is a configuration error at start,
    // never a blank screen later. The screen itself is looked for by its thread.
    let display: Box<dyn ports::Display> = if config.display.enabled {
        screen_port(&config.display)?
    } else {
        Box::new(NoScreen)
    };
    let devices = Devices {
        presses,
        trigger: Box::new(TriggerPort(trigger)),
        indicator,
        camera: Box::new(CameraPort {
            camera: cam,
            config: config.camera.clone(),
            face,
            mirror: config.display.enabled,
        }),
        display,
        initial_faults,
    };
    Ok((devices, press_tx))
}

fn layout_of(config: &Config) -> Layout {
    if config.indicator.green.is_some() || config.indicator.red.is_some() {
        Layout::Pair
    } else {
        Layout::Single
    }
}

struct TriggerPort(TriggerHandle);

impl ports::TriggerControl for TriggerPort {
    fn enrollment_finished(&self) {
        self.0.enrollment_finished();
    }

    fn fault(&self) -> Option<GpioError> {
        match self.0.health() {
            TriggerHealth::Fault { error } => Some(error),
            _ => None,
        }
    }
}

struct LedPort(IndicatorHandle);

impl ports::Indicator for LedPort {
    fn show(&self, pattern: Pattern) {
        self.0.show(pattern);
    }

    fn fault(&self) -> Option<GpioError> {
        self.0.fault()
    }

    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.0.shutdown())
    }
}

struct CameraPort {
    camera: Box<dyn camera::Camera>,
    config: CameraConfig,
    /// The face check, when `face.enabled`: then only a frame showing one well-placed face
    /// is ever encoded.
    face: Option<FaceCheck>,
    /// A screen shows the frames (else only the verdicts are handed on).
    mirror: bool,
}

/// What the screen is handed of one frame: the frame itself only when a screen shows it.
fn live_of(mirror: bool, frame: &Frame, report: Option<&crate::face::Report>) -> Live {
    Live {
        frame: mirror.then(|| Arc::new(frame.clone())),
        report: report.cloned(),
    }
}

impl ports::Camera for CameraPort {
    fn shoot(
        &mut self,
        max_bytes: usize,
        since: Option<Duration>,
        live: &mut dyn FnMut(Live),
        passed: &mut dyn FnMut(),
    ) -> Result<Shot, ShotError> {
        let since = since.unwrap_or_else(crate::time::monotonic);
        let camera = self.camera.as_mut();
        let Some(check) = self.face.as_mut() else {
            return camera::capture_jpeg_announcing(camera, &self.config, max_bytes, since, passed)
                .map_err(|e| match e {
                    CaptureError::Retake(_) => ShotError::Retake(e.to_string()),
                    // Damaged frames (cheap USB cameras send truncated or zeroed MJPEG):
                    // the person can simply try again, and the camera stays in use.
                    CaptureError::Unreadable(_) => ShotError::Retake(e.to_string()),
                    CaptureError::Fault(_) => ShotError::Fault(e.to_string()),
                    CaptureError::Encode(_) => ShotError::Failed(e.to_string()),
                });
        };
        let wanted = search::Wanted {
            camera: &self.config,
            max_bytes,
            since,
        };
        let mirror = self.mirror;
        let mut watch = |frame: &Frame, report: &crate::face::Report| {
            live(live_of(mirror, frame, Some(report)));
        };
        match search::capture_announcing(camera, check, wanted, &mut watch, passed) {
            Ok(found) => Ok(found.shot),
            Err(e) => Err(match e {
                SearchError::NoFace {
                    reason, checked, ..
                } => ShotError::NoFace {
                    reason,
                    checked,
                    detail: e.to_string(),
                },
                SearchError::Camera(_) => ShotError::Fault(e.to_string()),
                SearchError::Encode(_) => ShotError::Failed(e.to_string()),
            }),
        }
    }

    /// A burst proves the camera delivers frames again, not just that the
    /// node opens.
    fn recover(&mut self) -> Result<(), CameraError> {
        self.camera.shutdown();
        self.camera.burst().map(drop)
    }

    /// Frames at the camera's pace, each checked; with the face check on, at most
    /// `face.max_checks_per_second` of them are checked and shown (the rest read and dropped),
    /// so the setup view costs what a presence sensor's wait does.
    fn preview(
        &mut self,
        stop: &AtomicBool,
        live: &mut dyn FnMut(Live),
    ) -> Result<(), CameraError> {
        let interval = self.face.as_ref().map(|f| f.config().check_interval());
        let mut last: Option<std::time::Instant> = None;
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            let frames = match self.camera.frames_since(crate::time::monotonic(), Some(1)) {
                Ok(frames) => frames,
                Err(e) => break Err(e),
            };
            for frame in frames {
                if interval.is_some_and(|i| last.is_some_and(|t| t.elapsed() < i)) {
                    continue;
                }
                last = Some(std::time::Instant::now());
                let report = self.face.as_mut().map(|check| check.check(&frame));
                live(live_of(self.mirror, &frame, report.as_ref()));
            }
        };
        self.camera.release();
        result
    }
}

#[cfg(feature = "screen")]
fn screen_port(config: &DisplayConfig) -> Result<Box<dyn ports::Display>, DevicesError> {
    let renderer = crate::display::renderer(config).map_err(DevicesError::Display)?;
    Ok(Box::new(ScreenPort(crate::display::Display::start(
        config, renderer,
    ))))
}

/// The configuration refuses `display.enabled` in a build without the screen.
#[cfg(not(feature = "screen"))]
fn screen_port(_: &DisplayConfig) -> Result<Box<dyn ports::Display>, DevicesError> {
    Ok(Box::new(NoScreen))
}

/// The screen's thread behind the daemon's port.
#[cfg(feature = "screen")]
struct ScreenPort(crate::display::Display);

#[cfg(feature = "screen")]
impl ports::Display for ScreenPort {
    fn show(&self, scene: &crate::screen::Scene, frame: Option<Arc<Frame>>) {
        self.0.show(scene, frame);
    }

    fn wake(&self) {
        self.0.wake();
    }

    fn status(&self) -> Option<crate::status::DisplayStatus> {
        Some(self.0.status())
    }

    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut display = self.0;
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(move || display.stop()).await;
        })
    }
}

/// `display.enabled = false`: no screen (an integrator's own, fed by `enrolld watch`).
pub struct NoScreen;

impl ports::Display for NoScreen {
    fn show(&self, _: &crate::screen::Scene, _: Option<Arc<Frame>>) {}

    fn wake(&self) {}

    fn status(&self) -> Option<crate::status::DisplayStatus> {
        None
    }

    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}
