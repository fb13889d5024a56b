//! Frame choice on real pictures: sharpness ranks a blurred copy below the
//! original in every format; exposure bounds reject dark and bright frames.

use enrolld::camera::choose::{Retake, choose};
use enrolld::camera::encode::Encoder;
use enrolld::camera::pipeline::score_frame;
use enrolld::camera::{PixelFormat, pattern, sim};

const FORMATS: [PixelFormat; 4] = [
    PixelFormat::Yuyv,
    PixelFormat::Nv12,
    PixelFormat::Rgb24,
    PixelFormat::Mjpeg,
];

#[test]
fn blurred_copy_scores_below_the_original_in_every_format() {
    let original = pattern::face(1280, 720);
    let mut enc = Encoder::new().unwrap();
    for sigma in [1.0, 3.0] {
        let blurred = image::imageops::blur(&original, sigma);
        for format in FORMATS {
            let sharp = score_frame(&mut enc, &sim::pack(&original, format)).unwrap();
            let soft = score_frame(&mut enc, &sim::pack(&blurred, format)).unwrap();
            assert!(
                soft.sharpness < sharp.sharpness * 0.8,
                "{format} sigma {sigma}: blurred {} vs original {}",
                soft.sharpness,
                sharp.sharpness
            );
            // Blur keeps the exposure.
            assert!((soft.luma - sharp.luma).abs() < 2.0, "{format}");
        }
    }
}

#[test]
fn sharpest_frame_of_a_burst_is_chosen() {
    let original = pattern::face(640, 480);
    let mut enc = Encoder::new().unwrap();
    let burst = [
        image::imageops::blur(&original, 2.0),
        original.clone(),
        image::imageops::blur(&original, 0.8),
    ];
    let scores: Vec<_> = burst
        .iter()
        .map(|p| score_frame(&mut enc, &sim::pack(p, PixelFormat::Yuyv)).ok())
        .collect();
    assert_eq!(choose(&scores, 40, 220), Some(Ok(1)));
}

#[test]
fn dark_and_bright_frames_are_rejected() {
    let original = pattern::face(640, 480);
    let mut dark = original.clone();
    dark.pixels_mut().for_each(|p| p.0 = p.0.map(|c| c / 8));
    let mut bright = original.clone();
    bright
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|c| 235 + c / 13));
    let mut enc = Encoder::new().unwrap();
    let score = |p: &image::RgbImage, enc: &mut Encoder| {
        score_frame(enc, &sim::pack(p, PixelFormat::Nv12)).ok()
    };
    let (d, b, n) = (
        score(&dark, &mut enc),
        score(&bright, &mut enc),
        score(&original, &mut enc),
    );
    assert_eq!(choose(&[d, d], 40, 220), Some(Err(Retake::TooDark)));
    assert_eq!(choose(&[b, b, d], 40, 220), Some(Err(Retake::TooBright)));
    // The one well-exposed frame is chosen, wherever it is in the burst.
    assert_eq!(choose(&[d, n, b], 40, 220), Some(Ok(1)));
}

#[test]
fn corrupt_mjpeg_frame_is_unreadable_not_chosen() {
    let mut enc = Encoder::new().unwrap();
    let mut frame = sim::pack(&pattern::face(320, 240), PixelFormat::Mjpeg);
    frame.data.truncate(frame.data.len() / 2);
    assert!(score_frame(&mut enc, &frame).is_err());
}
