//! What the simulated camera sees when a real face is needed: a photo of a person placed in a
//! frame the way a terminal's camera would frame them (size, position, tilt), on a plain wall.
//! The face check runs a real detector, which the generated pattern does not fool, so the demo,
//! the whole-daemon tests and the benchmarks show it scikit-image's `astronaut.png` (Eileen
//! Collins, NASA, public domain), fetched with the model by `.ci/face-assets.sh`.

use std::path::PathBuf;

use image::{Rgb, RgbImage};

/// The face's box in `astronaut.png`, as fractions of the photo (measured with the detector:
/// its box at score 0.92).
pub const ASTRONAUT_FACE: FaceBox = FaceBox {
    centre_x: 0.44,
    centre_y: 0.25,
    width: 0.183,
};

/// The colour of the wall behind the person.
pub const WALL: Rgb<u8> = Rgb([128, 126, 120]);

/// A face's place in a picture, as fractions of its width (x, sizes) and height (y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub centre_x: f32,
    pub centre_y: f32,
    pub width: f32,
}

/// Where to put the photo's face in the frame, and how far to turn it (degrees, clockwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub face: FaceBox,
    pub rotate_deg: f32,
}

impl Placement {
    /// A face a quarter of the frame's width, centred a little above the middle: a person
    /// standing where the terminal wants them.
    pub fn well_placed() -> Placement {
        Placement::centred(0.25)
    }

    /// A face `width` of the frame's width (a distance from the camera), centred where
    /// [`Placement::well_placed`] puts it, held straight.
    pub fn centred(width: f32) -> Placement {
        Placement {
            face: FaceBox {
                centre_x: 0.5,
                centre_y: 0.45,
                width,
            },
            rotate_deg: 0.0,
        }
    }
}

/// Where `.ci/face-assets.sh` put the photos: `$ENROLLD_ASSETS/skimage`, or the build's
/// default (the checkout's target/assets).
pub fn photo_path(name: &str) -> PathBuf {
    let assets = std::env::var_os("ENROLLD_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("ENROLLD_ASSETS_DIR")));
    assets.join("skimage").join(name)
}

/// Loads a packaged photo, saying what to run when it is missing.
pub fn load_photo(name: &str) -> Result<RgbImage, String> {
    let path = photo_path(name);
    image::open(&path)
        .map(|i| i.to_rgb8())
        .map_err(|e| format!("{}: {e} (run `bash .ci/face-assets.sh`)", path.display()))
}

/// A `width` x `height` frame of the wall with `photo` placed so its face (at `photo_face`)
/// lands at `placement`.
pub fn frame(
    photo: &RgbImage,
    photo_face: FaceBox,
    width: u32,
    height: u32,
    placement: Placement,
) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(width, height, WALL);
    place(&mut canvas, photo, photo_face, placement);
    canvas
}

/// Draws `photo` onto `canvas` so its face lands at `placement` (scaled, turned about the
/// face's centre; bilinear). The photo's own edges stay sharp: a person cut out and put in
/// front of the wall.
pub fn place(canvas: &mut RgbImage, photo: &RgbImage, photo_face: FaceBox, placement: Placement) {
    place_within(canvas, photo, photo_face, placement, f32::INFINITY);
}

/// [`place`], copying only the part of the photo within `reach` face widths of the face's
/// centre: a second person beside the first without their photo covering the first.
pub fn place_within(
    canvas: &mut RgbImage,
    photo: &RgbImage,
    photo_face: FaceBox,
    placement: Placement,
    reach: f32,
) {
    let (cw, ch) = (canvas.width() as f32, canvas.height() as f32);
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    let scale = placement.face.width * cw / (photo_face.width * pw);
    let (sin, cos) = placement.rotate_deg.to_radians().sin_cos();
    let (dx, dy) = (placement.face.centre_x * cw, placement.face.centre_y * ch);
    let (sx, sy) = (photo_face.centre_x * pw, photo_face.centre_y * ph);
    for y in 0..canvas.height() {
        for x in 0..canvas.width() {
            // From the canvas back into the photo: undo the move, the turn, the scale.
            let (ux, uy) = (x as f32 + 0.5 - dx, y as f32 + 0.5 - dy);
            let (rx, ry) = (ux * cos + uy * sin, -ux * sin + uy * cos);
            let (px, py) = (rx / scale + sx - 0.5, ry / scale + sy - 0.5);
            if px < 0.0 || py < 0.0 || px > pw - 1.0 || py > ph - 1.0 {
                continue;
            }
            if (px - sx).abs().max((py - sy).abs()) > reach * photo_face.width * pw {
                continue;
            }
            canvas.put_pixel(x, y, bilinear(photo, px, py));
        }
    }
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = (
        (x0 + 1).min(img.width() - 1),
        (y0 + 1).min(img.height() - 1),
    );
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x, y| img.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Rgb(std::array::from_fn(|i| {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        (top + (bottom - top) * fy).round() as u8
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_face_lands_where_asked() {
        // A 100x100 "photo" whose face is a red square in the middle.
        let photo = RgbImage::from_fn(100, 100, |x, y| {
            if (40..60).contains(&x) && (40..60).contains(&y) {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let face = FaceBox {
            centre_x: 0.5,
            centre_y: 0.5,
            width: 0.2,
        };
        let placement = Placement {
            face: FaceBox {
                centre_x: 0.25,
                centre_y: 0.5,
                width: 0.1,
            },
            rotate_deg: 0.0,
        };
        let out = frame(&photo, face, 400, 200, placement);
        // The face: 40 px wide around (100, 100); the photo 200 px; the wall beyond.
        assert_eq!(out.get_pixel(100, 100), &Rgb([255, 0, 0]));
        assert_eq!(out.get_pixel(125, 100), &Rgb([0, 0, 255]));
        assert_eq!(out.get_pixel(350, 100), &WALL);
    }
}
