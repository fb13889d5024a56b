//! The reference the face and screen benchmarks measure against: enrolld's own 1280x720 YUYV
//! -> JPEG (convert + encode at quality 85), the work every press already does.

use std::hint::black_box;

use enrolld::camera::Frame;
use enrolld::camera::convert::to_i420;
use enrolld::camera::encode::{EncodeSettings, Encoder};

/// The row's name.
pub const NAME: &str = "enrolld YUYV -> JPEG (convert + encode, reference)";

/// One encode of `yuyv` per call.
pub fn yuyv_encode(yuyv: Frame) -> impl FnMut() {
    let mut encoder = Encoder::new().unwrap();
    let settings = EncodeSettings {
        quality: 85,
        max_dimension: None,
        max_bytes: 10_000_000,
    };
    move || {
        let i420 = to_i420(black_box(&yuyv)).unwrap();
        black_box(encoder.encode_i420(&i420, &settings).unwrap());
    }
}
