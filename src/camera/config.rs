//! `[camera]`: which camera, how it is driven, and how its frame becomes a JPEG.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// `[camera]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// `v4l2` (a real camera) or `simulated` (demo and tests).
    pub source: SourceKind,
    /// V4L2 device node; `/dev/v4l/by-id/...` links are fine (and survive re-plugging).
    pub device: PathBuf,
    pub width: u32,
    pub height: u32,
    pub format: FormatChoice,
    /// Frames discarded after the stream starts, while auto exposure settles.
    pub warmup_frames: u32,
    /// Frames taken per enrollment; the sharpest well-exposed one is kept.
    pub burst: u32,
    pub mode: CaptureMode,
    /// The longest wait for one frame before the stream is declared stuck.
    pub dequeue_timeout_ms: u64,
    /// Mean luma (0-255) below which a frame is too dark.
    pub min_luma: u8,
    /// Mean luma (0-255) above which a frame is too bright.
    pub max_luma: u8,
    pub jpeg_quality: u8,
    /// Downscale so neither side exceeds this many pixels.
    pub max_dimension: Option<u32>,
    /// For `source = "simulated"`: a JPEG file (or PNG, with the `demo` feature) shown as the camera picture;
    /// without it a generated face-like pattern is used.
    pub simulated_image: Option<PathBuf>,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            source: SourceKind::V4l2,
            device: PathBuf::from("/dev/video0"),
            width: 1280,
            height: 720,
            format: FormatChoice::Auto,
            warmup_frames: 5,
            burst: 3,
            mode: CaptureMode::OnDemand,
            dequeue_timeout_ms: 2_000,
            min_luma: 40,
            max_luma: 220,
            jpeg_quality: 85,
            max_dimension: None,
            simulated_image: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    V4l2,
    Simulated,
}

/// The pixel format asked of the camera.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FormatChoice {
    /// MJPEG when offered (no encode needed), else a raw format enrolld converts.
    Auto,
    Mjpeg,
    Yuyv,
    Nv12,
    Rgb24,
}

impl FormatChoice {
    /// The value as written in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            FormatChoice::Auto => "auto",
            FormatChoice::Mjpeg => "mjpeg",
            FormatChoice::Yuyv => "yuyv",
            FormatChoice::Nv12 => "nv12",
            FormatChoice::Rgb24 => "rgb24",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMode {
    /// Open the camera for each enrollment; it is idle (LED off, no power) in between.
    OnDemand,
    /// Keep the stream running; lowest latency, frames older than the request are skipped.
    Streaming,
}

impl CameraConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.source == SourceKind::V4l2 && self.device.as_os_str().is_empty() {
            return Err(Invalid::new(
                "device",
                "must name a V4L2 device node (`enrolld probe` lists them)",
            ));
        }
        if !(16..=8192).contains(&self.width) || !self.width.is_multiple_of(2) {
            return Err(Invalid::new(
                "width",
                "must be an even number between 16 and 8192",
            ));
        }
        if !(16..=8192).contains(&self.height) || !self.height.is_multiple_of(2) {
            return Err(Invalid::new(
                "height",
                "must be an even number between 16 and 8192",
            ));
        }
        if self.warmup_frames > 100 {
            return Err(Invalid::new("warmup_frames", "must be at most 100"));
        }
        if !(1..=16).contains(&self.burst) {
            return Err(Invalid::new("burst", "must be between 1 and 16"));
        }
        if !(100..=60_000).contains(&self.dequeue_timeout_ms) {
            return Err(Invalid::new(
                "dequeue_timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        if self.min_luma >= self.max_luma {
            return Err(Invalid::new("min_luma", "must be below camera.max_luma"));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(Invalid::new("jpeg_quality", "must be between 1 and 100"));
        }
        if let Some(m) = self.max_dimension
            && !(64..=8192).contains(&m)
        {
            return Err(Invalid::new("max_dimension", "must be between 64 and 8192"));
        }
        if self.simulated_image.is_some() && self.source != SourceKind::Simulated {
            return Err(Invalid::new(
                "simulated_image",
                "only applies with camera.source = \"simulated\"",
            ));
        }
        Ok(())
    }

    /// The dequeue timeout as a duration.
    pub fn dequeue_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.dequeue_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CameraConfig, String> {
        let c: CameraConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map_err(|i| i.key)?;
        Ok(c)
    }

    #[test]
    fn defaults_are_valid() {
        let c = parse("").unwrap();
        assert_eq!(c.burst, 3);
        assert_eq!(c.jpeg_quality, 85);
        assert_eq!(c.mode, CaptureMode::OnDemand);
        assert_eq!(c.format, FormatChoice::Auto);
    }

    #[test]
    fn keys_parse() {
        let c = parse(
            "source = \"simulated\"\nformat = \"nv12\"\nmode = \"streaming\"\nmax_dimension = 800\n",
        )
        .unwrap();
        assert_eq!(c.source, SourceKind::Simulated);
        assert_eq!(c.format, FormatChoice::Nv12);
        assert_eq!(c.mode, CaptureMode::Streaming);
        assert_eq!(c.max_dimension, Some(800));
    }

    #[test]
    fn invalid_values_name_their_key() {
        assert_eq!(parse("width = 641").unwrap_err(), "width");
        assert_eq!(parse("burst = 0").unwrap_err(), "burst");
        assert_eq!(
            parse("min_luma = 200\nmax_luma = 100").unwrap_err(),
            "min_luma"
        );
        assert_eq!(parse("jpeg_quality = 0").unwrap_err(), "jpeg_quality");
        assert_eq!(
            parse("dequeue_timeout_ms = 5").unwrap_err(),
            "dequeue_timeout_ms"
        );
        assert_eq!(parse("max_dimension = 10").unwrap_err(), "max_dimension");
        assert_eq!(
            parse("simulated_image = \"/x.png\"").unwrap_err(),
            "simulated_image"
        );
    }

    #[test]
    fn unknown_format_is_refused() {
        assert!(parse("format = \"h264\"").is_err());
    }
}
