//! Where the pictures go: a panel through DRM/KMS, or a PNG file. The display thread opens an
//! output through an [`Opener`] (again and again while there is none: a panel plugged in later,
//! a desktop that lets go of it), shows pictures on it, and drops it when it fails.

use std::path::PathBuf;

use crate::screen::{Picture, Size};

/// Why there is no screen, or why it went away. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    #[error("no DRM device (/dev/dri/card*): no screen; plug one in (enrolld picks it up)")]
    NoDevice,
    #[error("{device}: no connected screen; plug one in (enrolld picks it up)")]
    NotConnected { device: String },
    #[error(
        "{device} is held by {holder}: only one program may drive a screen; stop it (a desktop: \
         `sudo systemctl disable --now display-manager`) or set display.device to another card. \
         enrolld runs with the LED meanwhile and takes the screen when it is free"
    )]
    Held { device: String, holder: String },
    #[error(
        "{device}: permission denied; the service user needs the `video` group and the unit \
         DeviceAllow=char-drm (the shipped unit has both)"
    )]
    Denied { device: String },
    #[error("{device} went away (unplugged, or its driver unbound); enrolld picks it up again")]
    Gone { device: String },
    #[error("{device}: {what}: {reason}")]
    Device {
        device: String,
        what: &'static str,
        reason: String,
    },
    #[error("{path}: cannot write the screen's picture: {reason}", path = path.display())]
    File { path: PathBuf, reason: String },
}

/// A screen being shown on.
pub trait Output: Send {
    /// The picture's size it takes (the panel's mode).
    fn size(&self) -> Size;
    /// What it is, for the log and the status file (`/dev/dri/card0 HDMI-A-1 800x480`).
    fn describe(&self) -> String;
    fn present(&mut self, picture: &Picture) -> Result<(), OutputError>;
    /// Turns the panel off (blanking) or on again.
    fn set_asleep(&mut self, asleep: bool) -> Result<(), OutputError>;
    /// Whether it is still there (polled every few seconds).
    fn check(&mut self) -> Result<(), OutputError>;
    /// The least time between two pictures (a panel is paced by its page flips; a file need
    /// not be rewritten at the camera's frame rate).
    fn min_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Finds and opens the output.
pub trait Opener: Send {
    fn open(&mut self) -> Result<Box<dyn Output>, OutputError>;
}
