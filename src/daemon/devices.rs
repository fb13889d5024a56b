//! Real and simulated hardware, adapted to the daemon's ports.
//!
//! `open` builds what the configuration names: GPIO lines through the
//! character device and a V4L2 camera on a wall; `camera.source =
//! "simulated"` and `indicator.kind = "simulated"` for the demo and for the
//! whole-daemon tests (the simulated LEDs append every change to a file so a
//! test in another process can check the pattern sequence).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Devices;
use super::ports::{self, Press, Shot, ShotError};
use crate::camera::{self, CameraConfig, CaptureError};
use crate::config::Config;
use crate::gpio::{
    self, GpioError, IndicatorHandle, IndicatorKind, Layout, Origin, TriggerEvent, TriggerHandle,
    TriggerHealth,
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
    Camera(camera::CameraError),
    #[error("indicator.record_file {path}: {reason}")]
    Record { path: PathBuf, reason: String },
}

/// Opens the configured hardware. Needs a tokio runtime (the LED task).
pub fn open(config: &Config) -> Result<(Devices, mpsc::Sender<Press>), DevicesError> {
    let (press_tx, presses) = mpsc::channel::<Press>(16);
    let (event_tx, event_rx) = mpsc::channel::<TriggerEvent>(16);
    let mut initial_faults = Vec::new();
    let trigger = match gpio::start_trigger(&config.trigger, event_tx) {
        Ok(t) => t,
        Err(e) => return Err(DevicesError::Trigger(e)),
    };
    tokio::spawn(forward_presses(event_rx, press_tx.clone()));
    let indicator: Box<dyn ports::Indicator> = match config.indicator.kind {
        IndicatorKind::Simulated => {
            let record = config.indicator.record_file.as_deref();
            let (leds, _view) = gpio::sim::start_indicator_recording(layout_of(config), record)
                .map_err(|e| DevicesError::Record {
                    path: record.unwrap_or(Path::new("")).to_owned(),
                    reason: e.to_string(),
                })?;
            Box::new(LedPort(leds))
        }
        _ => Box::new(LedPort(
            gpio::start_indicator(&config.indicator).map_err(DevicesError::Indicator)?,
        )),
    };
    let cam = camera::open(&config.camera).map_err(DevicesError::Camera)?;
    if let TriggerHealth::Fault { error } = trigger.health() {
        initial_faults.push((Component::Gpio, error.to_string()));
    }
    let devices = Devices {
        presses,
        trigger: Box::new(TriggerPort(trigger)),
        indicator,
        camera: Box::new(CameraPort {
            camera: cam,
            config: config.camera.clone(),
        }),
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

/// GPIO events become presses; only a line's event carries a kernel edge time.
async fn forward_presses(mut events: mpsc::Receiver<TriggerEvent>, presses: mpsc::Sender<Press>) {
    while let Some(e) = events.recv().await {
        let press = Press {
            edge_monotonic_ns: (e.origin == Origin::Line).then_some(e.edge_timestamp_ns),
        };
        if presses.send(press).await.is_err() {
            return;
        }
    }
}

struct TriggerPort(TriggerHandle);

impl ports::TriggerControl for TriggerPort {
    fn enrollment_finished(&self) {
        self.0.enrollment_finished();
    }

    fn fault(&self) -> Option<String> {
        match self.0.health() {
            TriggerHealth::Fault { error } => Some(error.to_string()),
            _ => None,
        }
    }
}

struct LedPort(IndicatorHandle);

impl ports::Indicator for LedPort {
    fn show(&self, pattern: Pattern) {
        self.0.show(pattern);
    }

    fn fault(&self) -> Option<String> {
        self.0.fault().map(|e| e.to_string())
    }

    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.0.shutdown())
    }
}

struct CameraPort {
    camera: Box<dyn camera::Camera>,
    config: CameraConfig,
}

impl ports::Camera for CameraPort {
    fn shoot(&mut self, max_bytes: usize, since: Option<Duration>) -> Result<Shot, ShotError> {
        let since = since.unwrap_or_else(crate::time::monotonic);
        match camera::capture_jpeg_since(self.camera.as_mut(), &self.config, max_bytes, since) {
            Ok(shot) => {
                let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                let t = &shot.timings;
                Ok(Shot {
                    width: shot.width,
                    height: shot.height,
                    stages_ms: [
                        ("capture", t.capture),
                        ("choose", t.choose),
                        ("convert", t.convert),
                        ("encode", t.encode),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), ms(v)))
                    .collect(),
                    jpeg: shot.jpeg,
                })
            }
            Err(e @ CaptureError::Retake(_)) => Err(ShotError::Retake(e.to_string())),
            Err(e @ CaptureError::Fault(_)) => Err(ShotError::Fault(e.to_string())),
            Err(e @ (CaptureError::Unreadable(_) | CaptureError::Encode(_))) => {
                Err(ShotError::Failed(e.to_string()))
            }
        }
    }

    /// A burst proves the camera delivers frames again, not just that the
    /// node opens.
    fn recover(&mut self) -> Result<(), String> {
        self.camera.shutdown();
        self.camera.burst().map(drop).map_err(|e| e.to_string())
    }
}
