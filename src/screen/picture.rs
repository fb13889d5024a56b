//! What the renderer hands to a display: the panel's pixels as XRGB8888 (`0x00RRGGBB` per
//! pixel, the format every KMS driver scans out), already turned to the panel's orientation;
//! and the same pixels as PNG (the demo's file, the reference pictures of the tests).

use std::io::Write;

use super::layout::{Rotation, Size};

/// The panel's pixels, row by row from the top left, `0x00RRGGBB` each.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    pub size: Size,
    pub pixels: Vec<u32>,
}

// A picture may hold a face: never print its pixels.
impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture {}", self.size)
    }
}

impl Picture {
    /// An all-black picture (a sleeping screen).
    pub fn black(size: Size) -> Picture {
        Picture {
            size,
            pixels: vec![0; size.pixels()],
        }
    }

    /// Packed `R G B` bytes.
    pub fn to_rgb(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pixels.len() * 3);
        for p in &self.pixels {
            out.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, *p as u8]);
        }
        out
    }

    /// From packed `R G B` bytes (a reference picture read back).
    pub fn from_rgb(size: Size, rgb: &[u8]) -> Option<Picture> {
        if rgb.len() != size.pixels() * 3 {
            return None;
        }
        let pixels = rgb
            .chunks_exact(3)
            .map(|p| u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]))
            .collect();
        Some(Picture { size, pixels })
    }

    /// Writes the picture as an 8-bit RGB PNG, quickly (the demo's file, kept current).
    pub fn write_png(&self, out: impl Write) -> Result<(), png::EncodingError> {
        self.write_png_compressed(out, png::Compression::Fast)
    }

    /// Writes the picture as an 8-bit RGB PNG at `compression` (the tests' reference pictures
    /// are kept small in the repository).
    pub fn write_png_compressed(
        &self,
        out: impl Write,
        compression: png::Compression,
    ) -> Result<(), png::EncodingError> {
        let mut encoder = png::Encoder::new(out, self.size.width, self.size.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(compression);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.to_rgb())?;
        writer.finish()
    }

    /// Reads an 8-bit RGB or RGBA PNG (alpha dropped).
    pub fn read_png(bytes: &[u8]) -> Result<Picture, String> {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
        let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
        if info.bit_depth != png::BitDepth::Eight {
            return Err(format!("{:?} bits per sample, not 8", info.bit_depth));
        }
        let size = Size::new(info.width, info.height);
        let data = &buf[..info.buffer_size()];
        let rgb: Vec<u8> = match info.color_type {
            png::ColorType::Rgb => data.to_vec(),
            png::ColorType::Rgba => data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            other => return Err(format!("{other:?} PNG, not RGB")),
        };
        Picture::from_rgb(size, &rgb).ok_or_else(|| "PNG size mismatch".to_owned())
    }

    /// How many pixels differ from `other` (all of them when the sizes differ).
    pub fn differing_pixels(&self, other: &Picture) -> usize {
        if self.size != other.size {
            return self.pixels.len().max(other.pixels.len());
        }
        self.pixels
            .iter()
            .zip(&other.pixels)
            .filter(|(a, b)| a != b)
            .count()
    }
}

/// Turns an upright picture (`upright` pixels, `width` x `height`) onto the panel.
pub fn rotate_onto_panel(upright: &[u32], width: u32, height: u32, rotation: Rotation) -> Picture {
    let (w, h) = (width as usize, height as usize);
    let panel = if rotation.swaps_sides() {
        Size::new(height, width)
    } else {
        Size::new(width, height)
    };
    let pixels = match rotation {
        Rotation::R0 => upright.to_vec(),
        Rotation::R180 => upright.iter().rev().copied().collect(),
        Rotation::R90 | Rotation::R270 => {
            let mut out = vec![0u32; w * h];
            // The panel is h wide: upright (x, y) lands at (h-1-y, x) turned clockwise, at
            // (y, w-1-x) turned counter-clockwise.
            for (y, row) in upright.chunks_exact(w).enumerate() {
                for (x, &p) in row.iter().enumerate() {
                    let (px, py) = if rotation == Rotation::R90 {
                        (h - 1 - y, x)
                    } else {
                        (y, w - 1 - x)
                    };
                    out[py * h + px] = p;
                }
            }
            out
        }
    };
    Picture {
        size: panel,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_clockwise_puts_the_top_left_at_the_top_right() {
        // 3x2 upright: 1 2 3 / 4 5 6.
        let upright = [1, 2, 3, 4, 5, 6];
        let p = rotate_onto_panel(&upright, 3, 2, Rotation::R90);
        assert_eq!(p.size, Size::new(2, 3));
        assert_eq!(p.pixels, vec![4, 1, 5, 2, 6, 3]);
        let p = rotate_onto_panel(&upright, 3, 2, Rotation::R270);
        assert_eq!(p.pixels, vec![3, 6, 2, 5, 1, 4]);
        let p = rotate_onto_panel(&upright, 3, 2, Rotation::R180);
        assert_eq!(p.pixels, vec![6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn png_round_trip_keeps_every_pixel() {
        let size = Size::new(3, 2);
        let p = Picture {
            size,
            pixels: vec![0xff0000, 0x00ff00, 0x0000ff, 0x123456, 0, 0xffffff],
        };
        let mut png = Vec::new();
        p.write_png(&mut png).unwrap();
        let back = Picture::read_png(&png).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.differing_pixels(&Picture::black(size)), 5);
    }
}
