//! What the daemon needs from the hardware and from IDMeta, as small
//! traits. The GPIO and camera modules (real and simulated) are adapted to
//! these in [`super::devices`], the HTTPS client implements [`Registrar`],
//! so the loop is the same on a wall, in the demo and in its unit tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::api::{Client, Finalized, Outcome};
use crate::camera::{CameraError, Frame};
use crate::gpio::GpioError;
use crate::machine::Pattern;
use crate::screen::Scene;
use crate::status::DisplayStatus;

/// A press, as the GPIO trigger sends it (the kernel's CLOCK_MONOTONIC edge
/// time) or as the control socket and the demo keyboard push it (no time).
pub use crate::press::Press;

/// One JPEG ready to send, and how long each stage took: the camera's own
/// type, handed over as it comes out of [`crate::camera::capture_jpeg_since`].
pub use crate::camera::Shot;

/// Why no JPEG came out of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShotError {
    /// Frames came but none was usable (too dark, too bright, all damaged): ask for a retake.
    Retake(String),
    /// The camera is broken (timeout, driver error): a fault until it recovers.
    Fault(String),
    /// This capture failed but the camera works (a JPEG that cannot fit the
    /// byte cap): shown as failed.
    Failed(String),
    /// No frame showed one well-placed face before `face.deadline_ms`: nothing was encoded.
    NoFace {
        reason: crate::face::Refusal,
        /// Frames checked.
        checked: u32,
        /// In words, for the log (no image bytes).
        detail: String,
    },
}

/// One frame the camera looked at while a person stood there, and what the face check made
/// of it: the screen's mirror and prompt follow it. Held in memory only, as long as the
/// screen shows it.
#[derive(Debug, Clone)]
pub struct Live {
    /// The frame, when a screen shows it (`display.enabled`).
    pub frame: Option<Arc<Frame>>,
    /// The face check's verdict (`None` when the check is off).
    pub report: Option<crate::face::Report>,
}

/// The camera as the daemon sees it. Blocking: called on a blocking thread.
pub trait Camera: Send + 'static {
    /// Warm-up, burst, frame choice and encoding under `max_bytes`, from
    /// frames taken after `since` (CLOCK_MONOTONIC; `None`: after this call).
    /// Every frame the face check looks at is handed to `live` on the way.
    /// `passed` is called once, the moment a frame passed (the face check,
    /// or without it the frame chosen) and before it is encoded: the daemon
    /// asks IDMeta for a verification then, never before.
    fn shoot(
        &mut self,
        max_bytes: usize,
        since: Option<Duration>,
        live: &mut dyn FnMut(Live),
        passed: &mut dyn FnMut(),
    ) -> Result<Shot, ShotError>;
    /// While in fault: try to reopen the device. `Ok` clears the fault.
    fn recover(&mut self) -> Result<(), CameraError>;
    /// The installer's setup view: frames, each checked, handed to `live` until `stop` is
    /// set. Nothing is encoded, stored or sent. A camera without a picture to show returns
    /// at once.
    fn preview(
        &mut self,
        stop: &AtomicBool,
        live: &mut dyn FnMut(Live),
    ) -> Result<(), CameraError> {
        let _ = (stop, live);
        Ok(())
    }
}

/// The person's screen. Every call returns at once (a thread of its own renders and shows).
pub trait Display: Send + 'static {
    /// Shows `scene`, with the camera frame it shows (the mirror, the captured face).
    fn show(&self, scene: &Scene, frame: Option<Arc<Frame>>);
    /// Wakes a screen that went to sleep after idle.
    fn wake(&self);
    /// For the status file; `None` when no screen is configured.
    fn status(&self) -> Option<DisplayStatus>;
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The LED(s). `show` never blocks; `shutdown` leaves the lines off.
pub trait Indicator: Send + 'static {
    fn show(&self, pattern: Pattern);
    /// A broken LED line, if any (reported as a GPIO fault).
    fn fault(&self) -> Option<GpioError>;
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The trigger's control side; presses arrive on a channel.
pub trait TriggerControl: Send + 'static {
    /// Starts the button's cooldown after an enrollment ended.
    fn enrollment_finished(&self);
    /// A broken trigger line, if any (reported as a GPIO fault).
    fn fault(&self) -> Option<GpioError>;
}

/// IDMeta's three calls, as the daemon makes them. Blocking: called on a
/// blocking thread. Every failure is an [`Outcome`] that says whether the
/// request may have been processed.
pub trait Registrar: Send + Sync + 'static {
    fn create_verification(&self) -> Result<String, Outcome>;
    fn register(&self, jpeg: &[u8], username: &str, verification_id: &str) -> Outcome;
    fn finalize(&self, verification_id: &str) -> Result<Finalized, Outcome>;
}

impl Registrar for Client {
    fn create_verification(&self) -> Result<String, Outcome> {
        Client::create_verification(self)
    }

    fn register(&self, jpeg: &[u8], username: &str, verification_id: &str) -> Outcome {
        Client::register(self, jpeg, username, verification_id)
    }

    fn finalize(&self, verification_id: &str) -> Result<Finalized, Outcome> {
        self.finalize_verification(verification_id)
    }
}
