//! Frame choice: from a burst, drop frames too dark or too bright and keep the
//! sharpest. Sharpness is the variance of the Laplacian of luma, measured on a
//! copy box-downscaled to about 320 pixels wide: cheap, and it scores the
//! detail of a face rather than sensor noise.

use std::fmt;

/// Width the luma is downscaled to (at most) before scoring.
pub const SCORE_WIDTH: usize = 320;

/// How a luma sample is read from a frame's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LumaLayout {
    /// Luma bytes `step` apart along a line (1 for a Y plane, 2 for YUYV).
    Plane { step: usize },
    /// Packed RGB: luma computed with BT.601 weights.
    Rgb,
}

/// A borrowed view of a frame's luma.
#[derive(Debug, Clone, Copy)]
pub struct LumaView<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes per line.
    pub stride: usize,
    pub layout: LumaLayout,
}

/// What frame choice looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameScore {
    /// Mean luma, 0-255.
    pub luma: f32,
    /// Variance of the Laplacian; higher is sharper. Comparable only between
    /// frames of the same size.
    pub sharpness: f32,
}

/// Why no frame of a burst could be used: the person is asked to retake,
/// nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retake {
    TooDark,
    TooBright,
}

impl fmt::Display for Retake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retake::TooDark => "too dark",
            Retake::TooBright => "too bright",
        })
    }
}

/// Scores one frame.
pub fn score(view: LumaView<'_>) -> FrameScore {
    let (small, w, h) = downscale(view);
    let luma = small.iter().map(|&v| f64::from(v)).sum::<f64>() / small.len().max(1) as f64;
    FrameScore {
        luma: luma as f32,
        sharpness: laplacian_variance(&small, w, h) as f32,
    }
}

/// Box-averages the luma by an integer factor so the copy is at most
/// [`SCORE_WIDTH`] wide. Returns the copy and its size.
fn downscale(view: LumaView<'_>) -> (Vec<u8>, usize, usize) {
    let f = view.width.div_ceil(SCORE_WIDTH).max(1);
    let (w, h) = ((view.width / f).max(1), (view.height / f).max(1));
    let mut out = vec![0u8; w * h];
    let mut acc = vec![0u32; w];
    let area = (f * f) as u32;
    for (oy, out_row) in out.chunks_exact_mut(w).enumerate() {
        acc.fill(0);
        for y in oy * f..(oy * f + f).min(view.height) {
            let line = &view.data[y * view.stride..];
            add_line(line, view.layout, f, &mut acc);
        }
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = ((a + area / 2) / area).min(255) as u8;
        }
    }
    (out, w, h)
}

/// Adds `f` consecutive luma samples of one line into each accumulator.
fn add_line(line: &[u8], layout: LumaLayout, f: usize, acc: &mut [u32]) {
    match layout {
        LumaLayout::Plane { step } => {
            for (ox, a) in acc.iter_mut().enumerate() {
                let start = ox * f * step;
                *a += line[start..start + f * step]
                    .iter()
                    .step_by(step)
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
        }
        LumaLayout::Rgb => {
            for (ox, a) in acc.iter_mut().enumerate() {
                let start = ox * f * 3;
                *a += line[start..start + f * 3]
                    .chunks_exact(3)
                    .map(|p| {
                        (77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128)
                            >> 8
                    })
                    .sum::<u32>();
            }
        }
    }
}

/// Variance of the 4-neighbour Laplacian over the interior pixels.
pub fn laplacian_variance(img: &[u8], w: usize, h: usize) -> f64 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum_sq, mut n) = (0i64, 0i64, 0i64);
    for y in 1..h - 1 {
        let (up, row, down) = (&img[(y - 1) * w..], &img[y * w..], &img[(y + 1) * w..]);
        for x in 1..w - 1 {
            let l = 4 * i64::from(row[x])
                - i64::from(row[x - 1])
                - i64::from(row[x + 1])
                - i64::from(up[x])
                - i64::from(down[x]);
            sum += l;
            sum_sq += l * l;
            n += 1;
        }
    }
    let mean = sum as f64 / n as f64;
    sum_sq as f64 / n as f64 - mean * mean
}

/// Picks the sharpest frame whose mean luma is within `[min_luma, max_luma]`.
/// `scores` may hold `None` for frames that could not be read; they are
/// skipped. With no usable frame, the retake reason is what most frames were.
/// Returns `None` when there is nothing to judge (every frame unreadable).
pub fn choose(
    scores: &[Option<FrameScore>],
    min_luma: u8,
    max_luma: u8,
) -> Option<Result<usize, Retake>> {
    let (min, max) = (f32::from(min_luma), f32::from(max_luma));
    let best = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .filter(|(_, s)| s.luma >= min && s.luma <= max)
        .max_by(|a, b| a.1.sharpness.total_cmp(&b.1.sharpness));
    if let Some((i, _)) = best {
        return Some(Ok(i));
    }
    let dark = scores.iter().flatten().filter(|s| s.luma < min).count();
    let bright = scores.iter().flatten().filter(|s| s.luma > max).count();
    match (dark, bright) {
        (0, 0) => None,
        (d, b) if d >= b => Some(Err(Retake::TooDark)),
        _ => Some(Err(Retake::TooBright)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(luma: f32, sharpness: f32) -> Option<FrameScore> {
        Some(FrameScore { luma, sharpness })
    }

    #[test]
    fn sharpest_well_exposed_frame_wins() {
        let scores = [s(120.0, 10.0), s(30.0, 999.0), s(130.0, 50.0), None];
        assert_eq!(choose(&scores, 40, 220), Some(Ok(2)));
    }

    #[test]
    fn retake_reason_follows_the_majority() {
        assert_eq!(
            choose(&[s(10.0, 1.0), s(20.0, 1.0), s(250.0, 1.0)], 40, 220),
            Some(Err(Retake::TooDark))
        );
        assert_eq!(
            choose(&[s(250.0, 1.0), s(240.0, 1.0)], 40, 220),
            Some(Err(Retake::TooBright))
        );
        assert_eq!(choose(&[None, None], 40, 220), None);
    }

    #[test]
    fn rgb_and_plane_luma_agree_on_grey() {
        let grey = vec![100u8; 64 * 3 * 16];
        let rgb = score(LumaView {
            data: &grey,
            width: 64,
            height: 16,
            stride: 64 * 3,
            layout: LumaLayout::Rgb,
        });
        let plane = score(LumaView {
            data: &grey,
            width: 64,
            height: 16,
            stride: 64 * 3,
            layout: LumaLayout::Plane { step: 3 },
        });
        assert_eq!(rgb, plane);
        assert!((rgb.luma - 100.0).abs() < 0.5);
        assert_eq!(rgb.sharpness, 0.0);
    }
}
