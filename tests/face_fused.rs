//! The fused runner gives rten's answers: the packaged BlazeFace model run by rten 0.27 (the
//! ONNX file `.ci/face-assets.sh` fetched, as built into enrolld) and by enrolld's fused runner
//! (its weights taken from the same file at build time) on the same inputs, made from real
//! photos (scikit-image's), must agree on every output value and on every face decoded from
//! them: scores, boxes and landmarks. The known-bad case: the same comparison against a
//! runner with one weight changed by 1% fails.
#![cfg(feature = "face")]

use std::sync::Arc;

use enrolld::camera::{PixelFormat, sim::pack};
use enrolld::demo::scene::{self, ASTRONAUT_FACE, Placement};
use enrolld::face::Detection;
use enrolld::face::blazeface::{self, RawOutputs, Window};
use enrolld::face::fused::{self, Network, Outputs};
use enrolld::face::input::InputMaker;
use image::RgbImage;
use rten::{Model, ModelOptions, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

/// Largest difference allowed between the two runners' raw outputs (logits and input-pixel
/// regressions of up to about 130): summation order differs, nothing else may.
const OUTPUT_TOLERANCE: f32 = 2e-3;
/// ... and between the faces decoded from them, in fractions of the frame.
const FACE_TOLERANCE: f32 = 1e-4;

fn rten_model() -> Model {
    let path = env!("ENROLLD_FACE_MODEL");
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
    ModelOptions::with_ops(ops)
        .load_file(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// rten's four outputs for one 128x128 input.
fn run_rten(model: &Model, input: &[f32]) -> Outputs {
    let id = |name: &str| model.node_id(name).unwrap();
    let names = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"];
    let tensor = NdTensorView::from_data([1, 128, 128, 3], input);
    let opts =
        RunOptions::default().with_thread_pool(Some(Arc::new(ThreadPool::with_num_threads(1))));
    let values = model
        .run(
            vec![(id("input:0"), tensor.into())],
            &names.map(id),
            Some(opts),
        )
        .unwrap();
    let maps: Vec<Vec<f32>> = values
        .into_iter()
        .map(|v| {
            let t: NdTensor<f32, 3> = v.try_into().unwrap();
            t.to_vec()
        })
        .collect();
    Outputs {
        maps: maps.try_into().unwrap(),
        fine: (16, 16),
        coarse: (8, 8),
    }
}

fn faces(out: &Outputs, window: &Window) -> Vec<Detection> {
    let raw = RawOutputs {
        width: 128,
        height: 128,
        fine_scores: &out.maps[0],
        coarse_scores: &out.maps[1],
        fine_boxes: &out.maps[2],
        coarse_boxes: &out.maps[3],
    };
    blazeface::decode(&raw, 0.3)
        .unwrap()
        .iter()
        .map(|d| window.to_frame(d))
        .collect()
}

/// The largest difference between two runners' outputs, and where.
fn largest_difference(a: &Outputs, b: &Outputs) -> (f32, String) {
    let mut worst = (0.0f32, String::new());
    for (m, (x, y)) in a.maps.iter().zip(&b.maps).enumerate() {
        assert_eq!(x.len(), y.len(), "output {m}");
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            let d = (p - q).abs();
            if d > worst.0 {
                worst = (d, format!("output {m}[{i}]: {p} vs {q}"));
            }
        }
    }
    worst
}

fn assert_same_faces(a: &[Detection], b: &[Detection], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        let xs = [
            x.score,
            x.bounds.left,
            x.bounds.top,
            x.bounds.width,
            x.bounds.height,
        ];
        let ys = [
            y.score,
            y.bounds.left,
            y.bounds.top,
            y.bounds.width,
            y.bounds.height,
        ];
        let xp = x.landmarks.all().map(|p| [p.x, p.y]);
        let yp = y.landmarks.all().map(|p| [p.x, p.y]);
        let all_x = xs.iter().chain(xp.as_flattened());
        let all_y = ys.iter().chain(yp.as_flattened());
        for (p, q) in all_x.zip(all_y) {
            assert!((p - q).abs() <= FACE_TOLERANCE, "{what}: {x:?} vs {y:?}");
        }
    }
}

/// 128x128 inputs from real photos: the central square of frames with a face at several
/// sizes, the whole of square photos, and a photo without a person.
fn inputs() -> Vec<(String, Vec<f32>, Window)> {
    let astronaut = scene::load_photo("astronaut.png").unwrap();
    let mut maker = InputMaker::new().unwrap();
    let mut out = Vec::new();
    for width in [0.09, 0.13, 0.25, 0.5] {
        let placement = Placement::centred(width);
        let frame = scene::frame(&astronaut, ASTRONAUT_FACE, 1280, 720, placement);
        let window = Window::centre(1280, 720, 128).unwrap();
        let f = pack(&frame, PixelFormat::Yuyv);
        let input = maker.detector_inputs(&f, &[window]).unwrap().remove(0);
        out.push((format!("astronaut at {width}"), input.tensor, window));
    }
    for name in ["astronaut.png", "camera.png", "coffee.png"] {
        let photo: RgbImage = scene::load_photo(name).unwrap();
        let square = photo.width().min(photo.height()) & !1;
        let photo = image::imageops::crop_imm(&photo, 0, 0, square, square).to_image();
        let window = Window::whole(square, square);
        let f = pack(&photo, PixelFormat::Rgb24);
        let input = maker.detector_inputs(&f, &[window]).unwrap().remove(0);
        out.push((name.to_owned(), input.tensor, window));
    }
    out
}

#[test]
fn the_fused_runner_gives_rtens_outputs_and_faces_on_real_photos() {
    let model = rten_model();
    let mut net = fused::load().unwrap();
    let mut faces_seen = 0;
    for (name, input, window) in inputs() {
        let want = run_rten(&model, &input);
        let got = net.run(&input, 128, 128);
        let (diff, at) = largest_difference(&got, &want);
        assert!(diff <= OUTPUT_TOLERANCE, "{name}: {at}");
        let (a, b) = (faces(&got, &window), faces(&want, &window));
        assert_same_faces(&a, &b, &name);
        faces_seen += a.iter().filter(|d| d.score > 0.7).count();
    }
    // The comparison covered real faces, not only empty outputs.
    assert!(faces_seen >= 5, "{faces_seen} faces");
}

#[test]
fn a_runner_one_weight_off_is_caught() {
    let model = rten_model();
    let mut weights = fused::weights();
    // A pointwise weight of the first block, 1% off.
    let at = 5 * 5 * 3 * 24 + 24 + 9 * 24 + 7;
    weights[at] *= 1.01;
    let mut off = Network::with_weights(&weights).unwrap();
    let caught = inputs().into_iter().any(|(_, input, _)| {
        let (diff, _) = largest_difference(&off.run(&input, 128, 128), &run_rten(&model, &input));
        diff > OUTPUT_TOLERANCE
    });
    assert!(caught, "a weight 1% off went unnoticed");
}
