//! A generated, face-like test picture for the simulated camera: a head with
//! eyes, brows, nose and mouth on a gradient, with hair and skin texture so
//! that sharpness scores mean something (blur visibly lowers them).

use image::{Rgb, RgbImage};

/// Draws the test picture at the given size.
pub fn face(width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as f32, height as f32);
    let (cx, cy) = (w * 0.5, h * 0.52);
    let (rx, ry) = (h * 0.26, h * 0.34);
    let mut noise = XorShift(0x9E37_79B9_7F4A_7C15);
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let grain = (noise.next() % 17) as f32 - 8.0;
        // Normalised coordinates in the head's ellipse.
        let (nx, ny) = ((fx - cx) / rx, (fy - cy) / ry);
        let in_head = nx * nx + ny * ny <= 1.0;
        let hair = in_head && ny < -0.55
            || (!in_head && (nx * nx + (ny + 0.1).powi(2)) < 1.25 && ny < 0.0);
        let px = if hair {
            // Fine strands: high-frequency stripes.
            let strand = if (x / 2 + y / 7) % 3 == 0 { 25.0 } else { 0.0 };
            [60.0 + strand, 40.0 + strand, 25.0 + strand * 0.5]
        } else if in_head {
            feature(nx, ny).unwrap_or([205.0, 160.0, 130.0])
        } else {
            // Background: a soft vertical gradient with a checker for detail.
            let check = if (x / 16 + y / 16) % 2 == 0 {
                12.0
            } else {
                0.0
            };
            let g = 90.0 + 80.0 * fy / h;
            [g * 0.6 + check, g * 0.75 + check, g + check]
        };
        Rgb(px.map(|c| (c + grain).clamp(0.0, 255.0) as u8))
    })
}

/// Colour of a facial feature at normalised head coordinates, if any.
fn feature(nx: f32, ny: f32) -> Option<[f32; 3]> {
    let ellipse = |ex: f32, ey: f32, ax: f32, ay: f32| {
        let (dx, dy) = ((nx - ex) / ax, (ny - ey) / ay);
        dx * dx + dy * dy <= 1.0
    };
    for side in [-0.38f32, 0.38] {
        if ellipse(side, -0.12, 0.07, 0.05) {
            return Some([30.0, 25.0, 20.0]); // pupil
        }
        if ellipse(side, -0.12, 0.17, 0.08) {
            return Some([240.0, 240.0, 235.0]); // eye white
        }
        if ellipse(side, -0.3, 0.2, 0.035) {
            return Some([70.0, 45.0, 30.0]); // brow
        }
    }
    if ellipse(0.0, 0.12, 0.06, 0.15) && nx > 0.0 {
        return Some([175.0, 130.0, 105.0]); // nose shadow
    }
    if ellipse(0.0, 0.48, 0.3, 0.07) {
        return Some([150.0, 60.0, 60.0]); // mouth
    }
    None
}

/// Deterministic noise: the same picture every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
