//! Every size and position on the screen, derived in one place from the panel's size and
//! rotation, so an 800x480 panel, a 480x800 portrait one and a 1080p monitor all read well.
//!
//! Sizes are multiples of a *unit*, a hundredth of the picture's shorter side: text that is
//! legible from a step away on a 7-inch panel (about 43 px for the prompt at 480 px) is the
//! same share of a 1080p monitor. Positions are in the upright picture the person sees
//! ("logical" coordinates); [`Rotation`] turns it onto the panel at the very end.

use serde::{Deserialize, Serialize};

/// A panel's size in pixels, as scanned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// The smallest panel laid out (a 2.8-inch 320x240 one).
    pub const MIN: Size = Size {
        width: 240,
        height: 240,
    };
    /// The largest (4K).
    pub const MAX: Size = Size {
        width: 3840,
        height: 3840,
    };

    pub fn new(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    /// Whether both sides are within [`Size::MIN`] and [`Size::MAX`].
    pub fn is_supported(self) -> bool {
        (Size::MIN.width..=Size::MAX.width).contains(&self.width)
            && (Size::MIN.height..=Size::MAX.height).contains(&self.height)
    }

    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// How far the upright picture is turned, clockwise, to lie on the panel: a panel mounted on
/// its side shows an upright picture with 90 or 270.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn from_degrees(degrees: u32) -> Option<Rotation> {
        match degrees {
            0 => Some(Rotation::R0),
            90 => Some(Rotation::R90),
            180 => Some(Rotation::R180),
            270 => Some(Rotation::R270),
            _ => None,
        }
    }

    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// Whether the upright picture's sides are the panel's swapped.
    pub fn swaps_sides(self) -> bool {
        matches!(self, Rotation::R90 | Rotation::R270)
    }

    /// The upright picture's size on a panel of `panel`.
    pub fn upright(self, panel: Size) -> Size {
        if self.swaps_sides() {
            Size::new(panel.height, panel.width)
        } else {
            panel
        }
    }
}

/// An axis-aligned rectangle in upright picture pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Area {
    pub const fn new(x: f32, y: f32, width: f32, height: f32) -> Area {
        Area {
            x,
            y,
            width,
            height,
        }
    }

    pub fn right(&self) -> f32 {
        self.x + self.width
    }
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }
    pub fn centre(&self) -> (f32, f32) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }
    /// Shrunk by `by` on every side.
    pub fn inset(&self, by: f32) -> Area {
        Area {
            x: self.x + by,
            y: self.y + by,
            width: (self.width - 2.0 * by).max(1.0),
            height: (self.height - 2.0 * by).max(1.0),
        }
    }
}

/// A circle in upright picture pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub x: f32,
    pub y: f32,
    pub r: f32,
}

/// The guide oval's width as a share of the camera frame's width: a face the check likes
/// (`face.min_width` 0.15 to `face.max_width` 0.7 of the frame; a person at arm's length
/// fills about a quarter) sits inside it with room for the hair and ears.
pub const GUIDE_WIDTH: f32 = 0.30;
/// The guide oval's height over its width: a head.
pub const GUIDE_ASPECT: f32 = 1.3;

/// Where everything goes on one panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The upright picture.
    pub size: Size,
    pub rotation: Rotation,
    pub portrait: bool,
    /// A hundredth of the shorter side.
    pub unit: f32,
    pub margin: f32,
    /// The prompt's letters (pixels from line to line, as the font sizes them).
    pub prompt_px: f32,
    /// The second line: the name, the reason for a retry.
    pub detail_px: f32,
    /// The installer's figures and the countdown's label.
    pub small_px: f32,
    /// The countdown's number.
    pub countdown_px: f32,
    /// Lines the prompt may take before it is shrunk, then cut with an ellipsis.
    pub prompt_lines: usize,
    /// The camera picture, above the banner.
    pub mirror: Area,
    /// The prompt's band under the mirror.
    pub banner: Area,
    pub countdown: Circle,
    /// Screens without the mirror: the icon, and the words under it.
    pub icon: Circle,
    pub message: Area,
    /// The captured face while sending and on the result: a small round picture.
    pub still: Circle,
    /// Stroke widths.
    pub line: f32,
    pub thin: f32,
}

impl Layout {
    pub fn new(panel: Size, rotation: Rotation) -> Layout {
        let size = rotation.upright(panel);
        let (w, h) = (size.width as f32, size.height as f32);
        let portrait = h > w;
        let unit = w.min(h) / 100.0;
        let margin = 4.0 * unit;
        // The banner is taller in portrait: the picture is narrow, prompts wrap more.
        let banner_h = if portrait { 0.28 * h } else { 0.26 * h };
        let mirror = Area {
            x: 0.0,
            y: 0.0,
            width: w,
            height: h - banner_h,
        };
        let banner = Area {
            x: 0.0,
            y: h - banner_h,
            width: w,
            height: banner_h,
        };
        let countdown_r = 8.5 * unit;
        let icon_r = 15.0 * unit;
        let icon_y = if portrait { 0.30 * h } else { 0.32 * h };
        let message_top = icon_y + icon_r + 5.0 * unit;
        Layout {
            size,
            rotation,
            portrait,
            unit,
            margin,
            prompt_px: 9.0 * unit,
            detail_px: 6.0 * unit,
            small_px: 4.2 * unit,
            countdown_px: 9.0 * unit,
            prompt_lines: if portrait { 3 } else { 2 },
            mirror,
            banner,
            countdown: Circle {
                x: w - margin - countdown_r,
                y: margin + countdown_r,
                r: countdown_r,
            },
            icon: Circle {
                x: w / 2.0,
                y: icon_y,
                r: icon_r,
            },
            message: Area {
                x: margin,
                y: message_top,
                width: w - 2.0 * margin,
                height: h - message_top - margin,
            },
            still: Circle {
                x: w / 2.0,
                y: icon_y,
                r: icon_r,
            },
            line: 1.2 * unit,
            thin: 0.5 * unit,
        }
    }
}

/// How a camera frame lies in the mirror: scaled to cover the area (cropped at the sides or
/// top and bottom, never squeezed), centred, and mirrored left to right so the person moves
/// the way their picture moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameMap {
    pub area: Area,
    /// Screen pixels per frame pixel.
    pub scale: f32,
    /// Where the frame's left and top edges land (before mirroring: the frame's right edge
    /// is on the left).
    pub left: f32,
    pub top: f32,
    pub frame_width: f32,
    pub frame_height: f32,
}

impl FrameMap {
    pub fn cover(area: Area, frame_width: u32, frame_height: u32) -> FrameMap {
        FrameMap::scaled(area, frame_width, frame_height, f32::max)
    }

    /// Scaled to fit inside the area whole (bands at the sides or top and bottom): the
    /// installer's view, which must show everything the camera sees.
    pub fn contain(area: Area, frame_width: u32, frame_height: u32) -> FrameMap {
        FrameMap::scaled(area, frame_width, frame_height, f32::min)
    }

    /// Centred at the scale `pick` chooses from the two that fit the width and the height.
    fn scaled(
        area: Area,
        frame_width: u32,
        frame_height: u32,
        pick: fn(f32, f32) -> f32,
    ) -> FrameMap {
        let (fw, fh) = (frame_width.max(1) as f32, frame_height.max(1) as f32);
        let scale = pick(area.width / fw, area.height / fh);
        FrameMap {
            area,
            scale,
            left: area.x + (area.width - fw * scale) / 2.0,
            top: area.y + (area.height - fh * scale) / 2.0,
            frame_width: fw,
            frame_height: fh,
        }
    }

    /// Where the frame lies on the screen, within the area.
    pub fn shown(&self) -> Area {
        let x0 = self.left.max(self.area.x);
        let y0 = self.top.max(self.area.y);
        let x1 = (self.left + self.frame_width * self.scale).min(self.area.right());
        let y1 = (self.top + self.frame_height * self.scale).min(self.area.bottom());
        Area {
            x: x0,
            y: y0,
            width: (x1 - x0).max(0.0),
            height: (y1 - y0).max(0.0),
        }
    }

    /// A point of the frame (fractions of its width and height) on the screen, mirrored.
    pub fn point(&self, fx: f32, fy: f32) -> (f32, f32) {
        (
            self.left + (1.0 - fx) * self.frame_width * self.scale,
            self.top + fy * self.frame_height * self.scale,
        )
    }

    /// The guide oval: centred on the frame's centre, [`GUIDE_WIDTH`] of the frame wide,
    /// shrunk to fit the mirror's height when the mirror is short.
    pub fn guide(&self) -> Area {
        let (cx, cy) = self.point(0.5, 0.5);
        let mut width = GUIDE_WIDTH * self.frame_width * self.scale;
        let mut height = width * GUIDE_ASPECT;
        let room = 0.9 * self.area.height;
        if height > room {
            width *= room / height;
            height = room;
        }
        Area {
            x: cx - width / 2.0,
            y: cy - height / 2.0,
            width,
            height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panel_on_its_side_is_laid_out_upright() {
        let l = Layout::new(Size::new(800, 480), Rotation::R90);
        assert_eq!(l.size, Size::new(480, 800));
        assert!(l.portrait);
        assert_eq!(l.prompt_lines, 3);
        let l = Layout::new(Size::new(800, 480), Rotation::R180);
        assert_eq!(l.size, Size::new(800, 480));
        assert!(!l.portrait);
    }

    #[test]
    fn text_grows_with_the_panel() {
        let small = Layout::new(Size::new(800, 480), Rotation::R0);
        let big = Layout::new(Size::new(1920, 1080), Rotation::R0);
        assert!((small.prompt_px - 43.2).abs() < 0.01, "{}", small.prompt_px);
        assert!((big.prompt_px / small.prompt_px - 2.25).abs() < 0.01);
        // The banner holds its lines (one prompt_px apart) and a padding of 2 units.
        for l in [small, big, Layout::new(Size::new(480, 800), Rotation::R0)] {
            let needed = l.prompt_lines as f32 * l.prompt_px + 4.0 * l.unit;
            assert!(needed <= l.banner.height + 1.0, "{l:?}");
        }
    }

    #[test]
    fn the_frame_covers_the_mirror_and_is_mirrored() {
        let area = Area::new(0.0, 0.0, 800.0, 355.0);
        let map = FrameMap::cover(area, 1280, 720);
        assert!((map.scale - 0.625).abs() < 1e-6);
        // The frame's left edge is on the right of the screen.
        assert_eq!(map.point(0.0, 0.5).0, 800.0);
        assert_eq!(map.point(1.0, 0.5).0, 0.0);
        let guide = map.guide();
        assert!(guide.y >= 0.0 && guide.bottom() <= 355.0, "{guide:?}");
        assert!((guide.centre().0 - 400.0).abs() < 1e-3);
    }

    #[test]
    fn sizes_outside_the_supported_range_are_named() {
        assert!(Size::new(800, 480).is_supported());
        assert!(!Size::new(100, 480).is_supported());
        assert!(!Size::new(800, 5000).is_supported());
        assert_eq!(Rotation::from_degrees(45), None);
        assert_eq!(Rotation::from_degrees(270), Some(Rotation::R270));
    }
}
