//! Encode benchmarks: camera frame -> JPEG, against libjpeg-turbo's own
//! encoder (tjCompress from packed RGB of the same frame) measured in the same
//! run, interleaved round by round so a noisy shared machine slows every row
//! alike. Ratios are the result; absolute times only describe this machine.
//!
//! Besides the conversion and encoding: the MJPEG passthrough check, the
//! frame score, and building the registration body (base64 + JSON) from the
//! JPEG. Run: `cargo bench --bench encode` (release profile). Target:
//! 1280x720 YUYV -> JPEG at most 1.25x the reference.

use std::hint::black_box;
use std::time::{Duration, Instant};

use enrolld::api::client::registration_body;
use enrolld::camera::convert::to_i420;
use enrolld::camera::encode::{EncodeSettings, Encoder};
use enrolld::camera::pipeline::score_frame;
use enrolld::camera::{Frame, PixelFormat, pattern, sim};
use turbojpeg::{Compressor, Image, PixelFormat as TjPixel, Subsamp};

const QUALITY: u8 = 85;
const ROUNDS: usize = 40;

struct Case {
    name: &'static str,
    run: Box<dyn FnMut() -> usize>,
    samples: Vec<Duration>,
}

fn case(name: &'static str, run: impl FnMut() -> usize + 'static) -> Case {
    Case {
        name,
        run: Box::new(run),
        samples: Vec::with_capacity(ROUNDS),
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn settings() -> EncodeSettings {
    EncodeSettings {
        quality: QUALITY,
        max_dimension: None,
        max_bytes: 10_000_000,
    }
}

fn frame_to_jpeg(frame: Frame) -> impl FnMut() -> usize {
    let mut to_jpeg = frame_to_jpeg_bytes(frame);
    move || to_jpeg().len()
}

fn frame_to_jpeg_bytes(frame: Frame) -> impl FnMut() -> Vec<u8> {
    let mut enc = Encoder::new().unwrap();
    move || {
        let i420 = to_i420(black_box(&frame)).unwrap();
        enc.encode_i420(&i420, &settings()).unwrap().bytes
    }
}

fn cases(w: u32, h: u32) -> Vec<Case> {
    let picture = pattern::face(w, h);
    let rgb = picture.as_raw().clone();
    let mut reference = Compressor::new().unwrap();
    reference.set_quality(i32::from(QUALITY)).unwrap();
    reference.set_subsamp(Subsamp::Sub2x2).unwrap();
    let rgb_ref = rgb.clone();
    let mjpeg = sim::pack(&picture, PixelFormat::Mjpeg);
    let yuyv = sim::pack(&picture, PixelFormat::Yuyv);
    let mut mjpeg_enc = Encoder::new().unwrap();
    let mut score_enc = Encoder::new().unwrap();
    let yuyv_for_score = yuyv.clone();
    let picture_for_image = picture.clone();
    // The JPEG the registration would carry: the frame encoded as enrolld does.
    let jpeg_for_body = {
        let mut to_jpeg = frame_to_jpeg_bytes(yuyv.clone());
        to_jpeg()
    };
    vec![
        // The reference must stay first: ratios divide by it.
        case(
            "libjpeg-turbo tjCompress, packed RGB (reference)",
            move || {
                let img = Image {
                    pixels: black_box(&rgb_ref[..]),
                    width: w as usize,
                    pitch: w as usize * 3,
                    height: h as usize,
                    format: TjPixel::RGB,
                };
                reference.compress_to_vec(img).unwrap().len()
            },
        ),
        case(
            "enrolld YUYV -> JPEG (convert + encode)",
            frame_to_jpeg(yuyv),
        ),
        case(
            "enrolld NV12 -> JPEG (convert + encode)",
            frame_to_jpeg(sim::pack(&picture, PixelFormat::Nv12)),
        ),
        case("enrolld MJPEG passthrough check", move || {
            mjpeg_enc
                .pass_mjpeg(black_box(&mjpeg), &settings())
                .unwrap()
                .bytes
                .len()
        }),
        case("enrolld sharpness + luma score (YUYV)", move || {
            let s = score_frame(&mut score_enc, black_box(&yuyv_for_score)).unwrap();
            s.sharpness as usize
        }),
        case(
            "enrolld request body: base64 + JSON of that JPEG",
            move || {
                registration_body(black_box(&jpeg_for_body), "ann", "template-1", "verif-1").len()
            },
        ),
        case("image crate JpegEncoder, packed RGB", move || {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
                .encode(
                    black_box(picture_for_image.as_raw()),
                    w,
                    h,
                    image::ExtendedColorType::Rgb8,
                )
                .unwrap();
            out.len()
        }),
    ]
}

fn main() {
    println!(
        "enrolld encode benchmark: quality {QUALITY}, 4:2:0, median of {ROUNDS} interleaved rounds"
    );
    println!("| frame | case | median ms | ratio to libjpeg-turbo |");
    println!("|---|---|---:|---:|");
    for (w, h) in [(1280, 720), (1920, 1080)] {
        let mut cases = cases(w, h);
        for c in cases.iter_mut() {
            black_box((c.run)()); // warm caches and lazy init
        }
        for _ in 0..ROUNDS {
            for c in cases.iter_mut() {
                let t = Instant::now();
                black_box((c.run)());
                c.samples.push(t.elapsed());
            }
        }
        let reference = median(&mut cases[0].samples).as_secs_f64();
        for c in cases.iter_mut() {
            let m = median(&mut c.samples).as_secs_f64();
            println!(
                "| {w}x{h} | {} | {:.2} | {:.2}x |",
                c.name,
                m * 1000.0,
                m / reference
            );
        }
    }
}
