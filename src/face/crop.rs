//! The privacy crop (`face.crop = true`): send only the face and a margin around it, never the
//! room behind the person. The margin must stay wide: IDMeta answers "Face is too close to the
//! border" for a tight crop, so `face.crop_margin` adds a fraction of the face's size on each
//! side (0.6 by default: the crop is 2.2 faces wide).
//!
//! The crop fails closed: a frame whose crop cannot be made (less than 2x2 pixels, a face
//! outside the frame) is refused as [`Refusal::CropFailed`], never sent whole.

use super::detection::{PixelRect, Rect};
use super::reason::Refusal;
use crate::camera::convert::I420;

/// The region to keep, as fractions of the frame: the face widened by `margin` of its width
/// (height) on each side, clipped to the frame.
pub fn region(face: &Rect, margin: f32) -> Rect {
    let (dx, dy) = (face.width * margin, face.height * margin);
    let left = (face.left - dx).max(0.0);
    let top = (face.top - dy).max(0.0);
    let right = (face.right() + dx).min(1.0);
    let bottom = (face.bottom() + dy).min(1.0);
    Rect {
        left,
        top,
        width: (right - left).max(0.0),
        height: (bottom - top).max(0.0),
    }
}

/// The pixels of a `width` x `height` frame the crop of `face` keeps: [`region`], its corners
/// moved to even pixels so the half-size chroma planes are cut at the same place as the luma
/// (4:2:0 needs even offsets and sides). `Err(CropFailed)` when it holds less than 2x2 pixels.
pub fn keep(face: &Rect, margin: f32, width: u32, height: u32) -> Result<PixelRect, Refusal> {
    let px = region(face, margin)
        .to_pixels(width, height)
        .ok_or(Refusal::CropFailed)?;
    let even = |v: u32| v & !1;
    let x = even(px.x);
    let y = even(px.y);
    let right = even(px.x + px.width).max(x);
    let bottom = even(px.y + px.height).max(y);
    let keep = PixelRect {
        x,
        y,
        width: right - x,
        height: bottom - y,
    };
    if keep.width < 2 || keep.height < 2 {
        return Err(Refusal::CropFailed);
    }
    Ok(keep)
}

/// The crop of `face` out of an I420 picture (see [`keep`]).
pub fn crop_i420(img: &I420, face: &Rect, margin: f32) -> Result<I420, Refusal> {
    let keep = keep(face, margin, img.width, img.height)?;
    let mut out = I420::new(keep.width, keep.height);
    copy_plane(&img.y, img.width as usize, &mut out.y, keep, 1);
    let cw = img.chroma_width();
    copy_plane(&img.u, cw, &mut out.u, keep, 2);
    copy_plane(&img.v, cw, &mut out.v, keep, 2);
    Ok(out)
}

/// Copies `keep` (in luma pixels) of a plane subsampled by `sub` into a tight plane.
fn copy_plane(src: &[u8], src_stride: usize, dst: &mut [u8], keep: PixelRect, sub: u32) {
    let (x, y) = ((keep.x / sub) as usize, (keep.y / sub) as usize);
    let (w, h) = ((keep.width / sub) as usize, (keep.height / sub) as usize);
    for (row, out) in dst.chunks_exact_mut(w).take(h).enumerate() {
        let start = (y + row) * src_stride + x;
        out.copy_from_slice(&src[start..start + w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_is_the_face_widened_and_clipped() {
        let face = Rect {
            left: 0.4,
            top: 0.3,
            width: 0.2,
            height: 0.3,
        };
        let r = region(&face, 0.5);
        assert!(
            (r.left - 0.3).abs() < 1e-6 && (r.width - 0.4).abs() < 1e-6,
            "{r:?}"
        );
        assert!(
            (r.top - 0.15).abs() < 1e-6 && (r.height - 0.6).abs() < 1e-6,
            "{r:?}"
        );
        let near_edge = Rect { left: 0.05, ..face };
        let r = region(&near_edge, 0.5);
        assert_eq!(r.left, 0.0);
        assert!((r.width - 0.35).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn the_crop_keeps_planes_aligned() {
        // Luma = column number, chroma = column number of the chroma plane.
        let mut img = I420::new(16, 8);
        for (i, v) in img.y.iter_mut().enumerate() {
            *v = (i % 16) as u8;
        }
        for (i, v) in img.u.iter_mut().enumerate() {
            *v = (i % 8) as u8;
        }
        // A margin of 0: the region is the face's box.
        let face = Rect {
            left: 5.0 / 16.0,
            top: 3.0 / 8.0,
            width: 6.0 / 16.0,
            height: 4.0 / 8.0,
        };
        let out = crop_i420(&img, &face, 0.0).unwrap();
        // Pixels 5..11 become the even 4..10, rows 3..7 become 2..6.
        assert_eq!((out.width, out.height), (6, 4));
        assert_eq!(&out.y[..6], &[4, 5, 6, 7, 8, 9]);
        assert_eq!(&out.u[..3], &[2, 3, 4]);
        assert_eq!(out.u.len(), 3 * 2);
    }

    #[test]
    fn a_sliver_or_a_face_outside_is_refused_not_passed_whole() {
        let img = I420::new(16, 8);
        let sliver = Rect {
            left: 0.5,
            top: 0.0,
            width: 0.01,
            height: 1.0,
        };
        assert_eq!(crop_i420(&img, &sliver, 0.2), Err(Refusal::CropFailed));
        let outside = Rect {
            left: 1.5,
            ..sliver
        };
        assert_eq!(keep(&outside, 0.2, 16, 8), Err(Refusal::CropFailed));
    }
}
