//! A face as the detector found it, in the frame's own coordinates.
//!
//! Coordinates are fractions of the frame (0 = left/top edge, 1 = right/bottom edge), so the
//! rules do not depend on the frame's size, and a box may reach past the edges (a face cut by
//! the border is found with its box partly outside).

/// A point as fractions of the frame's width and height.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box as fractions of the frame's width and height.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn right(&self) -> f32 {
        self.left + self.width
    }
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }
    pub fn centre(&self) -> Point {
        Point {
            x: self.left + self.width / 2.0,
            y: self.top + self.height / 2.0,
        }
    }
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union: how much two boxes are the same box.
    pub fn iou(&self, other: &Rect) -> f32 {
        let w = self.right().min(other.right()) - self.left.max(other.left);
        let h = self.bottom().min(other.bottom()) - self.top.max(other.top);
        if w <= 0.0 || h <= 0.0 {
            return 0.0;
        }
        let inter = w * h;
        inter / (self.area() + other.area() - inter)
    }

    /// Whether the box lies wholly inside the frame.
    pub fn inside_frame(&self) -> bool {
        self.left >= 0.0 && self.top >= 0.0 && self.right() <= 1.0 && self.bottom() <= 1.0
    }

    /// The box in pixels of a `width` x `height` image, clipped to it; `None` when nothing of it
    /// is inside.
    pub fn to_pixels(&self, width: u32, height: u32) -> Option<PixelRect> {
        let (w, h) = (width as f32, height as f32);
        // Rounded, not floored and ceiled: 0.2 * 100 is 20.000002 in f32.
        let x0 = (self.left * w).round().max(0.0) as u32;
        let y0 = (self.top * h).round().max(0.0) as u32;
        let x1 = ((self.right() * w).round().max(0.0) as u32).min(width);
        let y1 = ((self.bottom() * h).round().max(0.0) as u32).min(height);
        (x1 > x0 && y1 > y0).then(|| PixelRect {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        })
    }
}

/// A box in whole pixels of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The detector's six landmarks, in BlazeFace's order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Landmarks {
    /// The person's right eye (on the left of the picture, facing the camera).
    pub right_eye: Point,
    pub left_eye: Point,
    pub nose: Point,
    pub mouth: Point,
    pub right_ear: Point,
    pub left_ear: Point,
}

impl Landmarks {
    pub fn all(&self) -> [Point; 6] {
        [
            self.right_eye,
            self.left_eye,
            self.nose,
            self.mouth,
            self.right_ear,
            self.left_ear,
        ]
    }
}

/// One face found in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Detection {
    /// The detector's confidence, 0-1.
    pub score: f32,
    pub bounds: Rect,
    pub landmarks: Landmarks,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(left: f32, top: f32, width: f32, height: f32) -> Rect {
        Rect {
            left,
            top,
            width,
            height,
        }
    }

    #[test]
    fn iou_of_same_disjoint_and_half() {
        let a = r(0.0, 0.0, 0.2, 0.2);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&r(0.5, 0.5, 0.1, 0.1)), 0.0);
        // Half of b overlaps a: 0.02 / (0.04 + 0.04 - 0.02).
        let b = r(0.1, 0.0, 0.2, 0.2);
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn pixels_are_clipped_to_the_image() {
        assert_eq!(
            r(-0.1, 0.5, 0.3, 0.6).to_pixels(100, 50),
            Some(PixelRect {
                x: 0,
                y: 25,
                width: 20,
                height: 25
            })
        );
        assert_eq!(r(1.1, 0.0, 0.2, 0.2).to_pixels(100, 50), None);
    }

    #[test]
    fn inside_means_every_edge_inside() {
        assert!(r(0.0, 0.0, 1.0, 1.0).inside_frame());
        assert!(!r(0.9, 0.1, 0.2, 0.2).inside_frame());
        assert!(!r(0.1, -0.01, 0.2, 0.2).inside_frame());
    }
}
