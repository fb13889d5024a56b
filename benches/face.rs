//! Face check benchmark: what checking one camera frame for a well-placed face costs, against
//! enrolld's own 1280x720 YUYV -> JPEG encode measured in the same run (the work every press
//! already does), interleaved round by round so a noisy shared machine slows every row alike.
//! Ratios are the result; absolute times only describe this machine.
//!
//! Rows: the whole check (inputs + BlazeFace on the central square and on the whole frame +
//! rules + the face's quality) per camera format at 1280x720, with a face a quarter of the
//! width and with a face at about one metre (11% of the width); the inputs alone; the network
//! alone per input (the central square at 128 and at 96, the whole 16:9 frame at 128x80) by the
//! fused runner, and the same 128x128 input by rten 0.27 running the packaged ONNX model (the
//! runner before); and the network's load at start. The frames show real faces (scikit-image's
//! astronaut.png, from `.ci/face-assets.sh`). Goal: the whole check at most 1.0x the encode.
//! Run: `cargo bench --bench face` (release profile).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/reference.rs"]
mod reference;

use enrolld::camera::{Frame, PixelFormat, sim};
use enrolld::demo::scene::{self, ASTRONAUT_FACE, Placement};
use enrolld::face::blazeface::Window;
use enrolld::face::fused;
use enrolld::face::input::InputMaker;
use enrolld::face::{FaceCheck, FaceConfig, REGION_INPUT};
use image::RgbImage;

const ROUNDS: usize = 60;
const LOADS: usize = 20;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// astronaut.png placed in a 1280x720 frame, its face `width` of the frame's width, centred.
fn face_frame(width: f32) -> RgbImage {
    let photo = scene::load_photo("astronaut.png").unwrap_or_else(|e| panic!("{e}"));
    let placement = Placement::centred(width);
    scene::frame(&photo, ASTRONAUT_FACE, 1280, 720, placement)
}

/// The packaged model run by rten 0.27 on one thread, as the check ran it before the fused
/// runner.
fn rten_row() -> impl FnMut() + 'static {
    use rten_tensor::NdTensorView;
    let ops = rten::op_registry!(
        Conv,
        Relu,
        Add,
        MaxPool,
        Concat,
        Transpose,
        Reshape,
        ConstantOfShape
    );
    let model = rten::ModelOptions::with_ops(ops)
        .load_file(env!("ENROLLD_FACE_MODEL"))
        .expect("the packaged model loads in rten");
    let input_id = model.node_id("input:0").unwrap();
    let outputs = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"]
        .map(|n| model.node_id(n).unwrap());
    let pool = Arc::new(rten::ThreadPool::with_num_threads(1));
    let input = vec![0.1f32; 128 * 128 * 3];
    move || {
        let tensor = NdTensorView::from_data([1, 128, 128, 3], &input[..]);
        let opts = rten::RunOptions::default().with_thread_pool(Some(Arc::clone(&pool)));
        black_box(
            model
                .run(vec![(input_id, tensor.into())], &outputs, Some(opts))
                .unwrap(),
        );
    }
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
    let config = FaceConfig {
        enabled: true,
        ..FaceConfig::default()
    };
    let near = face_frame(0.25);
    // About a metre from a 70-78 degree webcam: the face 11% of a 1280 width.
    let one_metre = face_frame(0.11);

    let mut rows = Vec::new();
    // The reference must stay first: ratios divide by it.
    rows.push(row(
        reference::NAME,
        reference::yuyv_encode(sim::pack(&near, PixelFormat::Yuyv)),
    ));
    let whole_checks = [
        ("", &near, PixelFormat::Yuyv),
        ("", &near, PixelFormat::Nv12),
        ("", &near, PixelFormat::Mjpeg),
        (", face at 1 m (11%)", &one_metre, PixelFormat::Yuyv),
        (", face at 1 m (11%)", &one_metre, PixelFormat::Mjpeg),
    ];
    for (what, picture, format) in whole_checks {
        let f: Frame = sim::pack(picture, format);
        let mut check = FaceCheck::load(&config).expect("the face model loads");
        let report = check.check(&f);
        // The face must be found and judged on every row (a refusal before the quality
        // measure would make a row cheaper than a passing frame).
        assert!(
            report.verdict.is_ok(),
            "{format}{what}: the benchmark's face must pass, got {:?}",
            report.verdict
        );
        rows.push(row(
            format!("face check, {format}{what} (whole)"),
            move || {
                black_box(check.check(black_box(&f)));
            },
        ));
    }
    let windows = [
        Window::centre(1280, 720, REGION_INPUT).unwrap(),
        Window::whole(1280, 720),
    ];
    for format in [PixelFormat::Yuyv, PixelFormat::Mjpeg] {
        let f: Frame = sim::pack(&near, format);
        let mut maker = InputMaker::new().unwrap();
        rows.push(row(
            format!("face check, {format}: both inputs only"),
            move || {
                black_box(maker.detector_inputs(black_box(&f), &windows).unwrap());
            },
        ));
    }
    for (what, h, w) in [
        ("central square at 128x128", 128, 128),
        ("central square at 96x96", 96, 96),
        ("whole 16:9 frame at 128x80", 80, 128),
    ] {
        let mut net = fused::load().unwrap();
        let input = vec![0.1f32; h * w * 3];
        rows.push(row(
            format!("network alone, fused runner: {what}"),
            move || {
                black_box(net.run(black_box(&input), h, w));
            },
        ));
    }
    rows.push(row(
        "network alone, rten 0.27 (the runner before): 128x128",
        rten_row(),
    ));

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
    println!("(central square input: {REGION_INPUT}x{REGION_INPUT})");
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
