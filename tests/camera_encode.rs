//! JPEG encoding through libjpeg-turbo: 4:2:0 output that decodes, the byte
//! cap loop, the maximum dimension, and the MJPEG passthrough checks.

use enrolld::camera::convert::{I420, to_i420};
use enrolld::camera::encode::{EncodeError, EncodeSettings, Encoder, has_huffman_tables};
use enrolld::camera::{Frame, PixelFormat, pattern, sim};

fn face_frame(format: PixelFormat, w: u32, h: u32) -> Frame {
    sim::pack(&pattern::face(w, h), format)
}

fn face_i420(w: u32, h: u32) -> I420 {
    to_i420(&face_frame(PixelFormat::Yuyv, w, h)).unwrap()
}

fn settings(quality: u8, max_bytes: usize) -> EncodeSettings {
    EncodeSettings {
        quality,
        max_dimension: None,
        max_bytes,
    }
}

fn decoded_size(jpeg: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("the JPEG decodes with an independent decoder");
    (img.width(), img.height())
}

#[test]
fn encodes_420_at_the_configured_quality() {
    let mut enc = Encoder::new().unwrap();
    let jpeg = enc
        .encode_i420(&face_i420(640, 480), &settings(85, 1_500_000))
        .unwrap();
    assert_eq!(jpeg.quality, Some(85));
    assert_eq!(decoded_size(&jpeg.bytes), (640, 480));
    let header = turbojpeg::read_header(&jpeg.bytes).unwrap();
    assert_eq!(header.subsamp, turbojpeg::Subsamp::Sub2x2);
}

#[test]
fn byte_cap_lowers_quality_until_it_fits() {
    let mut enc = Encoder::new().unwrap();
    let img = face_i420(1280, 720);
    let at_85 = enc.compress_i420(&img, 85).unwrap().len();
    let at_45 = enc.compress_i420(&img, 45).unwrap().len();
    assert!(at_45 < at_85);
    let cap = (at_45 + at_85) / 2;
    let jpeg = enc.encode_i420(&img, &settings(85, cap)).unwrap();
    assert!(jpeg.bytes.len() <= cap, "{} > {cap}", jpeg.bytes.len());
    let q = jpeg.quality.unwrap();
    assert!((45..85).contains(&q), "quality {q}");
    assert_eq!(decoded_size(&jpeg.bytes), (1280, 720));
}

#[test]
fn byte_cap_that_cannot_be_met_fails_naming_cap_and_smallest() {
    let mut enc = Encoder::new().unwrap();
    let img = face_i420(1280, 720);
    let smallest = enc.compress_i420(&img, 20).unwrap().len();
    let cap = smallest / 2;
    match enc.encode_i420(&img, &settings(85, cap)) {
        Err(e @ EncodeError::TooLarge { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&cap.to_string()), "{text}");
            assert!(text.contains(&smallest.to_string()), "{text}");
            assert!(text.contains("quality 20"), "{text}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn max_dimension_downscales_keeping_the_aspect() {
    let mut enc = Encoder::new().unwrap();
    let s = EncodeSettings {
        quality: 85,
        max_dimension: Some(640),
        max_bytes: 1_500_000,
    };
    let jpeg = enc.encode_i420(&face_i420(1280, 720), &s).unwrap();
    assert_eq!((jpeg.width, jpeg.height), (640, 360));
    assert_eq!(decoded_size(&jpeg.bytes), (640, 360));
}

#[test]
fn good_mjpeg_passes_through_unchanged() {
    let mut enc = Encoder::new().unwrap();
    let frame = face_frame(PixelFormat::Mjpeg, 640, 480);
    let jpeg = enc.pass_mjpeg(&frame, &settings(85, 1_500_000)).unwrap();
    assert_eq!(jpeg.quality, None);
    assert!(
        jpeg.bytes == frame.data,
        "passthrough must not touch the bytes"
    );
}

/// Damages a good MJPEG frame and checks the passthrough refuses it.
fn assert_refused_as_corrupt(damage: impl FnOnce(&mut Vec<u8>)) {
    let mut enc = Encoder::new().unwrap();
    let mut frame = face_frame(PixelFormat::Mjpeg, 640, 480);
    damage(&mut frame.data);
    let e = enc
        .pass_mjpeg(&frame, &settings(85, 1_500_000))
        .unwrap_err();
    assert!(matches!(e, EncodeError::CorruptMjpeg(_)), "{e:?}");
}

#[test]
fn truncated_mjpeg_is_refused() {
    assert_refused_as_corrupt(|d| d.truncate(d.len() * 2 / 3));
}

#[test]
fn garbage_mjpeg_is_refused() {
    assert_refused_as_corrupt(|d| *d = vec![0x5A; 50_000]);
}

#[test]
fn mjpeg_of_another_size_is_refused() {
    let mut enc = Encoder::new().unwrap();
    let mut frame = face_frame(PixelFormat::Mjpeg, 640, 480);
    frame.width = 1280;
    frame.height = 720;
    let e = enc
        .pass_mjpeg(&frame, &settings(85, 1_500_000))
        .unwrap_err();
    assert!(e.to_string().contains("640x480"), "{e}");
    assert!(e.to_string().contains("1280x720"), "{e}");
}

/// Removes the DHT segments, as many UVC cameras send MJPEG.
fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut i = 2;
    while jpeg[i + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if jpeg[i + 1] != 0xC4 {
            out.extend_from_slice(&jpeg[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&jpeg[i..]);
    out
}

#[test]
fn mjpeg_without_huffman_tables_is_reencoded_with_them() {
    let mut enc = Encoder::new().unwrap();
    let mut frame = face_frame(PixelFormat::Mjpeg, 640, 480);
    assert!(has_huffman_tables(&frame.data));
    frame.data = strip_huffman_tables(&frame.data);
    assert!(!has_huffman_tables(&frame.data));
    let jpeg = enc.pass_mjpeg(&frame, &settings(85, 1_500_000)).unwrap();
    assert_eq!(jpeg.quality, Some(85));
    assert!(has_huffman_tables(&jpeg.bytes));
    assert_eq!(decoded_size(&jpeg.bytes), (640, 480));
}

#[test]
fn mjpeg_over_the_cap_is_reencoded_under_it() {
    let mut enc = Encoder::new().unwrap();
    let frame = face_frame(PixelFormat::Mjpeg, 1280, 720);
    let cap = frame.data.len() / 2;
    let jpeg = enc.pass_mjpeg(&frame, &settings(85, cap)).unwrap();
    assert!(jpeg.bytes.len() <= cap);
    assert!(jpeg.quality.is_some());
}
