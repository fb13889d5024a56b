//! The installer's picture: what the face check saw, drawn on the frame, so a person aiming
//! the camera at the height people stand can see the rules at work. Drawn: the region the
//! face's centre must stay in (`face.margin`), each face found (green when it passed, red
//! otherwise) and its six landmarks. Only ever written where the installer asks
//! (`--annotate`); the daemon never draws.

use image::{Rgb, RgbImage};

use super::Report;
use super::config::FaceConfig;
use super::detection::{Point, Rect};

const PASSED: Rgb<u8> = Rgb([40, 220, 60]);
const REFUSED: Rgb<u8> = Rgb([235, 40, 40]);
const MARGIN: Rgb<u8> = Rgb([250, 210, 40]);

/// Draws the report on `picture` (the checked frame as RGB).
pub fn draw(picture: &mut RgbImage, report: &Report, config: &FaceConfig) {
    let m = config.margin;
    let centre_zone = Rect {
        left: m,
        top: m,
        width: 1.0 - 2.0 * m,
        height: 1.0 - 2.0 * m,
    };
    rect(picture, &centre_zone, MARGIN, 1, true);
    let chosen = report.verdict.as_ref().ok().map(|p| p.face.bounds);
    for (i, face) in report.faces.iter().enumerate() {
        let passed = chosen == Some(face.bounds);
        let colour = if passed { PASSED } else { REFUSED };
        let thick = if i == 0 { 3 } else { 2 };
        rect(picture, &face.bounds, colour, thick, false);
        for point in face.landmarks.all() {
            dot(picture, point, colour);
        }
    }
}

/// The outline of `r` (the frame's fractions), `thick` pixels wide, dashed or solid.
fn rect(img: &mut RgbImage, r: &Rect, colour: Rgb<u8>, thick: u32, dashed: bool) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = (r.left * w).round() as i64;
    let y0 = (r.top * h).round() as i64;
    let x1 = (r.right() * w).round() as i64;
    let y1 = (r.bottom() * h).round() as i64;
    let on = |i: i64| !dashed || (i / 8) % 2 == 0;
    for t in 0..i64::from(thick) {
        for x in x0..=x1 {
            if on(x) {
                put(img, x, y0 + t, colour);
                put(img, x, y1 - t, colour);
            }
        }
        for y in y0..=y1 {
            if on(y) {
                put(img, x0 + t, y, colour);
                put(img, x1 - t, y, colour);
            }
        }
    }
}

fn dot(img: &mut RgbImage, p: Point, colour: Rgb<u8>) {
    let (x, y) = (
        (p.x * img.width() as f32).round() as i64,
        (p.y * img.height() as f32).round() as i64,
    );
    let r = (img.width().max(img.height()) / 200).max(2) as i64;
    for dy in -r..=r {
        for dx in -r..=r {
            put(img, x + dx, y + dy, colour);
        }
    }
}

/// Sets a pixel if it lies inside the picture (faces may reach past its border).
fn put(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y))
        && x < img.width()
        && y < img.height()
    {
        img.put_pixel(x, y, colour);
    }
}

#[cfg(test)]
mod tests {
    use super::super::detection::Detection;
    use super::super::reason::Refusal;
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_refused_face_is_outlined_in_red_and_the_margins_drawn() {
        let mut img = RgbImage::new(200, 100);
        let face = Detection {
            score: 0.9,
            bounds: Rect {
                left: 0.9,
                top: 0.2,
                width: 0.2,
                height: 0.4,
            },
            ..Detection::default()
        };
        let report = Report {
            verdict: Err(Refusal::CutOff),
            faces: vec![face],
            took: Duration::ZERO,
        };
        draw(&mut img, &report, &FaceConfig::default());
        // The box's left edge at x = 180, inside; its right edge is outside and not drawn.
        assert_eq!(img.get_pixel(180, 50), &REFUSED);
        // The centre zone's top edge (15% down), on a dash.
        assert_eq!(img.get_pixel(35, 15), &MARGIN);
        assert_eq!(img.get_pixel(100, 50), &Rgb([0, 0, 0]));
    }
}
