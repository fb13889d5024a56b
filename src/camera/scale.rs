//! Optional downscale to `camera.max_dimension`, plane by plane on I420
//! (a triangle filter from the `image` crate: a rare path, not a hot one).

use image::GrayImage;
use image::imageops::{FilterType, resize};

use super::convert::I420;

/// The size that fits within `max_dimension` on both sides, keeping the
/// aspect ratio and even sides (4:2:0 chroma); `None` when no downscale is needed.
pub fn fitted_size(width: u32, height: u32, max_dimension: Option<u32>) -> Option<(u32, u32)> {
    let max = max_dimension?;
    let longest = width.max(height);
    if longest <= max {
        return None;
    }
    let fit = |side: u32| -> u32 {
        let scaled = (u64::from(side) * u64::from(max) / u64::from(longest)) as u32;
        (scaled & !1).max(2)
    };
    Some((fit(width), fit(height)))
}

/// Downscales an I420 image to `width` x `height`.
pub fn downscale(img: &I420, width: u32, height: u32) -> I420 {
    let mut out = I420::new(width, height);
    let (cw, ch) = (img.chroma_width() as u32, img.height.div_ceil(2));
    let (ocw, och) = (out.chroma_width() as u32, height.div_ceil(2));
    out.y = resize_plane(&img.y, img.width, img.height, width, height);
    out.u = resize_plane(&img.u, cw, ch, ocw, och);
    out.v = resize_plane(&img.v, cw, ch, ocw, och);
    out
}

fn resize_plane(plane: &[u8], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u8> {
    let src = GrayImage::from_raw(w, h, plane[..(w * h) as usize].to_vec())
        .expect("plane holds w*h bytes");
    resize(&src, nw, nh, FilterType::Triangle).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_longest_side_and_keeps_sides_even() {
        assert_eq!(fitted_size(1920, 1080, Some(1280)), Some((1280, 720)));
        assert_eq!(fitted_size(1280, 720, Some(1280)), None);
        assert_eq!(fitted_size(1280, 720, None), None);
        assert_eq!(fitted_size(720, 1280, Some(500)), Some((280, 500)));
    }

    #[test]
    fn downscale_keeps_a_flat_colour() {
        let mut img = I420::new(64, 48);
        img.y.fill(90);
        img.u.fill(100);
        img.v.fill(150);
        let out = downscale(&img, 32, 24);
        assert_eq!((out.width, out.height), (32, 24));
        assert!(out.y.iter().all(|&v| v == 90));
        assert!(out.u.iter().all(|&v| v == 100) && out.v.iter().all(|&v| v == 150));
        assert_eq!(out.u.len(), 16 * 12);
    }
}
