//! Face check benchmark: what checking one camera frame for a well-placed face costs, against
//! enrolld's own 1280x720 YUYV -> JPEG encode measured in the same run (the work every press
//! already does), interleaved round by round so a noisy shared machine slows every row alike.
//! Ratios are the result; absolute times only describe this machine.
//!
//! Rows: the whole check (input + BlazeFace + rules + the face's quality) per camera format at
//! 1280x720, the input preparation alone (sampling, or MJPEG's 1/8 decode), and the model load
//! at start. The frames show a real face (scikit-image's astronaut.png, from
//! `.ci/face-assets.sh`). Goal: the check at most 1.0x the encode.
//! Run: `cargo bench --bench face` (release profile).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "common/reference.rs"]
mod reference;

use enrolld::camera::{Frame, PixelFormat, sim};
use enrolld::face::input::InputMaker;
use enrolld::face::{FaceCheck, FaceConfig};
use image::RgbImage;

const ROUNDS: usize = 60;
const LOADS: usize = 20;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// astronaut.png placed in a 1280x720 frame, face about a quarter of the width, centred.
fn face_frame() -> RgbImage {
    let assets = std::env::var_os("ENROLLD_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/assets"));
    let path = assets.join("skimage/astronaut.png");
    let photo = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run `bash .ci/face-assets.sh`", path.display()))
        .to_rgb8();
    // The face is 18% of the photo's width at (0.44, 0.25): scale so it is 25% of 1280 and
    // put it at the frame's centre.
    let side = (1280.0 * 0.25 / 0.183) as u32;
    let big = image::imageops::resize(&photo, side, side, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(1280, 720, image::Rgb([90, 90, 90]));
    let x = 640 - (0.44 * side as f32) as i64;
    let y = 360 - (0.25 * side as f32) as i64;
    image::imageops::overlay(&mut frame, &big, x, y);
    frame
}

struct Row {
    name: String,
    run: Box<dyn FnMut()>,
    samples: Vec<Duration>,
}

fn row(name: impl Into<String>, run: impl FnMut() + 'static) -> Row {
    Row {
        name: name.into(),
        run: Box::new(run),
        samples: Vec::with_capacity(ROUNDS),
    }
}

fn main() {
    let picture = face_frame();
    let config = FaceConfig {
        enabled: true,
        ..FaceConfig::default()
    };
    let frame = |format| sim::pack(&picture, format);

    let mut rows = Vec::new();
    // The reference must stay first: ratios divide by it.
    rows.push(row(
        reference::NAME,
        reference::yuyv_encode(frame(PixelFormat::Yuyv)),
    ));
    for format in [PixelFormat::Yuyv, PixelFormat::Nv12, PixelFormat::Mjpeg] {
        let f: Frame = frame(format);
        let mut check = FaceCheck::load(&config).expect("the face model loads");
        let report = check.check(&f);
        assert!(
            report.verdict.is_ok(),
            "{format}: the benchmark's face must pass, got {:?}",
            report.verdict
        );
        rows.push(row(format!("face check, {format} (whole)"), move || {
            black_box(check.check(black_box(&f)));
        }));
    }
    for format in [PixelFormat::Yuyv, PixelFormat::Mjpeg] {
        let f: Frame = frame(format);
        let mut maker = InputMaker::new().unwrap();
        rows.push(row(
            format!("face check, {format}: input only"),
            move || {
                black_box(maker.detector_input(black_box(&f)).unwrap());
            },
        ));
    }

    for r in rows.iter_mut() {
        (r.run)(); // warm caches and lazy initialisation
    }
    for _ in 0..ROUNDS {
        for r in rows.iter_mut() {
            let t = Instant::now();
            (r.run)();
            r.samples.push(t.elapsed());
        }
    }

    let mut loads: Vec<Duration> = (0..LOADS)
        .map(|_| {
            let t = Instant::now();
            black_box(FaceCheck::load(&config).unwrap());
            t.elapsed()
        })
        .collect();

    println!("enrolld face check benchmark: 1280x720, median of {ROUNDS} interleaved rounds");
    println!("| case | median ms | ratio to the YUYV encode |");
    println!("|---|---:|---:|");
    let reference = median(&mut rows[0].samples).as_secs_f64();
    for r in rows.iter_mut() {
        let m = median(&mut r.samples).as_secs_f64();
        println!("| {} | {:.2} | {:.2}x |", r.name, m * 1000.0, m / reference);
    }
    let load = median(&mut loads).as_secs_f64();
    println!(
        "| model load at start (median of {LOADS}) | {:.2} | {:.2}x |",
        load * 1000.0,
        load / reference
    );
}
