//! The landmarks the check judges tilt and turn by land on the eyes, nose and mouth, for faces
//! from 8% to 60% of a 1280x720 frame's width: real photos from a package (scikit-image's
//! astronaut.png and camera.png), their eyes, nose tip and mouth marked by hand
//! (tests/data/face-landmarks.csv says how), each photo placed in the frame as a terminal's
//! camera would see the person at that distance (centred, on a plain wall), the whole check
//! run on it (both looks), and every marked point compared with the landmark found.
//!
//! The bound, [`MAX_ERROR`] of the face's width (about a quarter of the distance between the
//! eyes): the rules read the eye line's angle (`max_tilt_deg`, 20) and the nose's offset from
//! between the eyes (`max_turn`, 0.35 of the eye distance). Two eye landmarks each off by a
//! quarter of the eye distance in opposite directions tilt the line by at most 27 degrees; in
//! practice the errors are a few percent (the table printed with `--nocapture`, copied into
//! docs/benchmarks.md). Landmarks beside the eyes, as the whole-frame look gave at 13% (the
//! 25.8-degree tilt of a level head in issue 30), fail it. The head's tilt is also checked
//! directly: astronaut.png's is 2.7 degrees, read within [`MAX_TILT_ERROR_DEG`].
//!
//! Every width from `face.min_width`'s default (10%) to 60% must hold; the smaller widths are
//! measured and printed too: astronaut.png's frontal face holds down to 8%, camera.png's man,
//! turned to his left, loses his landmarks below 10%, which is what the default rests on
//! (docs/configuration.md, docs/benchmarks.md).
#![cfg(feature = "face")]

use enrolld::camera::{PixelFormat, sim::pack};
use enrolld::demo::scene::{self, ASTRONAUT_FACE, FaceBox, Placement};
use enrolld::face::decide::Pose;
use enrolld::face::{FaceCheck, FaceConfig, FrameSize};

const W: u32 = 1280;
const H: u32 = 720;
/// Largest distance of a landmark from its marked point, as a fraction of the face's width.
const MAX_ERROR: f32 = 0.12;
/// Largest difference between the tilt read from the landmarks and the marked eyes' tilt.
const MAX_TILT_ERROR_DEG: f32 = 8.0;
/// The face widths tried, as fractions of the frame's width.
const WIDTHS: [f32; 11] = [0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.15, 0.2, 0.3, 0.45, 0.6];

/// camera.png's face box as fractions of the photo (from the detector at the photo's own size;
/// it only scales the photo, the marks are the truth).
const CAMERA_FACE: FaceBox = FaceBox {
    centre_x: 0.44,
    centre_y: 0.32,
    width: 0.15,
};

struct Mark {
    photo: String,
    point: String,
    x: f32,
    y: f32,
}

fn marks() -> Vec<Mark> {
    let text = include_str!("data/face-landmarks.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("photo,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Mark {
                photo: f[0].to_owned(),
                point: f[1].to_owned(),
                x: f[2].parse().unwrap(),
                y: f[3].parse().unwrap(),
            }
        })
        .collect()
}

/// Where a point of the photo (its pixels) lands in the frame (pixels), placed as
/// `scene::frame` places it (no turn).
fn to_frame(photo: (f32, f32), face: FaceBox, placement: Placement, x: f32, y: f32) -> (f32, f32) {
    let (pw, ph) = photo;
    let scale = placement.face.width * W as f32 / (face.width * pw);
    (
        (x - face.centre_x * pw) * scale + placement.face.centre_x * W as f32,
        (y - face.centre_y * ph) * scale + placement.face.centre_y * H as f32,
    )
}

struct Row {
    photo: &'static str,
    width: f32,
    score: f32,
    /// Largest error of a marked point, as a fraction of the face's width, and which.
    worst: (f32, String),
    tilt: Option<(f32, f32)>,
}

fn measure() -> Vec<Row> {
    let config = FaceConfig {
        enabled: true,
        ..FaceConfig::default()
    };
    let mut check = FaceCheck::load(&config).unwrap();
    let marks = marks();
    let mut rows = Vec::new();
    for (name, face) in [
        ("astronaut.png", ASTRONAUT_FACE),
        ("camera.png", CAMERA_FACE),
    ] {
        let photo = scene::load_photo(name).unwrap();
        let size = (photo.width() as f32, photo.height() as f32);
        for width in WIDTHS {
            let placement = Placement::centred(width);
            let frame = pack(
                &scene::frame(&photo, face, W, H, placement),
                PixelFormat::Yuyv,
            );
            let report = check.check(&frame);
            let Some(found) = report.faces.first() else {
                rows.push(Row {
                    photo: name,
                    width,
                    score: 0.0,
                    worst: (f32::INFINITY, "no face found".into()),
                    tilt: None,
                });
                continue;
            };
            let face_px = width * W as f32;
            let l = found.landmarks;
            let mut worst = (0.0f32, String::new());
            let mut truth = std::collections::HashMap::new();
            for m in marks.iter().filter(|m| m.photo == name) {
                let (tx, ty) = to_frame(size, face, placement, m.x, m.y);
                truth.insert(m.point.clone(), (tx, ty));
                let got = match m.point.as_str() {
                    "right_eye" => l.right_eye,
                    "left_eye" => l.left_eye,
                    "nose" => l.nose,
                    "mouth" => l.mouth,
                    other => panic!("unknown point {other}"),
                };
                let (dx, dy) = (got.x * W as f32 - tx, got.y * H as f32 - ty);
                let error = (dx * dx + dy * dy).sqrt() / face_px;
                if error > worst.0 {
                    worst = (error, m.point.clone());
                }
            }
            let tilt = match (truth.get("right_eye"), truth.get("left_eye")) {
                (Some(r), Some(le)) => {
                    let marked = (le.1 - r.1).atan2(le.0 - r.0).to_degrees();
                    let size = FrameSize {
                        width: W,
                        height: H,
                    };
                    Some((Pose::of(found, size).tilt_deg, marked))
                }
                _ => None,
            };
            rows.push(Row {
                photo: name,
                width,
                score: found.score,
                worst,
                tilt,
            });
        }
    }
    rows
}

#[test]
fn landmarks_land_on_the_marked_eyes_nose_and_mouth_from_8_to_60_percent() {
    let rows = measure();
    println!(
        "| photo | face width | score | worst landmark error (of the face's width) | tilt read / marked |"
    );
    println!("|---|---:|---:|---|---|");
    for r in &rows {
        let tilt = r.tilt.map_or("-".to_owned(), |(got, want)| {
            format!("{got:.1} / {want:.1} deg")
        });
        println!(
            "| {} | {:.0}% | {:.2} | {:.3} ({}) | {tilt} |",
            r.photo,
            r.width * 100.0,
            r.score,
            r.worst.0,
            r.worst.1
        );
    }
    let supported = FaceConfig::default().min_width;
    let mut failures = Vec::new();
    for r in rows.iter().filter(|r| r.width >= supported - 1e-6) {
        if r.worst.0 > MAX_ERROR {
            failures.push(format!(
                "{} at {:.0}%: {} off by {:.3} of the face's width",
                r.photo,
                r.width * 100.0,
                r.worst.1,
                r.worst.0
            ));
        }
        if let Some((got, want)) = r.tilt
            && (got - want).abs() > MAX_TILT_ERROR_DEG
        {
            failures.push(format!(
                "{} at {:.0}%: tilt read {got:.1}, marked {want:.1}",
                r.photo,
                r.width * 100.0
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "faces from {supported} of the width: {failures:#?}"
    );
}
