//! Errors of the camera: faults the daemon shows (LED `fault`, status file).

use std::path::PathBuf;

use super::frame::PixelFormat;

/// A camera fault. Messages name the device and what failed, never image bytes.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("{device}: cannot open: {source}")]
    Open {
        device: PathBuf,
        source: std::io::Error,
    },
    #[error("{device}: {operation} failed: {source}")]
    Io {
        device: PathBuf,
        operation: &'static str,
        source: std::io::Error,
    },
    #[error("{device}: no frame within {timeout_ms} ms")]
    Timeout { device: PathBuf, timeout_ms: u64 },
    #[error("{device}: does not offer {wanted}; it offers: {offered}")]
    FormatNotOffered {
        device: PathBuf,
        wanted: String,
        offered: String,
    },
    #[error(
        "{device}: asked {format} {asked_w}x{asked_h}, the driver gave {got_w}x{got_h} ({got_format}); choose a size `enrolld probe` lists"
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
    #[error("{device}: frame of {got} bytes, {format} {width}x{height} needs {needed}")]
    ShortFrame {
        device: PathBuf,
        format: PixelFormat,
        width: u32,
        height: u32,
        got: usize,
        needed: usize,
    },
    #[error(
        "{device}: the stream could not be stopped ({source}); restart enrolld to recover the camera"
    )]
    StreamStuck {
        device: PathBuf,
        source: std::io::Error,
    },
    #[error("simulated camera: {0}")]
    Simulated(String),
}

impl CameraError {
    /// Whether reopening the device may help. A format or size the camera
    /// does not offer is a configuration problem: retrying only delays the fault.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            CameraError::FormatNotOffered { .. }
                | CameraError::SizeNotOffered { .. }
                | CameraError::StreamStuck { .. }
        )
    }
}
