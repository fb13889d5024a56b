//! Errors of the camera: faults the daemon shows (LED `fault`, status file).
//!
//! `Clone + Eq` like gpiocdev's error (the OS error is kept as its errno and
//! text), so the daemon can keep a fault and tests can assert exact errors.
//! Every message names the device, says what failed and, where the cause is
//! known, what to do about it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::frame::PixelFormat;

/// An operating-system error, kept as its errno and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsError {
    pub errno: Option<i32>,
    pub text: String,
}

impl From<io::Error> for OsError {
    fn from(e: io::Error) -> Self {
        OsError::from(&e)
    }
}

impl From<&io::Error> for OsError {
    fn from(e: &io::Error) -> Self {
        OsError {
            errno: e.raw_os_error(),
            text: e.to_string(),
        }
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for OsError {}

/// A camera fault. Messages name the device and what failed, never image bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error("{}: cannot open: {source}{}", device.display(), advice(device, source))]
    Open { device: PathBuf, source: OsError },
    #[error("{}: {operation} failed: {source}{}", device.display(), advice(device, source))]
    Io {
        device: PathBuf,
        operation: &'static str,
        source: OsError,
    },
    #[error("{}: {why}; `enrolld probe` lists the capture devices", device.display())]
    NotACaptureDevice { device: PathBuf, why: String },
    #[error("{}: {why}", device.display())]
    NeedsLibcamera { device: PathBuf, why: String },
    #[error(
        "{}: no frame within {timeout_ms} ms; the camera stalled (enrolld reopens it). If it \
         keeps happening, check the camera's cable and power, or raise camera.dequeue_timeout_ms",
        device.display()
    )]
    Timeout { device: PathBuf, timeout_ms: u64 },
    #[error(
        "{}: does not offer {wanted}; it offers: {offered}. Set camera.format to \"auto\" or to \
         one it offers (`enrolld probe` lists them)",
        device.display()
    )]
    FormatNotOffered {
        device: PathBuf,
        wanted: String,
        offered: String,
    },
    #[error(
        "{}: offers no format enrolld reads (MJPEG, NV12, YUYV, RGB24); it offers: {offered}. \
         This device cannot be the camera: pick another in camera.device (`enrolld probe` \
         lists each device's formats)",
        device.display()
    )]
    NoReadableFormat { device: PathBuf, offered: String },
    #[error(
        "{}: asked {format} {asked_w}x{asked_h}, the driver gave {got_w}x{got_h} ({got_format}); \
         set camera.width and camera.height to a size `enrolld probe` lists",
        device.display()
    )]
    SizeNotOffered {
        device: PathBuf,
        format: PixelFormat,
        asked_w: u32,
        asked_h: u32,
        got_w: u32,
        got_h: u32,
        got_format: String,
    },
    #[error(
        "{}: the driver says each {width}-pixel {format} line takes {stride} bytes, more than \
         the {max} enrolld accepts (a driver fault); set camera.format to another format \
         `enrolld probe` lists",
        device.display()
    )]
    LineTooLong {
        device: PathBuf,
        format: PixelFormat,
        width: u32,
        stride: usize,
        max: usize,
    },
    #[error(
        "{}: the stream could not be stopped ({source}); restart enrolld to recover the camera",
        device.display()
    )]
    StreamStuck { device: PathBuf, source: OsError },
    #[error("simulated camera: {0}")]
    Simulated(String),
}

impl CameraError {
    /// Whether reopening the device may help. A format or size the camera
    /// does not offer is a configuration problem: retrying only delays the fault.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            CameraError::NotACaptureDevice { .. }
                | CameraError::NeedsLibcamera { .. }
                | CameraError::FormatNotOffered { .. }
                | CameraError::SizeNotOffered { .. }
                | CameraError::LineTooLong { .. }
                | CameraError::StreamStuck { .. }
        )
    }
}

/// What to do about an OS error on the camera's node, for the errnos an
/// installer meets; empty when there is nothing better to say than the error.
fn advice(device: &Path, error: &OsError) -> String {
    let device = device.display();
    match error.errno {
        Some(libc::ENOENT) => "; is the camera plugged in? `enrolld probe` lists the capture \
                               devices: set camera.device to one of them (a /dev/v4l/by-id/ \
                               path survives reboots)"
            .to_owned(),
        Some(libc::EACCES | libc::EPERM) => format!(
            "; enrolld's user must be in the group that owns {device} (`ls -l {device}`, \
             usually `video`: the unit sets SupplementaryGroups=video), and a unit of your own \
             needs DeviceAllow=char-video4linux rw"
        ),
        Some(libc::EBUSY) => {
            format!("; another program is using the camera: stop it (`fuser -v {device}` names it)")
        }
        Some(libc::ENODEV | libc::ENXIO) => "; the camera went away (unplugged, or a USB \
                                             reset): check its cable; enrolld reopens it when it \
                                             is back"
            .to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> OsError {
        OsError::from(io::Error::from_raw_os_error(errno))
    }

    fn open(errno: i32) -> String {
        CameraError::Open {
            device: "/dev/video0".into(),
            source: os(errno),
        }
        .to_string()
    }

    #[test]
    fn os_errors_say_what_to_do() {
        assert_eq!(
            open(libc::EACCES),
            "/dev/video0: cannot open: Permission denied (os error 13); enrolld's user must be \
             in the group that owns /dev/video0 (`ls -l /dev/video0`, usually `video`: the unit \
             sets SupplementaryGroups=video), and a unit of your own needs \
             DeviceAllow=char-video4linux rw"
        );
        assert_eq!(
            CameraError::Io {
                device: "/dev/video0".into(),
                operation: "VIDIOC_S_FMT",
                source: os(libc::EBUSY),
            }
            .to_string(),
            "/dev/video0: VIDIOC_S_FMT failed: Device or resource busy (os error 16); another \
             program is using the camera: stop it (`fuser -v /dev/video0` names it)"
        );
        assert!(
            open(libc::ENODEV).ends_with(
                "; the camera went away (unplugged, or a USB reset): check its cable; enrolld \
                 reopens it when it is back"
            ),
            "{}",
            open(libc::ENODEV)
        );
        assert_eq!(
            open(libc::EIO),
            "/dev/video0: cannot open: Input/output error (os error 5)"
        );
    }

    #[test]
    fn configuration_errors_name_the_key_to_change() {
        let format = CameraError::FormatNotOffered {
            device: "/dev/video0".into(),
            wanted: "nv12".into(),
            offered: "MJPG, YUYV".into(),
        };
        assert_eq!(
            format.to_string(),
            "/dev/video0: does not offer nv12; it offers: MJPG, YUYV. Set camera.format to \
             \"auto\" or to one it offers (`enrolld probe` lists them)"
        );
        let timeout = CameraError::Timeout {
            device: "/dev/video0".into(),
            timeout_ms: 2000,
        };
        assert!(
            timeout
                .to_string()
                .contains("raise camera.dequeue_timeout_ms"),
            "{timeout}"
        );
        // Clone + Eq: a fault can be kept and compared.
        assert_eq!(format.clone(), format);
        // camera.format = "auto" and nothing readable: another device, not another format.
        let none = CameraError::NoReadableFormat {
            device: "/dev/video10".into(),
            offered: "GREY".into(),
        };
        assert_eq!(
            none.to_string(),
            "/dev/video10: offers no format enrolld reads (MJPEG, NV12, YUYV, RGB24); it offers: \
             GREY. This device cannot be the camera: pick another in camera.device (`enrolld \
             probe` lists each device's formats)"
        );
    }
}
