//! The drawn parts of a screen, with tiny-skia (anti-aliased paths in software, the same
//! pixels on every machine): the guide oval and the dimmed surround, arrows, the countdown's
//! disc, the icons of the outcomes, the installer's boxes. And the palette: calm colours, light
//! text on dark ground for contrast (white on the darkest ground is above 15:1).

use std::f32::consts::{FRAC_PI_2, PI};

use tiny_skia::{
    FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, StrokeDash,
    Transform,
};

use super::layout::{Area, Circle};
use super::scene::Arrow;
use super::text::Rgba;

pub const INK: Rgba = Rgba(244, 246, 248, 255);
pub const SOFT_INK: Rgba = Rgba(200, 212, 222, 255);
pub const GROUND: Rgba = Rgba(20, 32, 43, 255);
pub const BANNER: Rgba = Rgba(14, 23, 31, 255);
/// Behind the mirror until the first frame comes.
pub const NO_PICTURE: Rgba = Rgba(38, 48, 58, 255);
pub const DIM: Rgba = Rgba(0, 0, 0, 130);
pub const SHADE: Rgba = Rgba(0, 0, 0, 150);
pub const GOOD: Rgba = Rgba(76, 195, 138, 255);
pub const ATTENTION: Rgba = Rgba(242, 181, 68, 255);
pub const BAD: Rgba = Rgba(232, 93, 80, 255);
pub const REGISTERED_GROUND: Rgba = Rgba(22, 82, 60, 255);
pub const TRY_AGAIN_GROUND: Rgba = Rgba(92, 64, 18, 255);
pub const QUEUED_GROUND: Rgba = Rgba(25, 60, 96, 255);
pub const OUT_OF_ORDER_GROUND: Rgba = Rgba(78, 36, 36, 255);
pub const NOT_NOW_GROUND: Rgba = Rgba(48, 60, 72, 255);

fn paint(colour: Rgba) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(colour.0, colour.1, colour.2, colour.3);
    p.anti_alias = true;
    p
}

fn stroke(width: f32) -> Stroke {
    Stroke {
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}

fn rect(a: Area) -> Option<Rect> {
    Rect::from_xywh(a.x, a.y, a.width, a.height)
}

pub fn fill_area(pixmap: &mut Pixmap, area: Area, colour: Rgba) {
    if let Some(r) = rect(area) {
        pixmap.fill_rect(r, &paint(colour), Transform::identity(), None);
    }
}

pub fn fill_path(pixmap: &mut Pixmap, path: &Path, colour: Rgba, rule: FillRule) {
    pixmap.fill_path(path, &paint(colour), rule, Transform::identity(), None);
}

pub fn stroke_path(pixmap: &mut Pixmap, path: &Path, colour: Rgba, width: f32) {
    pixmap.stroke_path(
        path,
        &paint(colour),
        &stroke(width),
        Transform::identity(),
        None,
    );
}

pub fn oval(area: Area) -> Option<Path> {
    PathBuilder::from_oval(rect(area)?)
}

pub fn circle(c: Circle) -> Option<Path> {
    PathBuilder::from_circle(c.x, c.y, c.r)
}

/// `around` filled except inside `hole` (an oval): the dimmed surround of the guide, the
/// ground around a round picture.
pub fn fill_around(pixmap: &mut Pixmap, around: Area, hole: Area, colour: Rgba) {
    let (Some(outer), Some(inner)) = (rect(around), rect(hole)) else {
        return;
    };
    let mut pb = PathBuilder::new();
    pb.push_rect(outer);
    pb.push_oval(inner);
    if let Some(path) = pb.finish() {
        fill_path(pixmap, &path, colour, FillRule::EvenOdd);
    }
}

/// A rounded rectangle.
pub fn rounded(area: Area, radius: f32) -> Option<Path> {
    let r = radius.min(area.width / 2.0).min(area.height / 2.0);
    let (x0, y0, x1, y1) = (area.x, area.y, area.right(), area.bottom());
    // The quarter circles as cubics (the usual 0.5523 handle).
    let k = r * 0.552_284_8;
    let mut pb = PathBuilder::new();
    pb.move_to(x0 + r, y0);
    pb.line_to(x1 - r, y0);
    pb.cubic_to(x1 - r + k, y0, x1, y0 + r - k, x1, y0 + r);
    pb.line_to(x1, y1 - r);
    pb.cubic_to(x1, y1 - r + k, x1 - r + k, y1, x1 - r, y1);
    pb.line_to(x0 + r, y1);
    pb.cubic_to(x0 + r - k, y1, x0, y1 - r + k, x0, y1 - r);
    pb.line_to(x0, y0 + r);
    pb.cubic_to(x0, y0 + r - k, x0 + r - k, y0, x0 + r, y0);
    pb.close();
    pb.finish()
}

/// An arc of circle `c` from angle `from` to `to` (radians, clockwise from three o'clock on
/// screen), as cubic segments of at most a quarter turn.
fn arc(pb: &mut PathBuilder, c: Circle, from: f32, to: f32) {
    let turns = ((to - from).abs() / FRAC_PI_2).ceil().max(1.0) as usize;
    let step = (to - from) / turns as f32;
    let at = |a: f32| (c.x + c.r * a.cos(), c.y + c.r * a.sin());
    let (x, y) = at(from);
    pb.move_to(x, y);
    let k = 4.0 / 3.0 * (step / 4.0).tan() * c.r;
    for i in 0..turns {
        let a0 = from + step * i as f32;
        let a1 = a0 + step;
        let (x0, y0) = at(a0);
        let (x1, y1) = at(a1);
        pb.cubic_to(
            x0 - k * a0.sin(),
            y0 + k * a0.cos(),
            x1 + k * a1.sin(),
            y1 - k * a1.cos(),
            x1,
            y1,
        );
    }
}

/// A bold arrow of `length` pointing `way`, its tip at (`x`, `y`).
pub fn arrow(pixmap: &mut Pixmap, x: f32, y: f32, length: f32, way: Arrow, colour: Rgba) {
    // Drawn pointing right, tip at the origin, then turned.
    let (head, shaft) = (length * 0.5, length * 0.22);
    let pts = [
        (0.0, 0.0),
        (-head, -head * 0.9),
        (-head, -shaft),
        (-length, -shaft),
        (-length, shaft),
        (-head, shaft),
        (-head, head * 0.9),
    ];
    let (cos, sin) = match way {
        Arrow::Right => (1.0, 0.0),
        Arrow::Left => (-1.0, 0.0),
        Arrow::Down => (0.0, 1.0),
        Arrow::Up => (0.0, -1.0),
    };
    let mut pb = PathBuilder::new();
    for (i, (px, py)) in pts.into_iter().enumerate() {
        let (tx, ty) = (x + px * cos - py * sin, y + px * sin + py * cos);
        if i == 0 {
            pb.move_to(tx, ty);
        } else {
            pb.line_to(tx, ty);
        }
    }
    pb.close();
    if let Some(path) = pb.finish() {
        fill_path(pixmap, &path, colour, FillRule::Winding);
    }
}

/// The outcome icons, drawn inside circle `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Check,
    Retry,
    Clock,
    Exclamation,
    Hand,
    Upload,
}

/// A filled disc in `disc` with the icon's mark in `mark` on it.
pub fn icon(pixmap: &mut Pixmap, c: Circle, icon: Icon, disc: Rgba, mark: Rgba) {
    if let Some(p) = circle(c) {
        fill_path(pixmap, &p, disc, FillRule::Winding);
    }
    let r = c.r;
    let w = r * 0.16;
    let mut pb = PathBuilder::new();
    match icon {
        Icon::Check => {
            pb.move_to(c.x - 0.45 * r, c.y + 0.02 * r);
            pb.line_to(c.x - 0.12 * r, c.y + 0.35 * r);
            pb.line_to(c.x + 0.48 * r, c.y - 0.30 * r);
        }
        Icon::Retry => {
            // Clockwise from two o'clock round to eleven, the head at the end pointing on.
            let ring = Circle { r: 0.46 * r, ..c };
            let (from, to) = (-PI / 3.0, PI * 4.0 / 3.0);
            arc(&mut pb, ring, from, to);
            let (ex, ey) = (c.x + ring.r * to.cos(), c.y + ring.r * to.sin());
            let (dx, dy) = (-to.sin(), to.cos());
            let (nx, ny) = (-dy, dx);
            let mut head = PathBuilder::new();
            head.move_to(ex + dx * 0.26 * r, ey + dy * 0.26 * r);
            head.line_to(
                ex + nx * 0.22 * r - dx * 0.06 * r,
                ey + ny * 0.22 * r - dy * 0.06 * r,
            );
            head.line_to(
                ex - nx * 0.22 * r - dx * 0.06 * r,
                ey - ny * 0.22 * r - dy * 0.06 * r,
            );
            head.close();
            if let Some(p) = head.finish() {
                fill_path(pixmap, &p, mark, FillRule::Winding);
            }
        }
        Icon::Clock => {
            pb.push_circle(c.x, c.y, 0.5 * r);
            pb.move_to(c.x, c.y - 0.3 * r);
            pb.line_to(c.x, c.y);
            pb.line_to(c.x + 0.22 * r, c.y + 0.14 * r);
        }
        Icon::Exclamation => {
            pb.move_to(c.x, c.y - 0.48 * r);
            pb.line_to(c.x, c.y + 0.12 * r);
            pb.push_circle(c.x, c.y + 0.42 * r, 0.01 * r);
        }
        Icon::Hand => {
            // "Stop, not yet": a raised palm reduced to a bar and four fingers.
            for i in 0..4 {
                let fx = c.x - 0.27 * r + 0.18 * r * i as f32;
                pb.move_to(
                    fx,
                    c.y - 0.42 * r + if i == 0 || i == 3 { 0.1 * r } else { 0.0 },
                );
                pb.line_to(fx, c.y + 0.1 * r);
            }
            pb.move_to(c.x - 0.3 * r, c.y + 0.12 * r);
            pb.line_to(c.x + 0.3 * r, c.y + 0.12 * r);
            pb.line_to(c.x + 0.18 * r, c.y + 0.45 * r);
            pb.line_to(c.x - 0.18 * r, c.y + 0.45 * r);
            pb.close();
        }
        Icon::Upload => {
            pb.move_to(c.x, c.y + 0.42 * r);
            pb.line_to(c.x, c.y - 0.38 * r);
            pb.move_to(c.x - 0.3 * r, c.y - 0.1 * r);
            pb.line_to(c.x, c.y - 0.42 * r);
            pb.line_to(c.x + 0.3 * r, c.y - 0.1 * r);
        }
    }
    if let Some(path) = pb.finish() {
        stroke_path(pixmap, &path, mark, w);
    }
}

/// The idle screen's picture: the guide's oval with a calm face in it.
pub fn idle_face(pixmap: &mut Pixmap, c: Circle, line: f32) {
    let head = Area {
        x: c.x - 0.62 * c.r,
        y: c.y - 0.8 * c.r,
        width: 1.24 * c.r,
        height: 1.6 * c.r,
    };
    if let Some(p) = oval(head) {
        stroke_path(pixmap, &p, INK, line);
    }
    let eye = 0.07 * c.r;
    for dx in [-0.24, 0.24] {
        if let Some(p) = PathBuilder::from_circle(c.x + dx * c.r, c.y - 0.12 * c.r, eye) {
            fill_path(pixmap, &p, INK, FillRule::Winding);
        }
    }
    let mut pb = PathBuilder::new();
    arc(
        &mut pb,
        Circle {
            x: c.x,
            y: c.y + 0.05 * c.r,
            r: 0.3 * c.r,
        },
        PI * 0.25,
        PI * 0.75,
    );
    if let Some(p) = pb.finish() {
        stroke_path(pixmap, &p, INK, line * 0.8);
    }
}

/// A ring around `c` filled to `share` (0-1) clockwise from twelve o'clock, on a faint track.
pub fn ring(pixmap: &mut Pixmap, c: Circle, share: f32, width: f32, colour: Rgba) {
    if let Some(p) = circle(c) {
        stroke_path(pixmap, &p, Rgba(255, 255, 255, 60), width);
    }
    if share <= 0.0 {
        return;
    }
    let mut pb = PathBuilder::new();
    arc(
        &mut pb,
        c,
        -FRAC_PI_2,
        -FRAC_PI_2 + 2.0 * PI * share.min(1.0),
    );
    if let Some(p) = pb.finish() {
        stroke_path(pixmap, &p, colour, width);
    }
}

/// A dashed rectangle outline.
pub fn dashed(pixmap: &mut Pixmap, area: Area, colour: Rgba, width: f32, dash: f32) {
    let Some(path) = rect(area).map(PathBuilder::from_rect) else {
        return;
    };
    let s = Stroke {
        width,
        dash: StrokeDash::new(vec![dash, dash], 0.0),
        ..Stroke::default()
    };
    pixmap.stroke_path(&path, &paint(colour), &s, Transform::identity(), None);
}

/// A rectangle outline.
pub fn outline(pixmap: &mut Pixmap, area: Area, colour: Rgba, width: f32) {
    if let Some(path) = rect(area).map(PathBuilder::from_rect) {
        let s = Stroke {
            width,
            ..Stroke::default()
        };
        pixmap.stroke_path(&path, &paint(colour), &s, Transform::identity(), None);
    }
}

pub fn dot(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, colour: Rgba) {
    if let Some(p) = PathBuilder::from_circle(x, y, r) {
        fill_path(pixmap, &p, colour, FillRule::Winding);
    }
}
