//! Words on the screen: the font (a TrueType file from a Debian package, read by path, never
//! downloaded), glyphs rasterised once and kept, and lines wrapped to fit.
//!
//! Wrapping is at spaces. A text that still does not fit in its lines is first set smaller
//! (down to [`SMALLEST`] of its size), then cut at a word with an ellipsis; a single word wider
//! than the line is cut with an ellipsis too. Words are never cut silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ab_glyph::{Font as _, FontVec, GlyphId, PxScale, ScaleFont as _};
use tiny_skia::{Pixmap, PremultipliedColorU8};

use super::layout::Area;

pub use super::{DEFAULT_FONT, FONT_PACKAGE};
/// The smallest a text is set before it is cut, as a share of its size.
pub const SMALLEST: f32 = 0.72;
const ELLIPSIS: char = '…';
/// Glyphs kept; more and the cache starts over (a site's prompts use a few dozen).
const MAX_CACHED_GLYPHS: usize = 4096;

/// Why the font cannot be used. The message names the file, the package and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    #[error(
        "{path}: cannot read the font ({reason}); the default comes with the Debian package \
         {FONT_PACKAGE} (`apt install {FONT_PACKAGE}`), or name another TrueType file in \
         display.font",
        path = path.display()
    )]
    Read { path: PathBuf, reason: String },
    #[error(
        "{path}: not a TrueType or OpenType font enrolld can read; name another in display.font",
        path = path.display()
    )]
    Invalid { path: PathBuf },
}

/// The loaded font.
pub struct Font {
    face: FontVec,
    path: PathBuf,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Font({})", self.path.display())
    }
}

impl Font {
    /// Reads the font file. Only its tables are read now; each glyph's outline is read the
    /// first time it is drawn (so the whole font is never expanded in memory).
    pub fn load(path: &Path) -> Result<Font, FontError> {
        let bytes = std::fs::read(path).map_err(|e| FontError::Read {
            path: path.to_owned(),
            reason: crate::fsutil::describe(&e),
        })?;
        let face = FontVec::try_from_vec(bytes).map_err(|_| FontError::Invalid {
            path: path.to_owned(),
        })?;
        Ok(Font {
            face,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The characters of `text` this font has no glyph for (they would show as boxes).
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && self.face.glyph_id(*c).0 == 0)
            .collect();
        missing.dedup();
        missing
    }

    /// The width of `text` set at `px`.
    pub fn width(&self, text: &str, px: f32) -> f32 {
        let scaled = self.face.as_scaled(PxScale::from(px));
        let mut width = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                width += scaled.kern(p, id);
            }
            width += scaled.h_advance(id);
            previous = Some(id);
        }
        width
    }

    fn ascent(&self, px: f32) -> f32 {
        self.face.as_scaled(PxScale::from(px)).ascent()
    }
}

/// A text fitted to its lines: the size it is set at and each line.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub px: f32,
    pub lines: Vec<String>,
    /// Whether something had to be cut (an ellipsis is shown).
    pub cut: bool,
}

/// Fits `text` into at most `max_lines` lines of `max_width`: at `px` if it can, else smaller
/// (down to [`SMALLEST`] of `px`), else at the smallest size, cut with an ellipsis.
pub fn fit(font: &Font, text: &str, px: f32, max_width: f32, max_lines: usize) -> Fitted {
    let sizes = [1.0, 0.86, SMALLEST].map(|f| (px * f).round());
    for size in sizes {
        let (lines, cut) = wrap(font, text, size, max_width, max_lines);
        if !cut {
            return Fitted {
                px: size,
                lines,
                cut,
            };
        }
    }
    let size = sizes[sizes.len() - 1];
    let (lines, cut) = wrap(font, text, size, max_width, max_lines);
    Fitted {
        px: size,
        lines,
        cut,
    }
}

/// Wraps at spaces into at most `max_lines` lines; returns the lines and whether anything was
/// cut (the last line then ends with an ellipsis).
pub fn wrap(
    font: &Font,
    text: &str,
    px: f32,
    max_width: f32,
    max_lines: usize,
) -> (Vec<String>, bool) {
    let max_lines = max_lines.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut cut = false;
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if font.width(&candidate, px) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if font.width(word, px) <= max_width {
            current = word.to_owned();
        } else {
            // One word wider than the line: cut, with the ellipsis showing it.
            lines.push(ellipsize(font, word, px, max_width));
            cut = true;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = lines.pop().unwrap_or_default();
        lines.push(ellipsize_after(font, &last, px, max_width));
        cut = true;
    }
    (lines, cut)
}

/// `line` followed by an ellipsis (something came after it), dropping its last words, or
/// letters when one word is all there is, until it fits.
fn ellipsize_after(font: &Font, line: &str, px: f32, max_width: f32) -> String {
    let mut words: Vec<&str> = line.split(' ').collect();
    while !words.is_empty() {
        let candidate = format!("{}{ELLIPSIS}", words.join(" "));
        if font.width(&candidate, px) <= max_width {
            return candidate;
        }
        if words.len() == 1 {
            break;
        }
        words.pop();
    }
    ellipsize(font, words.first().copied().unwrap_or(""), px, max_width)
}

/// As many letters of `word` as fit with an ellipsis after them.
fn ellipsize(font: &Font, word: &str, px: f32, max_width: f32) -> String {
    let chars: Vec<char> = word.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().chain([&ELLIPSIS]).collect();
        if font.width(&candidate, px) <= max_width {
            return candidate;
        }
    }
    ELLIPSIS.to_string()
}

/// A glyph's coverage, placed relative to its pen position on the baseline.
#[derive(Debug)]
struct Glyph {
    left: i32,
    top: i32,
    width: usize,
    coverage: Vec<u8>,
}

/// Glyphs already rasterised, by glyph and size (in hundredths of a pixel).
#[derive(Debug, Default)]
pub struct Glyphs {
    cache: HashMap<(u16, u32), Arc<Glyph>>,
}

impl Glyphs {
    fn get(&mut self, font: &Font, id: GlyphId, px: f32) -> Arc<Glyph> {
        let key = (id.0, (px * 100.0).round() as u32);
        if let Some(g) = self.cache.get(&key) {
            return Arc::clone(g);
        }
        if self.cache.len() >= MAX_CACHED_GLYPHS {
            self.cache.clear();
        }
        let glyph = id.with_scale_and_position(PxScale::from(px), ab_glyph::point(0.0, 0.0));
        let rendered = match font.face.outline_glyph(glyph) {
            Some(outlined) => {
                let b = outlined.px_bounds();
                let (width, height) = (b.width() as usize, b.height() as usize);
                let mut coverage = vec![0u8; width * height];
                outlined.draw(|x, y, c| {
                    let i = y as usize * width + x as usize;
                    if let Some(px) = coverage.get_mut(i) {
                        *px = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
                    }
                });
                Glyph {
                    left: b.min.x as i32,
                    top: b.min.y as i32,
                    width,
                    coverage,
                }
            }
            // A space.
            None => Glyph {
                left: 0,
                top: 0,
                width: 0,
                coverage: Vec::new(),
            },
        };
        let rendered = Arc::new(rendered);
        self.cache.insert(key, Arc::clone(&rendered));
        rendered
    }
}

/// A straight (not premultiplied) colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

/// Draws fitted lines in `area`, the block centred vertically, each line centred.
pub fn draw(
    pixmap: &mut Pixmap,
    font: &Font,
    glyphs: &mut Glyphs,
    fitted: &Fitted,
    area: Area,
    colour: Rgba,
) {
    let line_height = fitted.px;
    let block = line_height * fitted.lines.len() as f32;
    let mut top = area.y + ((area.height - block) / 2.0).max(0.0);
    for line in &fitted.lines {
        let left = area.x + (area.width - font.width(line, fitted.px)) / 2.0;
        draw_line(pixmap, font, glyphs, line, fitted.px, left, top, colour);
        top += line_height;
    }
}

/// Draws one line with its top-left corner at (`left`, `top`).
#[allow(clippy::too_many_arguments)]
pub fn draw_line(
    pixmap: &mut Pixmap,
    font: &Font,
    glyphs: &mut Glyphs,
    text: &str,
    px: f32,
    left: f32,
    top: f32,
    colour: Rgba,
) {
    let scaled = font.face.as_scaled(PxScale::from(px));
    let baseline = (top + font.ascent(px)).round() as i32;
    let mut pen = left;
    let mut previous: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            pen += scaled.kern(p, id);
        }
        let glyph = glyphs.get(font, id, px);
        blit(pixmap, &glyph, pen.round() as i32, baseline, colour);
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
}

/// Blends a glyph's coverage in `colour` onto the pixmap (source over, premultiplied).
fn blit(pixmap: &mut Pixmap, glyph: &Glyph, x: i32, baseline: i32, colour: Rgba) {
    if glyph.width == 0 {
        return;
    }
    let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
    let pixels = pixmap.pixels_mut();
    for (gy, row) in glyph.coverage.chunks_exact(glyph.width).enumerate() {
        let y = baseline + glyph.top + gy as i32;
        if y < 0 || y >= ph {
            continue;
        }
        for (gx, &c) in row.iter().enumerate() {
            let x = x + glyph.left + gx as i32;
            if c == 0 || x < 0 || x >= pw {
                continue;
            }
            let i = (y * pw + x) as usize;
            pixels[i] = over(pixels[i], colour, c);
        }
    }
}

/// `colour` at `coverage` over a premultiplied pixel.
pub fn over(dst: PremultipliedColorU8, colour: Rgba, coverage: u8) -> PremultipliedColorU8 {
    let sa = div255(u32::from(colour.3) * u32::from(coverage));
    let inv = 255 - sa;
    let ch = |s: u8, d: u8| (div255(u32::from(s) * sa) + div255(u32::from(d) * inv)) as u8;
    let a = (sa + div255(u32::from(dst.alpha()) * inv)) as u8;
    PremultipliedColorU8::from_rgba(
        ch(colour.0, dst.red()).min(a),
        ch(colour.1, dst.green()).min(a),
        ch(colour.2, dst.blue()).min(a),
        a,
    )
    .unwrap_or(dst)
}

/// `x / 255`, rounded, exact for every product of two bytes.
pub fn div255(x: u32) -> u32 {
    let x = x + 128;
    (x + (x >> 8)) >> 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font() -> Font {
        Font::load(Path::new(DEFAULT_FONT)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn div255_is_exact() {
        for a in 0..=255u32 {
            for b in 0..=255u32 {
                let exact = ((a * b) as f64 / 255.0).round() as u32;
                assert_eq!(div255(a * b), exact, "{a} * {b}");
            }
        }
    }

    #[test]
    fn a_missing_font_names_the_file_the_package_and_the_key() {
        let e = Font::load(Path::new("/nonexistent/font.ttf")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/nonexistent/font.ttf: cannot read"),
            "{text}"
        );
        assert!(text.contains("fonts-dejavu-core"), "{text}");
        assert!(text.contains("display.font"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.ttf");
        std::fs::write(&junk, b"not a font").unwrap();
        assert!(matches!(
            Font::load(&junk).unwrap_err(),
            FontError::Invalid { .. }
        ));
    }

    #[test]
    fn text_wraps_at_spaces_and_is_cut_only_with_an_ellipsis() {
        let f = font();
        let px = 40.0;
        let width = f.width("Keep your head", px) + 1.0;
        let (lines, cut) = wrap(&f, "Keep your head straight", px, width, 2);
        assert_eq!(lines, ["Keep your head", "straight"]);
        assert!(!cut);
        let (lines, cut) = wrap(&f, "Keep your head straight and still now", px, width, 2);
        assert!(cut);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'), "{lines:?}");
        // Whole words before the ellipsis.
        assert!(
            "straight and still now".starts_with(lines[1].trim_end_matches('…')),
            "{lines:?}"
        );
        let (lines, cut) = wrap(&f, "Donaudampfschifffahrtsgesellschaft", px, 200.0, 2);
        assert!(cut);
        assert!(lines[0].ends_with('…') && f.width(&lines[0], px) <= 200.0);
    }

    #[test]
    fn fit_shrinks_before_it_cuts() {
        let f = font();
        let text = "Step up to the screen to enroll";
        let width = f.width(text, 40.0) * 0.9;
        let fitted = fit(&f, text, 40.0, width, 1);
        assert!(!fitted.cut && fitted.px < 40.0, "{fitted:?}");
        let fitted = fit(&f, text, 40.0, width * 0.5, 1);
        assert!(fitted.cut && fitted.lines[0].ends_with('…'), "{fitted:?}");
        assert_eq!(fitted.px, (40.0 * SMALLEST).round());
    }

    #[test]
    fn missing_glyphs_are_found() {
        let f = font();
        assert!(f.missing("Schau in die Kamera, bitte").is_empty());
        assert_eq!(f.missing("看 camera"), vec!['看']);
    }
}
