//! A scene and a camera frame to the panel's pixels.
//!
//! The same scene and frame give the same pixels every time: nothing reads a clock, a random
//! number or the machine's state, and every blend is integer arithmetic. Tests compare the
//! pixels with reference pictures, and a QEMU screendump can be compared with what the host
//! renders for the same state.
//!
//! A picture is two layers. The *chrome* (everything drawn: texts, guide, icons, grounds) is
//! drawn with tiny-skia onto a transparent layer and kept while the scene stays the same; the
//! *base* holds the camera picture. Each new frame of an unchanged scene costs only the mirror,
//! one blend of the kept chrome over it, and the turn onto the panel.

use tiny_skia::{Pixmap, PremultipliedColorU8};

use super::layout::{Area, Circle, FrameMap, Layout, Rotation};
use super::mirror::{self, Decoder, Target};
use super::picture::{Picture, rotate_onto_panel};
use super::scene::{Outcome, Scene, Setup, View};
use super::shapes::{self, Icon};
use super::text::{self, Fitted, Font, Glyphs, Rgba, div255};
use super::texts::Texts;
use crate::camera::Frame;
use crate::prompt::PromptKey;

/// The chrome layer kept for the scene it was drawn for (and the frame size it was laid out
/// for: the guide follows the frame's proportions).
struct Chrome {
    scene: Scene,
    frame: Option<(u32, u32)>,
    layer: Pixmap,
}

/// Renders scenes; keeps the font, the glyphs drawn so far and the last chrome layer.
pub struct Renderer {
    font: Font,
    texts: Texts,
    glyphs: Glyphs,
    decoder: Decoder,
    chrome: Option<Chrome>,
    upright: Vec<u32>,
}

impl Renderer {
    pub fn new(font: Font, texts: Texts) -> Renderer {
        Renderer {
            font,
            texts,
            glyphs: Glyphs::default(),
            decoder: Decoder::default(),
            chrome: None,
            upright: Vec::new(),
        }
    }

    pub fn font(&self) -> &Font {
        &self.font
    }

    /// Renders into a new picture.
    pub fn render(&mut self, scene: &Scene, frame: Option<&Frame>) -> Picture {
        let mut out = Picture::black(scene.size);
        self.render_into(scene, frame, &mut out);
        out
    }

    /// Renders into `out` (reused from the previous picture when it has the size).
    pub fn render_into(&mut self, scene: &Scene, frame: Option<&Frame>, out: &mut Picture) {
        let layout = Layout::new(scene.size, scene.rotation);
        let frame = frame.filter(|_| scene.shows_mirror() || scene.shows_still());
        let dims = frame.map(|f| (f.width, f.height));
        let fresh = self
            .chrome
            .as_ref()
            .is_none_or(|c| c.scene != *scene || c.frame != dims);
        if fresh {
            let layer = self.draw_chrome(scene, &layout, dims);
            self.chrome = Some(Chrome {
                scene: scene.clone(),
                frame: dims,
                layer,
            });
        }
        let (w, h) = (layout.size.width as usize, layout.size.height as usize);
        let upright = if scene.rotation == Rotation::R0 {
            out.size = scene.size;
            out.pixels.resize(w * h, 0);
            &mut out.pixels
        } else {
            self.upright.resize(w * h, 0);
            &mut self.upright
        };
        fill_base(upright, w, h, &layout, scene, frame, &mut self.decoder);
        let chrome = &self.chrome.as_ref().expect("drawn above").layer;
        blend(upright, chrome.pixels());
        if scene.rotation != Rotation::R0 {
            *out = rotate_onto_panel(
                &self.upright,
                layout.size.width,
                layout.size.height,
                scene.rotation,
            );
        }
    }

    /// Lets go of the large buffers (the screen is idle: nothing changes until the next event).
    pub fn trim(&mut self) {
        self.chrome = None;
        self.upright = Vec::new();
        self.decoder.trim();
    }

    fn draw_chrome(&mut self, scene: &Scene, layout: &Layout, frame: Option<(u32, u32)>) -> Pixmap {
        let mut layer = Pixmap::new(layout.size.width, layout.size.height)
            .expect("a panel size within Size::MAX");
        let mut pen = Pen {
            layer: &mut layer,
            font: &self.font,
            glyphs: &mut self.glyphs,
            texts: &self.texts,
            layout,
        };
        match scene.view {
            View::Blank => pen.fill(Rgba(0, 0, 0, 255)),
            View::Idle => pen.idle(scene),
            View::Mirror => pen.mirror(scene, frame),
            View::Setup => pen.setup(scene, frame),
            View::Sending => pen.message(scene, shapes::GROUND, Icon::Upload, frame.is_some()),
            View::Result(outcome) => {
                let (ground, icon) = outcome_look(outcome);
                pen.message(scene, ground, icon, frame.is_some());
            }
        }
        layer
    }
}

fn outcome_look(outcome: Outcome) -> (Rgba, Icon) {
    match outcome {
        Outcome::Registered => (shapes::REGISTERED_GROUND, Icon::Check),
        Outcome::TryAgain => (shapes::TRY_AGAIN_GROUND, Icon::Retry),
        Outcome::Queued => (shapes::QUEUED_GROUND, Icon::Clock),
        Outcome::OutOfOrder => (shapes::OUT_OF_ORDER_GROUND, Icon::Exclamation),
        Outcome::NotNow => (shapes::NOT_NOW_GROUND, Icon::Hand),
    }
}

/// Where the captured face goes as a small round picture.
fn still_area(layout: &Layout) -> Area {
    let c = layout.still;
    Area::new(c.x - c.r, c.y - c.r, 2.0 * c.r, 2.0 * c.r)
}

/// The layer under the chrome: the ground where the camera picture goes, and the picture.
fn fill_base(
    pixels: &mut [u32],
    width: usize,
    height: usize,
    layout: &Layout,
    scene: &Scene,
    frame: Option<&Frame>,
    decoder: &mut Decoder,
) {
    let Rgba(r, g, b, _) = shapes::NO_PICTURE;
    pixels.fill(u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b));
    let Some(frame) = frame else { return };
    let map = match scene.view {
        View::Setup => FrameMap::contain(layout.mirror, frame.width, frame.height),
        View::Mirror => FrameMap::cover(layout.mirror, frame.width, frame.height),
        _ => FrameMap::cover(still_area(layout), frame.width, frame.height),
    };
    let mut target = Target {
        pixels,
        width,
        height,
    };
    // A damaged frame shows as the ground: the face check has already said why.
    let _ = mirror::draw(&mut target, &map, frame, decoder);
}

/// The chrome (premultiplied RGBA) over the base, in place.
fn blend(base: &mut [u32], chrome: &[PremultipliedColorU8]) {
    for (b, c) in base.iter_mut().zip(chrome) {
        let a = u32::from(c.alpha());
        if a == 0 {
            continue;
        }
        let own = u32::from(c.red()) << 16 | u32::from(c.green()) << 8 | u32::from(c.blue());
        if a == 255 {
            *b = own;
            continue;
        }
        let inv = 255 - a;
        let ch = |shift: u32, top: u8| {
            (u32::from(top) + div255(((*b >> shift) & 0xff) * inv)).min(255) << shift
        };
        *b = ch(16, c.red()) | ch(8, c.green()) | ch(0, c.blue());
    }
}

/// What drawing one chrome layer needs.
struct Pen<'a> {
    layer: &'a mut Pixmap,
    font: &'a Font,
    glyphs: &'a mut Glyphs,
    texts: &'a Texts,
    layout: &'a Layout,
}

impl Pen<'_> {
    fn fill(&mut self, colour: Rgba) {
        let Rgba(r, g, b, a) = colour;
        self.layer.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
    }

    /// Fitted lines, each centred, the block centred in `area`.
    fn lines(&mut self, fitted: &Fitted, area: Area, colour: Rgba) {
        text::draw(self.layer, self.font, self.glyphs, fitted, area, colour);
    }

    /// `text` fitted to `area`'s width in at most `lines` lines from its top; returns the
    /// height used.
    fn words(&mut self, text: &str, px: f32, area: Area, lines: usize, colour: Rgba) -> f32 {
        let fitted = text::fit(self.font, text, px, area.width, lines);
        let height = fitted.px * fitted.lines.len() as f32;
        self.lines(&fitted, Area { height, ..area }, colour);
        height
    }

    fn prompt_text(&self, scene: &Scene) -> String {
        scene
            .prompt
            .map(|p| self.texts.get(p).to_owned())
            .unwrap_or_default()
    }

    /// The prompt (and a second line) in the message area under the icon.
    fn message_words(&mut self, scene: &Scene) {
        let l = *self.layout;
        let prompt = self.prompt_text(scene);
        let used = self.words(&prompt, l.prompt_px, l.message, 3, shapes::INK);
        let detail = match (scene.reason, &scene.name) {
            (Some(reason), _) => Some(self.texts.get(reason).to_owned()),
            (None, Some(name)) => Some(name.clone()),
            _ => None,
        };
        if let Some(detail) = detail {
            let area = Area {
                y: l.message.y + used + 0.6 * l.detail_px,
                height: l.detail_px * 2.0,
                ..l.message
            };
            self.words(&detail, l.detail_px, area, 2, shapes::SOFT_INK);
        }
    }

    fn idle(&mut self, scene: &Scene) {
        self.fill(shapes::GROUND);
        shapes::idle_face(self.layer, self.layout.icon, self.layout.line);
        self.message_words(scene);
    }

    /// Sending and the outcomes: a ground colour, an icon (or the captured face with the icon
    /// as a badge), the prompt and its second line.
    fn message(&mut self, scene: &Scene, ground: Rgba, icon: Icon, still: bool) {
        let l = *self.layout;
        if still && scene.shows_still() {
            // The ground around a round hole, where the base shows the captured face.
            let full = Area::new(0.0, 0.0, l.size.width as f32, l.size.height as f32);
            shapes::fill_around(self.layer, full, still_area(&l), ground);
            if let Some(p) = shapes::circle(l.still) {
                shapes::stroke_path(self.layer, &p, shapes::INK, l.line);
            }
            let badge = Circle {
                x: l.still.x + 0.72 * l.still.r,
                y: l.still.y + 0.72 * l.still.r,
                r: 0.36 * l.still.r,
            };
            shapes::icon(self.layer, badge, icon, ground, shapes::INK);
        } else {
            self.fill(ground);
            shapes::icon(
                self.layer,
                l.icon,
                icon,
                Rgba(255, 255, 255, 40),
                shapes::INK,
            );
        }
        self.message_words(scene);
    }

    /// The banner under the mirror: the prompt, and the capture's progress along its top.
    fn banner(&mut self, scene: &Scene) {
        let l = *self.layout;
        shapes::fill_area(self.layer, l.banner, shapes::BANNER);
        if let Some(progress) = scene.progress {
            let bar = Area {
                height: l.unit,
                width: l.banner.width * f32::from(progress.min(100)) / 100.0,
                ..l.banner
            };
            shapes::fill_area(self.layer, bar, shapes::GOOD);
        }
        let prompt = self.prompt_text(scene);
        let inner = l.banner.inset(l.margin);
        let fitted = text::fit(self.font, &prompt, l.prompt_px, inner.width, l.prompt_lines);
        self.lines(&fitted, l.banner, shapes::INK);
    }

    fn mirror(&mut self, scene: &Scene, frame: Option<(u32, u32)>) {
        let l = *self.layout;
        // Without a frame yet, the guide sits where a 16:9 camera's would.
        let (fw, fh) = frame.unwrap_or((1280, 720));
        let map = FrameMap::cover(l.mirror, fw, fh);
        let guide = map.guide();
        shapes::fill_around(self.layer, l.mirror, guide, shapes::DIM);
        let ready = scene.prompt == Some(PromptKey::HoldStill) && scene.progress.is_some();
        let colour = if ready { shapes::GOOD } else { shapes::INK };
        if let Some(p) = shapes::oval(guide) {
            shapes::stroke_path(self.layer, &p, colour, l.line);
        }
        if let Some(way) = scene.arrow {
            self.arrow(way, guide);
        }
        if let Some(seconds) = scene.countdown {
            self.countdown(seconds);
        }
        if let Some(name) = &scene.name {
            self.name_tag(name);
        }
        self.banner(scene);
    }

    /// An arrow between the person and the guide, pointing the way they should move.
    fn arrow(&mut self, way: super::scene::Arrow, guide: Area) {
        use super::scene::Arrow;
        let l = *self.layout;
        let length = 14.0 * l.unit;
        let gap = 3.0 * l.unit;
        let (cx, cy) = guide.centre();
        // The person is on the side the arrow comes from; its tip stops short of the guide.
        let tip = match way {
            Arrow::Left => (guide.right() + gap, cy),
            Arrow::Right => (guide.x - gap, cy),
            Arrow::Up => (cx, guide.bottom() + gap),
            Arrow::Down => (cx, guide.y - gap),
        };
        // Kept inside the mirror, whole.
        let tip = match way {
            Arrow::Left => (tip.0.min(l.mirror.right() - l.margin - length), tip.1),
            Arrow::Right => (tip.0.max(l.margin + length), tip.1),
            Arrow::Up => (tip.0, tip.1.min(l.mirror.bottom() - l.margin - length)),
            Arrow::Down => (tip.0, tip.1.max(l.margin + length)),
        };
        shapes::arrow(self.layer, tip.0, tip.1, length, way, shapes::ATTENTION);
    }

    fn countdown(&mut self, seconds: u32) {
        let l = *self.layout;
        let c = l.countdown;
        if let Some(p) = shapes::circle(c) {
            shapes::fill_path(self.layer, &p, shapes::SHADE, tiny_skia::FillRule::Winding);
            shapes::stroke_path(self.layer, &p, shapes::INK, l.thin);
        }
        let area = Area::new(
            c.x - c.r,
            c.y - l.countdown_px / 2.0,
            2.0 * c.r,
            l.countdown_px,
        );
        let fitted = text::fit(
            self.font,
            &seconds.to_string(),
            l.countdown_px,
            1.8 * c.r,
            1,
        );
        self.lines(&fitted, area, shapes::INK);
    }

    /// The enrollee's name in the mirror's top left, so they can check it is theirs.
    fn name_tag(&mut self, name: &str) {
        let l = *self.layout;
        let max = l.size.width as f32 * 0.6;
        let fitted = text::fit(self.font, name, l.detail_px, max, 1);
        let width = fitted
            .lines
            .first()
            .map_or(0.0, |t| self.font.width(t, fitted.px));
        let pad = 1.5 * l.unit;
        let tag = Area::new(l.margin, l.margin, width + 2.0 * pad, fitted.px + 2.0 * pad);
        if let Some(p) = shapes::rounded(tag, tag.height / 2.0) {
            shapes::fill_path(self.layer, &p, shapes::SHADE, tiny_skia::FillRule::Winding);
        }
        self.lines(&fitted, tag, shapes::INK);
    }

    /// The installer's view: no dimming, the zone the face's centre must stay in, every face
    /// with its landmarks and score, and the figures.
    fn setup(&mut self, scene: &Scene, frame: Option<(u32, u32)>) {
        let l = *self.layout;
        let (fw, fh) = frame.unwrap_or((1280, 720));
        let map = FrameMap::contain(l.mirror, fw, fh);
        let info = scene.setup.clone().unwrap_or_default();
        let m = info.margin;
        let (x0, y0) = map.point(1.0 - m, m);
        let (x1, y1) = map.point(m, 1.0 - m);
        let zone = Area::new(x0, y0, x1 - x0, y1 - y0);
        shapes::dashed(self.layer, zone, shapes::ATTENTION, l.thin, 2.0 * l.unit);
        for (i, face) in info.faces.iter().enumerate() {
            let colour = if i == 0 && info.passed {
                shapes::GOOD
            } else {
                shapes::BAD
            };
            let b = face.bounds;
            // Mirrored: the box's right edge in the frame is its left on the screen.
            let (bx0, by0) = map.point(b.right(), b.top);
            let (bx1, by1) = map.point(b.left, b.bottom());
            let boxed = Area::new(bx0, by0, bx1 - bx0, by1 - by0);
            shapes::outline(
                self.layer,
                boxed,
                colour,
                if i == 0 { l.thin * 1.6 } else { l.thin },
            );
            for p in face.landmarks.all() {
                let (x, y) = map.point(p.x, p.y);
                shapes::dot(self.layer, x, y, 0.8 * l.unit, colour);
            }
            let label = format!("{:.2}", face.score);
            text::draw_line(
                self.layer,
                self.font,
                self.glyphs,
                &label,
                l.small_px,
                bx0,
                (by0 - l.small_px * 1.1).max(0.0),
                colour,
            );
        }
        self.figures(&info);
        self.banner(scene);
    }

    /// The installer's figures in the top left.
    fn figures(&mut self, info: &Setup) {
        let l = *self.layout;
        let mut lines = Vec::new();
        if info.check_off {
            lines.push("face check off".to_owned());
        }
        match (info.faces.first(), info.passed) {
            (Some(f), true) => lines.push(format!("face {:.2}: passes", f.score)),
            (Some(f), false) => lines.push(format!("face {:.2}", f.score)),
            (None, _) if !info.check_off => lines.push("no face".to_owned()),
            _ => {}
        }
        if let Some(reason) = info.reason {
            lines.push(format!("reason: {}", reason.name()));
        }
        if info.faces.len() > 1 {
            lines.push(format!("{} faces", info.faces.len()));
        }
        lines.push(format!("margin {:.2}", info.margin));
        if let Some(fps) = info.fps {
            lines.push(format!("{fps:.1} checks/s"));
        }
        if let Some(frame) = &info.frame {
            lines.push(frame.clone());
        }
        let px = l.small_px;
        let width = lines
            .iter()
            .map(|t| self.font.width(t, px))
            .fold(0.0, f32::max);
        let pad = 1.5 * l.unit;
        let height = px * lines.len() as f32 + 2.0 * pad;
        let panel = Area::new(l.margin, l.margin, width + 2.0 * pad, height);
        if let Some(p) = shapes::rounded(panel, 1.5 * l.unit) {
            shapes::fill_path(self.layer, &p, shapes::SHADE, tiny_skia::FillRule::Winding);
        }
        for (i, line) in lines.iter().enumerate() {
            text::draw_line(
                self.layer,
                self.font,
                self.glyphs,
                line,
                px,
                panel.x + pad,
                panel.y + pad + px * i as f32,
                shapes::INK,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::PixelFormat;
    use crate::camera::sim::pack;
    use crate::screen::{DEFAULT_FONT, Size};

    #[test]
    fn the_mirror_is_dimmed_around_the_guide_and_clear_inside_it() {
        let font = Font::load(std::path::Path::new(DEFAULT_FONT)).unwrap();
        let mut r = Renderer::new(font, Texts::default());
        let white = image::RgbImage::from_pixel(1280, 720, image::Rgb([250, 250, 250]));
        let frame = pack(&white, PixelFormat::Rgb24);
        let scene = Scene {
            view: View::Mirror,
            prompt: Some(PromptKey::LookAtScreen),
            ..Scene::blank(Size::new(800, 480), Rotation::R0, "capturing")
        };
        let p = r.render(&scene, Some(&frame));
        let at = |x: usize, y: usize| p.pixels[y * 800 + x] & 0xff;
        let guide =
            FrameMap::cover(Layout::new(scene.size, Rotation::R0).mirror, 1280, 720).guide();
        let (cx, cy) = guide.centre();
        assert_eq!(
            at(cx as usize, cy as usize),
            250,
            "inside the guide: the picture as it is"
        );
        assert!(at(40, 200) < 150, "outside: dimmed, got {}", at(40, 200));
    }
}
