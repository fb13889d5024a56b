//! Raw camera formats to planar 4:2:0 (I420), which libjpeg-turbo compresses
//! directly: no RGB round trip, no colour conversion or downsampling inside
//! the encoder. YUYV and NV12 only need de-interleaving (and YUYV a vertical
//! chroma average); RGB24 a fixed-point colour transform.
//!
//! Colour: RGB24 is converted with full-range BT.601, the JFIF definition.
//! YUV from the camera is passed on as it comes.

use super::frame::{Frame, PixelFormat};

/// Planar YUV 4:2:0, tightly packed (strides equal widths).
#[derive(Clone, PartialEq, Eq)]
pub struct I420 {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl std::fmt::Debug for I420 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "I420 {}x{}", self.width, self.height)
    }
}

impl I420 {
    /// A zeroed image; width and height are rounded up to even by the chroma planes.
    pub fn new(width: u32, height: u32) -> I420 {
        let (cw, ch) = chroma_size(width, height);
        I420 {
            width,
            height,
            y: vec![0; width as usize * height as usize],
            u: vec![0; cw * ch],
            v: vec![0; cw * ch],
        }
    }

    /// Width of the chroma planes.
    pub fn chroma_width(&self) -> usize {
        chroma_size(self.width, self.height).0
    }
}

fn chroma_size(width: u32, height: u32) -> (usize, usize) {
    ((width as usize).div_ceil(2), (height as usize).div_ceil(2))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("{format} frame of {got} bytes, {width}x{height} with stride {stride} needs {needed}")]
    Short {
        format: PixelFormat,
        width: u32,
        height: u32,
        stride: usize,
        got: usize,
        needed: usize,
    },
    #[error("{format} frame has stride {stride}, less than a {width}-pixel line")]
    Stride {
        format: PixelFormat,
        width: u32,
        stride: usize,
    },
    #[error("{format} frame is {width}x{height}: raw frames need even sides for 4:2:0")]
    OddSize {
        format: PixelFormat,
        width: u32,
        height: u32,
    },
    #[error("MJPEG frames are not converted, they are checked and passed through")]
    Compressed,
}

/// Checks that a raw frame holds as many bytes as its layout says.
pub fn check_layout(frame: &Frame) -> Result<(), ConvertError> {
    let Some(needed) = frame.format.frame_len(frame.stride, frame.height) else {
        return Err(ConvertError::Compressed);
    };
    if !frame.width.is_multiple_of(2) || !frame.height.is_multiple_of(2) {
        return Err(ConvertError::OddSize {
            format: frame.format,
            width: frame.width,
            height: frame.height,
        });
    }
    if frame.stride < frame.format.min_stride(frame.width) {
        return Err(ConvertError::Stride {
            format: frame.format,
            width: frame.width,
            stride: frame.stride,
        });
    }
    // The last line need not be padded to the full stride.
    let needed = needed - (frame.stride - frame.format.min_stride(frame.width));
    if frame.data.len() < needed {
        return Err(ConvertError::Short {
            format: frame.format,
            width: frame.width,
            height: frame.height,
            stride: frame.stride,
            got: frame.data.len(),
            needed,
        });
    }
    Ok(())
}

/// Converts a raw frame to I420.
pub fn to_i420(frame: &Frame) -> Result<I420, ConvertError> {
    check_layout(frame)?;
    let mut out = I420::new(frame.width, frame.height);
    match frame.format {
        PixelFormat::Yuyv => yuyv_to_i420(frame, &mut out),
        PixelFormat::Nv12 => nv12_to_i420(frame, &mut out),
        PixelFormat::Rgb24 => rgb24_to_i420(frame, &mut out),
        PixelFormat::Mjpeg => return Err(ConvertError::Compressed),
    }
    Ok(out)
}

/// Walks a packed frame two lines and two pixels at a time: the 2x2 block
/// that shares one chroma sample in I420. `block(top, bottom)` gets the
/// block's `bytes` from each of the two lines and returns the top and bottom
/// luma pairs and the block's U and V (the closure is inlined into each
/// caller's loop).
fn per_2x2_block(
    frame: &Frame,
    out: &mut I420,
    bytes: usize,
    block: impl Fn(&[u8], &[u8]) -> ([u8; 2], [u8; 2], u8, u8),
) {
    let (w, stride) = (frame.width as usize, frame.stride);
    let line = bytes / 2 * w;
    let cw = out.chroma_width();
    let rows = out
        .y
        .chunks_exact_mut(2 * w)
        .zip(out.u.chunks_exact_mut(cw))
        .zip(out.v.chunks_exact_mut(cw))
        .zip(frame.data.chunks(2 * stride));
    for (((y, u), v), src) in rows {
        let (y0, y1) = y.split_at_mut(w);
        let (s0, s1) = (&src[..line], &src[stride..stride + line]);
        let blocks = s0
            .chunks_exact(bytes)
            .zip(s1.chunks_exact(bytes))
            .zip(y0.chunks_exact_mut(2).zip(y1.chunks_exact_mut(2)))
            .zip(u.iter_mut().zip(v.iter_mut()));
        for (((a, b), (ya, yb)), (u, v)) in blocks {
            let (top, bottom, cu, cv) = block(a, b);
            ya.copy_from_slice(&top);
            yb.copy_from_slice(&bottom);
            *u = cu;
            *v = cv;
        }
    }
}

/// De-interleaves YUYV, averaging the chroma of each pair of lines. Written
/// out rather than taken from `yuvutils-rs`: its 0.8 `yuyv422_to_yuv420`
/// leaves the last 8 chroma columns unwritten (a green bar on the right edge;
/// `tests/camera_convert.rs` fails with it).
fn yuyv_to_i420(frame: &Frame, out: &mut I420) {
    let mean = |a: u8, b: u8| ((u16::from(a) + u16::from(b) + 1) >> 1) as u8;
    per_2x2_block(frame, out, 4, |a, b| {
        (
            [a[0], a[2]],
            [b[0], b[2]],
            mean(a[1], b[1]),
            mean(a[3], b[3]),
        )
    });
}

/// Full-range BT.601 (the JFIF definition) in fixed point, 16 fraction bits;
/// each chroma sample from the sum of its 2x2 block (the transform is linear,
/// so this is the mean of the four pixels' chroma). Written out like the YUYV
/// and NV12 loops, so all three conversions are checked the same way against
/// the same reference, and no dependency is needed for a rare camera format.
fn rgb24_to_i420(frame: &Frame, out: &mut I420) {
    // Coefficients * 65536, rounded; each row of the matrix keeps its sum
    // (65536 for luma, 0 for chroma) so grey stays grey.
    const Y: [i32; 3] = [19_595, 38_470, 7_471];
    const CB: [i32; 3] = [-11_058, -21_710, 32_768];
    const CR: [i32; 3] = [32_768, -27_439, -5_329];
    let dot = |k: &[i32; 3], p: &[i32; 3]| k[0] * p[0] + k[1] * p[1] + k[2] * p[2];
    let luma = |p: &[u8]| {
        let v = dot(&Y, &[i32::from(p[0]), i32::from(p[1]), i32::from(p[2])]);
        ((v + (1 << 15)) >> 16) as u8
    };
    // Sums of four pixels: divide by 4 * 65536, centre on 128, round, clamp.
    let chroma = |k: &[i32; 3], sum: &[i32; 3]| {
        ((dot(k, sum) + (128 << 18) + (1 << 17)) >> 18).clamp(0, 255) as u8
    };
    per_2x2_block(frame, out, 6, |a, b| {
        let sum: [i32; 3] = std::array::from_fn(|c| {
            i32::from(a[c]) + i32::from(a[3 + c]) + i32::from(b[c]) + i32::from(b[3 + c])
        });
        (
            [luma(&a[..3]), luma(&a[3..])],
            [luma(&b[..3]), luma(&b[3..])],
            chroma(&CB, &sum),
            chroma(&CR, &sum),
        )
    });
}

fn nv12_to_i420(frame: &Frame, out: &mut I420) {
    let (w, h, stride) = (frame.width as usize, frame.height as usize, frame.stride);
    for (row, dst) in out.y.chunks_exact_mut(w).enumerate() {
        dst.copy_from_slice(&frame.data[row * stride..row * stride + w]);
    }
    let uv_plane = &frame.data[stride * h..];
    let cw = w.div_ceil(2);
    for (row, (u, v)) in out
        .u
        .chunks_exact_mut(cw)
        .zip(out.v.chunks_exact_mut(cw))
        .enumerate()
    {
        let src = &uv_plane[row * stride..row * stride + 2 * cw];
        for ((pair, u), v) in src.chunks_exact(2).zip(u.iter_mut()).zip(v.iter_mut()) {
            *u = pair[0];
            *v = pair[1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(format: PixelFormat, w: u32, h: u32, stride: usize, data: Vec<u8>) -> Frame {
        Frame {
            format,
            width: w,
            height: h,
            stride,
            data,
            captured_at: None,
        }
    }

    #[test]
    fn short_frame_is_refused_with_sizes() {
        let f = frame(PixelFormat::Yuyv, 64, 48, 128, vec![0; 100]);
        let e = to_i420(&f).unwrap_err();
        assert!(
            matches!(
                e,
                ConvertError::Short {
                    got: 100,
                    needed: 6144,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn stride_shorter_than_a_line_is_refused() {
        let f = frame(PixelFormat::Rgb24, 64, 48, 100, vec![0; 100 * 48]);
        assert!(matches!(to_i420(&f), Err(ConvertError::Stride { .. })));
    }

    #[test]
    fn nv12_deinterleaves_with_padding() {
        // 4x2, stride 6: Y rows then one UV row.
        let data = vec![
            1, 2, 3, 4, 0, 0, //
            5, 6, 7, 8, 0, 0, //
            10, 20, 11, 21, 0, 0,
        ];
        let out = to_i420(&frame(PixelFormat::Nv12, 4, 2, 6, data)).unwrap();
        assert_eq!(out.y, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out.u, vec![10, 11]);
        assert_eq!(out.v, vec![20, 21]);
    }
}
