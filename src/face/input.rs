//! From a camera frame to what the face check reads: the detector's inputs (the whole frame,
//! and its central square at the model's full resolution), and the face's own luma for its
//! quality, decoding no more than needed.
//!
//! Raw frames (YUYV, NV12, RGB24) are sampled where they lie: each input pixel is the mean of
//! a 3x3 grid of samples spread over the frame pixels it covers (a box filter's worth of
//! smoothing for a tenth of the reads). MJPEG frames are decoded once by libjpeg-turbo at the
//! smallest DCT scale that still covers every input (1/4 for 720p with the central square,
//! 1/8 for the whole frame alone: mostly the DC coefficients), and again at a larger scale, in
//! grey, for the face's quality only when the face is worth measuring.

use std::fmt;

use turbojpeg::{Decompressor, PixelFormat as TjPixel};

use super::blazeface::Window;
use super::decide::FaceQuality;
use super::detection::{PixelRect, Rect};
use crate::camera::convert::{self, ConvertError};
use crate::camera::encode::ScaledDecodeError;
use crate::camera::frame::MjpegSizeMismatch;
use crate::camera::{Frame, PixelFormat};

/// Side of the square the face is resampled to before its sharpness is measured, so
/// sharpness means the same for every face size, frame size and camera format.
pub const QUALITY_SIZE: usize = 64;
/// Samples per side averaged into one resampled pixel.
const GRID: usize = 3;

/// One detector input: `window.width` x `window.height` pixels, channels last, RGB in
/// [-1, 1], showing the window's region of the frame.
pub struct DetectorInput {
    pub tensor: Vec<f32>,
    pub window: Window,
}

impl fmt::Debug for DetectorInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetectorInput")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// The installer's annotated picture is at most this many pixels on its longer side, whatever
/// the camera's size: it is for a person to look at, and its decode stays bounded.
pub const ANNOTATED_MAX_SIDE: usize = 1920;

/// Why a frame could not be read for the check. Never holds image bytes.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("MJPEG frame does not decode: {0}")]
    Mjpeg(String),
    #[error(transparent)]
    MjpegSize(#[from] MjpegSizeMismatch),
    #[error(transparent)]
    Layout(#[from] ConvertError),
}

/// Makes detector inputs and face measures, reusing its JPEG decoder and buffers.
pub struct InputMaker {
    decompressor: Decompressor,
    decoded: Vec<u8>,
}

impl InputMaker {
    pub fn new() -> Result<InputMaker, turbojpeg::Error> {
        Ok(InputMaker {
            decompressor: Decompressor::new()?,
            decoded: Vec::new(),
        })
    }

    /// The detector's inputs for `frame`, one per window, from one read of the frame (one
    /// decode of an MJPEG frame, at the scale the most demanding window needs).
    pub fn detector_inputs(
        &mut self,
        frame: &Frame,
        windows: &[Window],
    ) -> Result<Vec<DetectorInput>, InputError> {
        let (fw, fh) = (frame.width.max(1) as f32, frame.height.max(1) as f32);
        let long = fw.max(fh);
        // The longer side a decode needs so each region has at least its content's pixels.
        let needed = windows
            .iter()
            .map(|w| {
                let (_, _, cw, ch) = w.content;
                let across = cw as f32 / (w.region.width * fw) * long;
                let down = ch as f32 / (w.region.height * fh) * long;
                across.max(down).ceil() as usize
            })
            .max()
            .unwrap_or(1);
        let picture = self.picture(frame, needed, TjPixel::RGB)?;
        Ok(windows
            .iter()
            .map(|w| sample_window(&picture, *w))
            .collect())
    }

    /// How the face inside `face` (the frame's fractions) looks: mean luma and sharpness of the
    /// face resampled to [`QUALITY_SIZE`] square.
    pub fn face_quality(&mut self, frame: &Frame, face: &Rect) -> Result<FaceQuality, InputError> {
        // Decode an MJPEG frame big enough that the face covers the square at least once.
        let face_px = (face.width.max(face.height) * frame.width.max(frame.height) as f32) as usize;
        let wanted = frame.width.max(frame.height) as usize * QUALITY_SIZE / face_px.max(1);
        let picture = self.picture(frame, wanted, TjPixel::GRAY)?;
        let Some(region) = face.to_pixels(picture.width as u32, picture.height as u32) else {
            return Ok(FaceQuality {
                luma: 0.0,
                sharpness: 0.0,
            });
        };
        let small = resample_luma(&picture, region);
        let mean = small.iter().map(|&v| f32::from(v)).sum::<f32>() / small.len() as f32;
        Ok(FaceQuality {
            luma: mean,
            sharpness: crate::camera::choose::laplacian_variance(&small, QUALITY_SIZE, QUALITY_SIZE)
                as f32,
        })
    }

    /// The whole frame as RGB (for the installer's annotated picture), at its own size or
    /// shrunk to [`ANNOTATED_MAX_SIDE`] on its longer side.
    pub fn rgb_image(&mut self, frame: &Frame) -> Result<image::RgbImage, InputError> {
        let picture = self.picture(frame, ANNOTATED_MAX_SIDE, TjPixel::RGB)?;
        let yuv = matches!(picture.layout, Layout::Yuyv | Layout::Nv12);
        let (pw, ph) = (picture.width, picture.height);
        let long = pw.max(ph).max(1);
        let fit = |side: usize| (side * ANNOTATED_MAX_SIDE.min(long) / long).max(1);
        let (w, h) = (fit(pw), fit(ph));
        Ok(image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let (x, y) = (x as usize * pw / w, y as usize * ph / h);
            let s = picture.sample(x, y).map(|v| v as f32);
            let rgb = if yuv { yuv_to_rgb(s) } else { s };
            image::Rgb(rgb.map(|v| v.round() as u8))
        }))
    }

    /// A readable view of the frame whose longer side is at least `long_side` when it must be
    /// decoded (MJPEG), as it is otherwise.
    fn picture<'a>(
        &'a mut self,
        frame: &'a Frame,
        long_side: usize,
        decode_as: TjPixel,
    ) -> Result<Picture<'a>, InputError> {
        let (width, height) = (frame.width as usize, frame.height as usize);
        let layout = match frame.format {
            PixelFormat::Mjpeg => return self.decode(frame, long_side, decode_as),
            PixelFormat::Yuyv => Layout::Yuyv,
            PixelFormat::Nv12 => Layout::Nv12,
            PixelFormat::Rgb24 => Layout::Rgb,
        };
        convert::check_layout(frame)?;
        Ok(Picture {
            data: &frame.data,
            width,
            height,
            stride: frame.stride,
            layout,
        })
    }

    fn decode(
        &mut self,
        frame: &Frame,
        long_side: usize,
        format: TjPixel,
    ) -> Result<Picture<'_>, InputError> {
        let (w, h) = crate::camera::encode::decode_scaled(
            &mut self.decompressor,
            frame,
            |w, h| w.max(h) >= long_side,
            format,
            &mut self.decoded,
        )
        .map_err(|e| match e {
            ScaledDecodeError::Size(size) => InputError::MjpegSize(size),
            ScaledDecodeError::Corrupt(why) => InputError::Mjpeg(why),
        })?;
        let channels = format.size();
        Ok(Picture {
            data: &self.decoded,
            width: w,
            height: h,
            stride: w * channels,
            layout: if channels == 1 {
                Layout::Grey
            } else {
                Layout::Rgb
            },
        })
    }
}

/// `window`'s region of `picture`, sampled into the detector's input.
fn sample_window(picture: &Picture<'_>, window: Window) -> DetectorInput {
    let (x0, y0, w, h) = window.content;
    let (pw, ph) = (picture.width as f32, picture.height as f32);
    let r = window.region;
    let px = |v: f32, of: f32| ((v * of).round().max(0.0) as usize).min(of as usize);
    let (left, top) = (px(r.left, pw), px(r.top, ph));
    let (right, bottom) = (
        px(r.right(), pw).max(left + 1),
        px(r.bottom(), ph).max(top + 1),
    );
    // Padding is mid-grey (0 in [-1, 1]): neither a dark nor a bright edge for the
    // detector to react to.
    let mut tensor = vec![0.0f32; window.width * window.height * 3];
    // The sample positions of each output column and row, computed once.
    let columns = positions(left, right - left, w);
    let rows = positions(top, bottom - top, h);
    let yuv = matches!(picture.layout, Layout::Yuyv | Layout::Nv12);
    for (oy, ys) in rows.iter().enumerate() {
        let line = &mut tensor[((y0 + oy) * window.width + x0) * 3..][..w * 3];
        for (px, xs) in line.chunks_exact_mut(3).zip(&columns) {
            let mut sum = [0u32; 3];
            for &y in ys {
                for &x in xs {
                    let s = picture.sample(x, y);
                    sum[0] += s[0];
                    sum[1] += s[1];
                    sum[2] += s[2];
                }
            }
            let n = (ys.len() * xs.len()) as f32;
            let mean = sum.map(|v| v as f32 / n);
            let rgb = if yuv { yuv_to_rgb(mean) } else { mean };
            for (out, v) in px.iter_mut().zip(rgb) {
                *out = v / 127.5 - 1.0;
            }
        }
    }
    DetectorInput { tensor, window }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Yuyv,
    Nv12,
    Rgb,
    Grey,
}

/// A frame's pixels where they lie, read one sample at a time.
struct Picture<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    layout: Layout,
}

impl Picture<'_> {
    /// The three channels at (x, y) as stored: Y, U, V for the YUV layouts, R, G, B for RGB,
    /// the grey value three times for grey.
    fn sample(&self, x: usize, y: usize) -> [u32; 3] {
        let line = &self.data[y * self.stride..];
        match self.layout {
            Layout::Rgb => {
                let p = &line[x * 3..x * 3 + 3];
                [u32::from(p[0]), u32::from(p[1]), u32::from(p[2])]
            }
            Layout::Grey => [u32::from(line[x]); 3],
            Layout::Yuyv => {
                let pair = &line[(x & !1) * 2..(x & !1) * 2 + 4];
                [
                    u32::from(line[x * 2]),
                    u32::from(pair[1]),
                    u32::from(pair[3]),
                ]
            }
            Layout::Nv12 => {
                let chroma = &self.data[self.stride * self.height + (y / 2) * self.stride..];
                [
                    u32::from(line[x]),
                    u32::from(chroma[x & !1]),
                    u32::from(chroma[(x & !1) + 1]),
                ]
            }
        }
    }

    fn luma(&self, x: usize, y: usize) -> u32 {
        let line = &self.data[y * self.stride..];
        match self.layout {
            Layout::Yuyv => u32::from(line[x * 2]),
            Layout::Nv12 | Layout::Grey => u32::from(line[x]),
            Layout::Rgb => {
                let p = &line[x * 3..x * 3 + 3];
                (77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8
            }
        }
    }

    /// The mean luma of a [`GRID`] x [`GRID`] spread of samples over `cell`.
    fn mean_luma(&self, cell: PixelRect) -> u8 {
        let xs = spread(cell.x as usize, cell.width as usize);
        let ys = spread(cell.y as usize, cell.height as usize);
        let mut sum = 0;
        for &y in &ys {
            for &x in &xs {
                sum += self.luma(x, y);
            }
        }
        let n = (xs.len() * ys.len()) as u32;
        ((sum + n / 2) / n) as u8
    }
}

/// Full-range BT.601 (JFIF): the detector does not care about the last percent of colour.
fn yuv_to_rgb([y, u, v]: [f32; 3]) -> [f32; 3] {
    let (cb, cr) = (u - 128.0, v - 128.0);
    [
        (y + 1.402 * cr).clamp(0.0, 255.0),
        (y - 0.344_136 * cb - 0.714_136 * cr).clamp(0.0, 255.0),
        (y + 1.772 * cb).clamp(0.0, 255.0),
    ]
}

/// For each of `out` equal parts of `start..start + len`, up to [`GRID`] sample positions
/// spread evenly inside it.
fn positions(start: usize, len: usize, out: usize) -> Vec<Vec<usize>> {
    (0..out)
        .map(|o| {
            let a = o * len / out;
            let b = ((o + 1) * len / out).max(a + 1).min(len);
            spread(start + a, b - a)
        })
        .collect()
}

/// Up to [`GRID`] positions spread evenly over `start..start + len`.
fn spread(start: usize, len: usize) -> Vec<usize> {
    let n = len.min(GRID);
    (0..n)
        .map(|i| start + (2 * i + 1) * len / (2 * n))
        .collect()
}

/// The pixels of `area` that output pixel (ox, oy) of a `w` x `h` resampling of it covers.
fn cell_of(area: PixelRect, ox: usize, oy: usize, w: usize, h: usize) -> PixelRect {
    let (aw, ah) = (area.width as usize, area.height as usize);
    let x0 = ox * aw / w;
    let y0 = oy * ah / h;
    let x1 = ((ox + 1) * aw / w).max(x0 + 1).min(aw);
    let y1 = ((oy + 1) * ah / h).max(y0 + 1).min(ah);
    PixelRect {
        x: area.x + x0 as u32,
        y: area.y + y0 as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    }
}

/// The luma of `region` resampled to [`QUALITY_SIZE`] square.
fn resample_luma(p: &Picture<'_>, region: PixelRect) -> Vec<u8> {
    (0..QUALITY_SIZE)
        .flat_map(|oy| (0..QUALITY_SIZE).map(move |ox| (ox, oy)))
        .map(|(ox, oy)| p.mean_luma(cell_of(region, ox, oy, QUALITY_SIZE, QUALITY_SIZE)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::sim::pack;
    use image::{Rgb, RgbImage};

    fn frame(img: &RgbImage, format: PixelFormat) -> Frame {
        pack(img, format)
    }

    #[test]
    fn every_raw_format_gives_the_same_input() {
        // Left half red, right half blue: the input must show it in each format.
        let img = RgbImage::from_fn(320, 180, |x, _| {
            if x < 160 {
                Rgb([220, 30, 30])
            } else {
                Rgb([30, 30, 220])
            }
        });
        let mut maker = InputMaker::new().unwrap();
        let whole = Window::whole(320, 180);
        // The central square (frame x 70..250) at 96 px a side: red left of frame x 160,
        // its middle, blue right of it.
        let centre = Window::centre(320, 180, 96).unwrap();
        for format in [
            PixelFormat::Rgb24,
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Mjpeg,
        ] {
            let inputs = maker
                .detector_inputs(&frame(&img, format), &[whole, centre])
                .unwrap();
            let [input, middle] = inputs.as_slice() else {
                panic!("two inputs")
            };
            assert_eq!(input.window.content, (0, 4, 128, 72), "{format}");
            let px = |input: &DetectorInput, x: usize, y: usize| {
                let i = (y * input.window.width + x) * 3;
                [input.tensor[i], input.tensor[i + 1], input.tensor[i + 2]]
            };
            let (left, right) = (px(input, 20, 40), px(input, 108, 40));
            assert!(left[0] > 0.4 && left[2] < -0.4, "{format}: left {left:?}");
            assert!(
                right[2] > 0.4 && right[0] < -0.4,
                "{format}: right {right:?}"
            );
            // The padding above the picture is neutral.
            assert_eq!(px(input, 64, 1), [0.0, 0.0, 0.0], "{format}");
            let (red, blue) = (px(middle, 30, 48), px(middle, 66, 48));
            assert!(red[0] > 0.4 && red[2] < -0.4, "{format}: {red:?}");
            assert!(blue[2] > 0.4 && blue[0] < -0.4, "{format}: {blue:?}");
        }
    }

    #[test]
    fn sharp_faces_measure_sharper_than_blurred_ones() {
        // A checkerboard in the middle: sharp edges; its blurred copy has soft ones.
        let sharp = RgbImage::from_fn(640, 360, |x, y| {
            let v = if (x / 8 + y / 8) % 2 == 0 { 200 } else { 60 };
            Rgb([v, v, v])
        });
        let blurred = image::imageops::blur(&sharp, 6.0);
        let face = Rect {
            left: 0.4,
            top: 0.3,
            width: 0.2,
            height: 0.35,
        };
        let mut maker = InputMaker::new().unwrap();
        for format in [PixelFormat::Yuyv, PixelFormat::Nv12, PixelFormat::Mjpeg] {
            let s = maker.face_quality(&frame(&sharp, format), &face).unwrap();
            let b = maker.face_quality(&frame(&blurred, format), &face).unwrap();
            assert!(s.sharpness > 4.0 * b.sharpness, "{format}: {s:?} vs {b:?}");
            assert!((s.luma - 130.0).abs() < 12.0, "{format}: {s:?}");
        }
    }

    /// `jpeg` with the size in its start-of-frame marker replaced by `w` x `h`.
    fn claim_size(jpeg: &mut [u8], w: u16, h: u16) {
        let sof = jpeg
            .windows(2)
            .position(|m| m[0] == 0xFF && matches!(m[1], 0xC0..=0xC2))
            .expect("a start-of-frame marker");
        jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    }

    #[test]
    fn a_header_claiming_another_size_is_damaged_and_allocates_nothing() {
        let mut maker = InputMaker::new().unwrap();
        let picture = RgbImage::from_pixel(64, 48, Rgb([120, 100, 90]));
        for (w, h) in [(65_500, 65_500), (32, 24)] {
            let mut lying = frame(&picture, PixelFormat::Mjpeg);
            claim_size(&mut lying.data, w, h);
            let want = Err(InputError::MjpegSize(MjpegSizeMismatch {
                asked_w: 64,
                asked_h: 48,
                got_w: usize::from(w),
                got_h: usize::from(h),
            }));
            let whole = [Window::whole(64, 48)];
            let got = maker.detector_inputs(&lying, &whole).map(drop);
            assert_eq!(got, want, "{w}x{h}");
            let face = Rect {
                left: 0.4,
                top: 0.4,
                width: 0.01,
                height: 0.01,
            };
            assert_eq!(maker.face_quality(&lying, &face).map(drop), want);
            assert_eq!(maker.rgb_image(&lying).map(drop), want);
        }
        // Nothing was sized from the claim (65,500 x 65,500 at 1/8 would be about 200 MB).
        assert_eq!(maker.decoded.capacity(), 0);
    }

    #[test]
    fn the_annotated_picture_is_bounded() {
        let mut maker = InputMaker::new().unwrap();
        let big = RgbImage::from_pixel(4000, 2000, Rgb([10, 200, 30]));
        for format in [PixelFormat::Rgb24, PixelFormat::Mjpeg] {
            let out = maker.rgb_image(&frame(&big, format)).unwrap();
            assert_eq!((out.width(), out.height()), (1920, 960), "{format}");
            let p = out.get_pixel(960, 480);
            assert!(p[1] > 180 && p[0] < 40, "{format}: {p:?}");
        }
        let small = maker
            .rgb_image(&frame(&RgbImage::new(640, 480), PixelFormat::Yuyv))
            .unwrap();
        assert_eq!((small.width(), small.height()), (640, 480));
    }

    #[test]
    fn damaged_frames_are_errors_not_panics() {
        let mut maker = InputMaker::new().unwrap();
        let mut bad = frame(&RgbImage::new(64, 48), PixelFormat::Mjpeg);
        bad.data.truncate(20);
        let whole = [Window::whole(64, 48)];
        assert!(matches!(
            maker.detector_inputs(&bad, &whole),
            Err(InputError::Mjpeg(_))
        ));
        let mut short = frame(&RgbImage::new(64, 48), PixelFormat::Yuyv);
        short.data.truncate(100);
        assert!(matches!(
            maker.detector_inputs(&short, &whole),
            Err(InputError::Layout(_))
        ));
    }
}
