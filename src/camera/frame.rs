//! What a camera hands over: one frame's bytes with the layout needed to read them.

use std::fmt;
use std::time::Duration;

use super::config::FormatChoice;

/// Pixel formats enrolld can take from a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Motion JPEG: each frame is a complete JPEG, passed through after checks.
    Mjpeg,
    /// Packed 4:2:2, `Y0 U Y1 V`.
    Yuyv,
    /// Y plane followed by an interleaved `U V` plane at half resolution.
    Nv12,
    /// Packed `R G B`, 8 bits each.
    Rgb24,
}

impl PixelFormat {
    /// The V4L2 fourcc code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Nv12 => *b"NV12",
            PixelFormat::Rgb24 => *b"RGB3",
        }
    }

    pub fn from_fourcc(code: &[u8; 4]) -> Option<PixelFormat> {
        [
            PixelFormat::Mjpeg,
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Rgb24,
        ]
        .into_iter()
        .find(|f| &f.fourcc() == code)
    }

    /// Bytes per line of the first plane for a tightly packed frame.
    pub fn min_stride(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            PixelFormat::Mjpeg => 0,
            PixelFormat::Yuyv => w * 2,
            PixelFormat::Nv12 => w,
            PixelFormat::Rgb24 => w * 3,
        }
    }

    /// The longest line a driver may report for a `width`-pixel line: a tight line plus as
    /// much again (at least 4 KiB) of padding. Drivers pad lines by a few dozen bytes; a stride
    /// taken on trust would size every frame copy (and overflow `stride * height` on a 32-bit
    /// board). MJPEG has no lines: 0.
    pub fn max_stride(self, width: u32) -> usize {
        let tight = self.min_stride(width);
        if tight == 0 {
            return 0;
        }
        tight + tight.max(4096)
    }

    /// The most bytes taken from one frame's buffer: a raw frame's layout, an MJPEG frame an
    /// uncompressed RGB picture of the negotiated size (a camera's JPEG is a fraction of it:
    /// 1280x720 at quality 100 is about a fifth). The buffer's own length comes from the driver.
    pub fn max_frame_bytes(self, stride: usize, width: u32, height: u32) -> usize {
        self.frame_len(stride, height)
            .unwrap_or(width as usize * height as usize * 3)
    }

    /// Bytes a raw frame needs with the given stride (`None` for MJPEG).
    pub fn frame_len(self, stride: usize, height: u32) -> Option<usize> {
        let h = height as usize;
        match self {
            PixelFormat::Mjpeg => None,
            PixelFormat::Yuyv | PixelFormat::Rgb24 => Some(stride * h),
            PixelFormat::Nv12 => Some(stride * h + stride * h.div_ceil(2)),
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PixelFormat::Mjpeg => "MJPEG",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Rgb24 => "RGB24",
        })
    }
}

/// The format to negotiate from what the camera offers: `auto` prefers MJPEG
/// (nothing to encode), then the raw formats cheapest to turn into 4:2:0.
pub fn negotiate(offered: &[PixelFormat], wanted: FormatChoice) -> Option<PixelFormat> {
    let preference: &[PixelFormat] = match wanted {
        FormatChoice::Auto => &[
            PixelFormat::Mjpeg,
            PixelFormat::Nv12,
            PixelFormat::Yuyv,
            PixelFormat::Rgb24,
        ],
        FormatChoice::Mjpeg => &[PixelFormat::Mjpeg],
        FormatChoice::Yuyv => &[PixelFormat::Yuyv],
        FormatChoice::Nv12 => &[PixelFormat::Nv12],
        FormatChoice::Rgb24 => &[PixelFormat::Rgb24],
    };
    preference.iter().copied().find(|f| offered.contains(f))
}

/// An MJPEG frame whose own header gives another size than the one negotiated with the camera:
/// a damaged frame. Nothing sized from camera data may trust the header instead (a header
/// claiming 65,500 x 65,500 would ask for gigabytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "MJPEG frame's header says {got_w}x{got_h} where the camera was set to {asked_w}x{asked_h} \
     (a damaged frame)"
)]
pub struct MjpegSizeMismatch {
    pub asked_w: u32,
    pub asked_h: u32,
    pub got_w: usize,
    pub got_h: usize,
}

/// Checks an MJPEG header's size (`got_w` x `got_h`) against the frame's negotiated size.
pub fn check_mjpeg_size(
    frame: &Frame,
    got_w: usize,
    got_h: usize,
) -> Result<(), MjpegSizeMismatch> {
    if (got_w, got_h) == (frame.width as usize, frame.height as usize) {
        return Ok(());
    }
    Err(MjpegSizeMismatch {
        asked_w: frame.width,
        asked_h: frame.height,
        got_w,
        got_h,
    })
}

/// One frame as the camera delivered it.
#[derive(Clone)]
pub struct Frame {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per line of the first plane (0 for MJPEG).
    pub stride: usize,
    pub data: Vec<u8>,
    /// When the frame was captured, on the monotonic clock (`CLOCK_MONOTONIC`),
    /// or `None` when the driver's timestamps are on another clock.
    pub captured_at: Option<Duration>,
}

// Image bytes are a face: never print them.
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("bytes", &self.data.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_mjpeg_then_raw() {
        use PixelFormat::*;
        assert_eq!(negotiate(&[Yuyv, Mjpeg], FormatChoice::Auto), Some(Mjpeg));
        assert_eq!(negotiate(&[Rgb24, Yuyv], FormatChoice::Auto), Some(Yuyv));
        assert_eq!(negotiate(&[Yuyv, Nv12], FormatChoice::Auto), Some(Nv12));
        assert_eq!(negotiate(&[Yuyv], FormatChoice::Mjpeg), None);
        assert_eq!(negotiate(&[], FormatChoice::Auto), None);
    }

    #[test]
    fn what_a_driver_may_claim_is_bounded_by_the_negotiated_size() {
        use PixelFormat::*;
        assert_eq!(Yuyv.max_stride(1280), 2560 + 4096);
        assert_eq!(Rgb24.max_stride(8192), 2 * 3 * 8192);
        assert_eq!(Mjpeg.max_stride(1280), 0);
        assert_eq!(Yuyv.max_frame_bytes(2560, 1280, 720), 2560 * 720);
        assert_eq!(Nv12.max_frame_bytes(1280, 1280, 720), 1280 * 720 * 3 / 2);
        assert_eq!(Mjpeg.max_frame_bytes(0, 1280, 720), 1280 * 720 * 3);
        // The largest configurable frame with the longest accepted line fits 32 bits.
        let stride = Rgb24.max_stride(8192);
        assert!(Rgb24.max_frame_bytes(stride, 8192, 8192) < u32::MAX as usize);
    }

    #[test]
    fn fourcc_round_trip() {
        for f in [
            PixelFormat::Mjpeg,
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Rgb24,
        ] {
            assert_eq!(PixelFormat::from_fourcc(&f.fourcc()), Some(f));
        }
        assert_eq!(PixelFormat::from_fourcc(b"H264"), None);
    }
}
