//! The camera's picture on the screen: a frame as the camera delivered it (YUYV, NV12, RGB24
//! or MJPEG) scaled to cover an area, centred, mirrored left to right, straight into the
//! screen's pixels.
//!
//! Each screen pixel takes the nearest frame pixel (the frame is larger than the area it
//! fills on every panel enrolld lays out, so nearest-neighbour is a downscale and keeps the
//! picture sharp); the columns and rows each screen pixel reads are worked out once per line.
//! YUV is full-range BT.601, as the JPEG path treats it. MJPEG is decoded by libjpeg-turbo at
//! the smallest of its DCT scales that still covers the area.

use turbojpeg::{Decompressor, PixelFormat as TjPixel};

use super::layout::FrameMap;
use crate::camera::convert::{self, ConvertError};
use crate::camera::{Frame, PixelFormat};

/// Why a frame could not be shown (the mirror's area then shows its background).
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(transparent)]
    Layout(#[from] ConvertError),
    #[error(transparent)]
    Mjpeg(#[from] crate::camera::encode::ScaledDecodeError),
}

/// What reading MJPEG frames needs between frames: the decoder and its output.
#[derive(Default)]
pub struct Decoder {
    decompressor: Option<Decompressor>,
    rgb: Vec<u8>,
}

impl Decoder {
    /// Lets go of the decoded picture's memory (the screen is idle).
    pub fn trim(&mut self) {
        self.rgb = Vec::new();
    }
}

/// The upright screen's pixels (`0x00RRGGBB`), `width` per row.
pub struct Target<'a> {
    pub pixels: &'a mut [u32],
    pub width: usize,
    pub height: usize,
}

/// Draws `frame` into `map`'s area of `target`.
pub fn draw(
    target: &mut Target<'_>,
    map: &FrameMap,
    frame: &Frame,
    decoder: &mut Decoder,
) -> Result<(), MirrorError> {
    match frame.format {
        PixelFormat::Mjpeg => draw_mjpeg(target, map, frame, decoder),
        _ => {
            convert::check_layout(frame)?;
            let source = Source {
                data: &frame.data,
                width: frame.width as usize,
                height: frame.height as usize,
                stride: frame.stride,
                format: frame.format,
            };
            sample(target, map, &source);
            Ok(())
        }
    }
}

fn draw_mjpeg(
    target: &mut Target<'_>,
    map: &FrameMap,
    frame: &Frame,
    decoder: &mut Decoder,
) -> Result<(), MirrorError> {
    let d = match &mut decoder.decompressor {
        Some(d) => d,
        empty => empty
            .insert(Decompressor::new().map_err(crate::camera::encode::ScaledDecodeError::from)?),
    };
    // The smallest scale whose picture is at least as wide as what the area shows of it.
    let shown = (frame.width as f32 * map.scale).ceil() as usize;
    let (w, h) = crate::camera::encode::decode_scaled(
        d,
        frame,
        |w, _| w >= shown,
        TjPixel::RGB,
        &mut decoder.rgb,
    )?;
    let source = Source {
        data: &decoder.rgb,
        width: w,
        height: h,
        stride: w * 3,
        format: PixelFormat::Rgb24,
    };
    sample(target, map, &source);
    Ok(())
}

/// A raw picture, checked to hold its layout.
struct Source<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

/// The frame column (or row) each screen column (row) of `start..end` reads, for a frame
/// edge at `edge` and `scale` screen pixels per frame pixel; mirrored when `flip`.
fn positions(
    start: usize,
    end: usize,
    edge: f32,
    scale: f32,
    len: usize,
    flip: bool,
) -> Vec<usize> {
    (start..end)
        .map(|s| {
            let f = ((s as f32 + 0.5 - edge) / scale)
                .floor()
                .clamp(0.0, (len - 1) as f32) as usize;
            if flip { len - 1 - f } else { f }
        })
        .collect()
}

fn sample(target: &mut Target<'_>, map: &FrameMap, src: &Source<'_>) {
    let area = map.shown();
    let clip = |v: f32, max: usize| (v.max(0.0).round() as usize).min(max);
    let (x0, x1) = (clip(area.x, target.width), clip(area.right(), target.width));
    let (y0, y1) = (
        clip(area.y, target.height),
        clip(area.bottom(), target.height),
    );
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    // The source's own scale (a decoded MJPEG may be smaller than the frame).
    let scale = map.scale * map.frame_width / src.width as f32;
    let cols = positions(x0, x1, map.left, scale, src.width, true);
    let rows = positions(y0, y1, map.top, scale, src.height, false);
    for (y, &fy) in (y0..y1).zip(&rows) {
        let out = &mut target.pixels[y * target.width + x0..y * target.width + x1];
        let line = &src.data[fy * src.stride..];
        match src.format {
            PixelFormat::Yuyv => {
                for (px, &fx) in out.iter_mut().zip(&cols) {
                    let pair = (fx & !1) * 2;
                    *px = yuv(line[fx * 2], line[pair + 1], line[pair + 3]);
                }
            }
            PixelFormat::Nv12 => {
                let chroma_line = src.stride * src.height + (fy / 2) * src.stride;
                let chroma = &src.data[chroma_line..];
                for (px, &fx) in out.iter_mut().zip(&cols) {
                    let pair = fx & !1;
                    *px = yuv(line[fx], chroma[pair], chroma[pair + 1]);
                }
            }
            PixelFormat::Rgb24 | PixelFormat::Mjpeg => {
                for (px, &fx) in out.iter_mut().zip(&cols) {
                    let p = &line[fx * 3..fx * 3 + 3];
                    *px = u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]);
                }
            }
        }
    }
}

/// Full-range BT.601 YCbCr to `0x00RRGGBB`, in 8.8 fixed point.
fn yuv(y: u8, u: u8, v: u8) -> u32 {
    let y = i32::from(y) << 8;
    let (cb, cr) = (i32::from(u) - 128, i32::from(v) - 128);
    let c = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u32;
    c(y + 359 * cr) << 16 | c(y - 88 * cb - 183 * cr) << 8 | c(y + 454 * cb)
}

#[cfg(test)]
mod tests {
    use super::super::layout::Area;
    use super::*;
    use crate::camera::sim::pack;
    use image::{Rgb, RgbImage};

    /// Left half red, right half blue, 64x32.
    fn halves() -> RgbImage {
        RgbImage::from_fn(64, 32, |x, _| {
            if x < 32 {
                Rgb([220, 30, 30])
            } else {
                Rgb([30, 30, 220])
            }
        })
    }

    fn shown(format: PixelFormat) -> Vec<u32> {
        let frame = pack(&halves(), format);
        let mut pixels = vec![0u32; 32 * 16];
        let area = Area::new(0.0, 0.0, 32.0, 16.0);
        let map = FrameMap::cover(area, frame.width, frame.height);
        let mut target = Target {
            pixels: &mut pixels,
            width: 32,
            height: 16,
        };
        draw(&mut target, &map, &frame, &mut Decoder::default()).unwrap();
        pixels
    }

    fn is_red(p: u32) -> bool {
        (p >> 16) & 0xff > 150 && p & 0xff < 90
    }

    fn is_blue(p: u32) -> bool {
        p & 0xff > 150 && (p >> 16) & 0xff < 90
    }

    #[test]
    fn every_format_is_shown_mirrored() {
        for format in [
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Rgb24,
            PixelFormat::Mjpeg,
        ] {
            let p = shown(format);
            // The frame's red left half is on the screen's right.
            assert!(is_blue(p[8 * 32 + 2]), "{format}: {:06x}", p[8 * 32 + 2]);
            assert!(is_red(p[8 * 32 + 29]), "{format}: {:06x}", p[8 * 32 + 29]);
        }
    }

    #[test]
    fn a_short_frame_is_refused_not_read_past_its_end() {
        let mut frame = pack(&halves(), PixelFormat::Yuyv);
        frame.data.truncate(100);
        let mut pixels = vec![0u32; 16];
        let area = Area::new(0.0, 0.0, 4.0, 4.0);
        let map = FrameMap::cover(area, 64, 32);
        let mut target = Target {
            pixels: &mut pixels,
            width: 4,
            height: 4,
        };
        let e = draw(&mut target, &map, &frame, &mut Decoder::default()).unwrap_err();
        assert!(
            matches!(e, MirrorError::Layout(ConvertError::Short { .. })),
            "{e}"
        );
        let mut jpeg = pack(&halves(), PixelFormat::Mjpeg);
        jpeg.data.truncate(20);
        assert!(draw(&mut target, &map, &jpeg, &mut Decoder::default()).is_err());
    }

    #[test]
    fn grey_stays_grey() {
        assert_eq!(yuv(128, 128, 128), 0x808080);
        assert_eq!(yuv(255, 128, 128), 0xffffff);
        assert_eq!(yuv(0, 128, 128), 0);
    }
}
