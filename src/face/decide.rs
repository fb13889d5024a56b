//! The face rules, pure: given what the detector found in one frame (and, for a well-placed
//! face, how sharp and exposed the face itself is), pass the face or name the first rule it
//! breaks. No I/O, no model: every rule is a table test below.
//!
//! The rules run in the order a person can act on them: is there exactly one person, at the
//! right distance, inside the picture and near its middle, facing the camera upright; then is
//! the face itself lit and sharp. Placement is judged first and on its own so the (cheaper but
//! not free) quality measure runs only for a face worth measuring.

use super::config::FaceConfig;
use super::detection::Detection;
use super::reason::Refusal;

/// Boxes overlapping the best face more than this are the same face found twice.
const SAME_FACE_IOU: f32 = 0.3;

/// How the face itself looks: measured on the face's box only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceQuality {
    /// Mean luma, 0-255.
    pub luma: f32,
    /// Variance of the Laplacian of the face scaled to a fixed size; higher is sharper.
    pub sharpness: f32,
}

/// The frame's size in pixels: angles need the true aspect ratio of the fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

/// Picks the one face of the frame and checks where it is, or names the first placement rule
/// broken. `detections` may come in any order.
pub fn placement(
    detections: &[Detection],
    frame: FrameSize,
    config: &FaceConfig,
) -> Result<Detection, Refusal> {
    let strongest = |floor: f32| {
        detections
            .iter()
            .filter(|d| d.score >= floor)
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .copied()
    };
    let Some(best) = strongest(config.min_score) else {
        // A face far from the camera is small in the detector's input and scores low: a weak
        // find narrower than the minimum is a person too far away rather than nobody.
        let far =
            strongest(config.second_face_score).is_some_and(|d| d.bounds.width < config.min_width);
        return Err(if far {
            Refusal::TooFar
        } else {
            Refusal::NoFace
        });
    };
    let someone_else = detections.iter().any(|d| {
        d.score >= config.second_face_score && !at_least(d.bounds.iou(&best.bounds), SAME_FACE_IOU)
    });
    if someone_else {
        return Err(Refusal::SeveralFaces);
    }
    let b = best.bounds;
    if !at_least(b.width, config.min_width) {
        return Err(Refusal::TooFar);
    }
    if !at_most(b.width, config.max_width) {
        return Err(Refusal::TooClose);
    }
    if !b.inside_frame() {
        return Err(Refusal::CutOff);
    }
    let c = b.centre();
    let m = config.margin;
    let inside = |v: f32| at_least(v, m) && at_most(v, 1.0 - m);
    if !inside(c.x) || !inside(c.y) {
        return Err(Refusal::OffCentre);
    }
    let pose = Pose::of(&best, frame);
    if !at_most(pose.tilt_deg.abs(), config.max_tilt_deg) {
        return Err(Refusal::Tilted);
    }
    if !at_most(pose.turn, config.max_turn) {
        return Err(Refusal::Turned);
    }
    Ok(best)
}

/// Checks the face itself: exposure first (a dark face is also a low-contrast one), then
/// sharpness.
pub fn quality(q: FaceQuality, config: &FaceConfig) -> Result<(), Refusal> {
    if !at_least(q.luma, f32::from(config.min_luma)) {
        return Err(Refusal::FaceDark);
    }
    if !at_most(q.luma, f32::from(config.max_luma)) {
        return Err(Refusal::FaceBright);
    }
    if !at_least(q.sharpness, config.min_sharpness) {
        return Err(Refusal::FaceBlurred);
    }
    Ok(())
}

/// The rules pass a value only when it is shown to be within its bound: a measure that is not
/// a number (NaN: a detector fault) fails every rule instead of slipping past `>`.
fn at_least(value: f32, min: f32) -> bool {
    value >= min
}

fn at_most(value: f32, max: f32) -> bool {
    value <= max
}

/// Which way the head is held, from the landmarks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Angle of the line from the person's right eye to their left eye, in degrees; 0 when
    /// upright (the right eye is on the picture's left), ±180 upside down.
    pub tilt_deg: f32,
    /// Distance of the nose from the eyes' midpoint along the eye line, as a fraction of the
    /// distance between the eyes: 0 facing the camera, growing as the head turns.
    pub turn: f32,
}

impl Pose {
    pub fn of(face: &Detection, frame: FrameSize) -> Pose {
        let (w, h) = (frame.width as f32, frame.height as f32);
        let l = &face.landmarks;
        let (ex, ey) = (
            (l.left_eye.x - l.right_eye.x) * w,
            (l.left_eye.y - l.right_eye.y) * h,
        );
        // Not `hypot`: f32::hypot links glibc's hypotf@GLIBC_2.35, above the packages' floor
        // (docs/shipping.md), and eye distances are far from overflow.
        let eye_distance = (ex * ex + ey * ey).sqrt();
        let tilt_deg = ey.atan2(ex).to_degrees();
        if eye_distance < f32::EPSILON {
            return Pose {
                tilt_deg,
                turn: f32::INFINITY,
            };
        }
        let mid = (
            (l.left_eye.x + l.right_eye.x) / 2.0 * w,
            (l.left_eye.y + l.right_eye.y) / 2.0 * h,
        );
        let nose = (l.nose.x * w - mid.0, l.nose.y * h - mid.1);
        // The nose's offset along the eye line (its projection on the unit eye vector).
        let along = (nose.0 * ex + nose.1 * ey) / eye_distance;
        Pose {
            tilt_deg,
            turn: along.abs() / eye_distance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::detection::{Landmarks, Point, Rect};
    use super::*;

    const FRAME: FrameSize = FrameSize {
        width: 1280,
        height: 720,
    };

    fn p(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    /// An upright, frontal face of `width` (fraction of the frame's width) centred on (cx, cy).
    fn face(score: f32, cx: f32, cy: f32, width: f32) -> Detection {
        let height = width * 16.0 / 9.0; // square in pixels of a 16:9 frame
        let (dx, dy) = (width / 4.0, height / 6.0);
        Detection {
            score,
            bounds: Rect {
                left: cx - width / 2.0,
                top: cy - height / 2.0,
                width,
                height,
            },
            landmarks: Landmarks {
                right_eye: p(cx - dx, cy - dy),
                left_eye: p(cx + dx, cy - dy),
                nose: p(cx, cy),
                mouth: p(cx, cy + dy * 1.5),
                right_ear: p(cx - 2.0 * dx, cy - dy / 2.0),
                left_ear: p(cx + 2.0 * dx, cy - dy / 2.0),
            },
        }
    }

    /// Every landmark not a number (a detector fault).
    fn nan_landmarks(mut d: Detection) -> Detection {
        let nan = p(f32::NAN, f32::NAN);
        d.landmarks = Landmarks {
            right_eye: nan,
            left_eye: nan,
            nose: nan,
            mouth: nan,
            right_ear: nan,
            left_ear: nan,
        };
        d
    }

    fn with_nose(mut d: Detection, dx: f32) -> Detection {
        d.landmarks.nose.x += dx;
        d
    }

    /// The eyes turned by `deg` around the face's centre (the picture's y grows downwards).
    fn tilted(mut d: Detection, deg: f32) -> Detection {
        let c = d.bounds.centre();
        let (s, co) = deg.to_radians().sin_cos();
        let (w, h) = (FRAME.width as f32, FRAME.height as f32);
        let turn = |q: Point| {
            let (x, y) = ((q.x - c.x) * w, (q.y - c.y) * h);
            p(c.x + (x * co - y * s) / w, c.y + (x * s + y * co) / h)
        };
        d.landmarks.right_eye = turn(d.landmarks.right_eye);
        d.landmarks.left_eye = turn(d.landmarks.left_eye);
        d.landmarks.nose = turn(d.landmarks.nose);
        d
    }

    #[test]
    fn placement_rules_as_a_table() {
        use Refusal::*;
        let c = FaceConfig::default();
        let good = face(0.9, 0.5, 0.45, 0.25);
        // One detection each.
        let one: [(&str, Detection, Result<(), Refusal>); 16] = [
            ("one good face", good, Ok(())),
            ("a weak find", face(0.5, 0.5, 0.5, 0.25), Err(NoFace)),
            (
                "a weak, small find",
                face(0.65, 0.5, 0.5, 0.07),
                Err(TooFar),
            ),
            ("small", face(0.9, 0.5, 0.5, 0.08), Err(TooFar)),
            ("huge", face(0.9, 0.5, 0.5, 0.8), Err(TooClose)),
            ("past the left", face(0.9, 0.1, 0.5, 0.25), Err(CutOff)),
            ("past the bottom", face(0.9, 0.5, 0.85, 0.2), Err(CutOff)),
            ("near the right", face(0.9, 0.86, 0.5, 0.2), Err(OffCentre)),
            ("near the top", face(0.9, 0.5, 0.145, 0.16), Err(OffCentre)),
            ("tilted 30", tilted(good, 30.0), Err(Tilted)),
            ("tilted -30", tilted(good, -30.0), Err(Tilted)),
            ("tilted 10", tilted(good, 10.0), Ok(())),
            ("upside down", tilted(good, 180.0), Err(Tilted)),
            ("nose near an eye", with_nose(good, 0.05), Err(Turned)),
            ("nose a little aside", with_nose(good, 0.01), Ok(())),
            ("landmarks not numbers", nan_landmarks(good), Err(Tilted)),
        ];
        for (name, detection, want) in one {
            let got = placement(&[detection], FRAME, &c).map(|_| ());
            assert_eq!(got, want, "{name}");
        }
        // Several detections, or none.
        let beside = face(0.65, 0.85, 0.45, 0.2);
        let weak_beside = face(0.4, 0.85, 0.45, 0.2);
        let same_again = face(0.8, 0.51, 0.46, 0.24);
        let many: [(&str, Vec<Detection>, Result<(), Refusal>); 4] = [
            ("nothing", vec![], Err(NoFace)),
            (
                "a second person beside",
                vec![good, beside],
                Err(SeveralFaces),
            ),
            ("a weak second detection", vec![good, weak_beside], Ok(())),
            ("the same face found twice", vec![good, same_again], Ok(())),
        ];
        for (name, detections, want) in many {
            let got = placement(&detections, FRAME, &c).map(|_| ());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn the_most_confident_face_is_the_one_judged() {
        let c = FaceConfig::default();
        let strong = face(0.95, 0.5, 0.45, 0.25);
        let same_but_weaker = face(0.75, 0.5, 0.45, 0.26);
        let chosen = placement(&[same_but_weaker, strong], FRAME, &c).unwrap();
        assert_eq!(chosen.score, 0.95);
    }

    #[test]
    fn quality_rules_as_a_table() {
        let c = FaceConfig::default();
        let q = |luma, sharpness| FaceQuality { luma, sharpness };
        let cases = [
            (q(120.0, 200.0), Ok(())),
            (q(30.0, 200.0), Err(Refusal::FaceDark)),
            (q(240.0, 200.0), Err(Refusal::FaceBright)),
            (q(120.0, 5.0), Err(Refusal::FaceBlurred)),
            // Dark and blurred: the light is what to fix first.
            (q(30.0, 5.0), Err(Refusal::FaceDark)),
            // Measures that are not numbers never pass.
            (q(f32::NAN, 200.0), Err(Refusal::FaceDark)),
            (q(120.0, f32::NAN), Err(Refusal::FaceBlurred)),
        ];
        for (input, want) in cases {
            assert_eq!(quality(input, &c), want, "{input:?}");
        }
    }

    #[test]
    fn pose_of_an_upright_frontal_face() {
        let pose = Pose::of(&face(0.9, 0.5, 0.5, 0.25), FRAME);
        assert!(pose.tilt_deg.abs() < 1e-3, "{pose:?}");
        assert!(pose.turn < 1e-3, "{pose:?}");
        let pose = Pose::of(&tilted(face(0.9, 0.5, 0.5, 0.25), 25.0), FRAME);
        assert!((pose.tilt_deg - 25.0).abs() < 0.01, "{pose:?}");
        assert!(pose.turn < 1e-3, "{pose:?}");
    }
}
