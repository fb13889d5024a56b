//! Host tool of the real-kernel tests (not part of enrolld): makes the frames the guest's
//! v4l2loopback camera plays (`rk-loopback-feed`), from real photos, at stage time.
//!
//!     rk-loopback-frames <photos-dir> <out-dir>
//!
//! `<photos-dir>` is scikit-image's photos as `.ci/face-assets.sh` fetches them. Written to
//! `<out-dir>`, each 1280x720, what a USB webcam delivers at that size:
//!
//! - `face-1.jpg`, `face-2.jpg`: the astronaut photo (Eileen Collins, one face), enlarged four
//!   times so her face is about 30 % of the frame's width, centred (face-2 shifted by 48x24
//!   pixels, so two different frames carry a face);
//! - `noface-coffee.jpg`, `noface-chelsea.jpg` (a cat), `noface-brick.jpg`: photos without a
//!   person, enlarged to cover the frame and cropped at the centre;
//! - `face-1.yuyv`, `noface-coffee.yuyv`: the same pictures as raw YUYV (4:2:2, full-range
//!   BT.601 as JPEG uses it: enrolld encodes YUYV planes without a range change).
//!
//! The JPEGs are 4:2:2 at quality 85 with their Huffman tables, as UVC cameras' MJPEG is (most
//! cameras leave the tables out; enrolld re-encodes such frames, so these are the ones it
//! passes through byte for byte). Prints one line per file: name, size, bytes.

use std::path::Path;
use std::process::ExitCode;

use image::imageops::{self, FilterType};
use image::{ImageReader, RgbImage};
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const QUALITY: i32 = 85;
/// How much the astronaut photo is enlarged. `enrolld face-check` on astronaut.png (512x512)
/// finds her face at x 178, y 81, 94x94 pixels: four times that is 376 pixels, 29 % of 1280.
const FACE_SCALE: u32 = 4;
/// The face's centre in astronaut.png (the box above).
const FACE_CENTRE: (u32, u32) = (225, 128);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [photos, out] = args.as_slice() else {
        eprintln!("usage: rk-loopback-frames <photos-dir> <out-dir>");
        return ExitCode::from(2);
    };
    match make_all(Path::new(photos), Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rk-loopback-frames: {e}");
            ExitCode::FAILURE
        }
    }
}

fn make_all(photos: &Path, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let astronaut = load(&photos.join("astronaut.png"))?;
    let side = (WIDTH / FACE_SCALE, HEIGHT / FACE_SCALE);
    let centred = (FACE_CENTRE.0 - side.0 / 2, FACE_CENTRE.1 - side.1 / 2);
    let face1 = enlarge(&astronaut, centred, side);
    // The window moves up-left, so the face moves down-right: 12x6 source pixels, 48x24 here.
    let face2 = enlarge(&astronaut, (centred.0 - 12, centred.1 - 6), side);
    let coffee = cover(&load(&photos.join("coffee.png"))?);
    let mut jpeg = Jpeg::new()?;
    for (name, picture) in [
        ("face-1", &face1),
        ("face-2", &face2),
        ("noface-coffee", &coffee),
        (
            "noface-chelsea",
            &cover(&load(&photos.join("chelsea.png"))?),
        ),
        ("noface-brick", &cover(&load(&photos.join("brick.png"))?)),
    ] {
        write(out, &format!("{name}.jpg"), &jpeg.encode(picture)?)?;
    }
    write(out, "face-1.yuyv", &yuyv(&face1))?;
    write(out, "noface-coffee.yuyv", &yuyv(&coffee))?;
    Ok(())
}

fn load(path: &Path) -> Result<RgbImage, String> {
    let picture = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?
        .decode()
        .map_err(|e| format!("cannot decode {}: {e}", path.display()))?;
    Ok(picture.to_rgb8())
}

/// The `size` window at `origin` of the photo, enlarged to the frame.
fn enlarge(photo: &RgbImage, origin: (u32, u32), size: (u32, u32)) -> RgbImage {
    let window = imageops::crop_imm(photo, origin.0, origin.1, size.0, size.1).to_image();
    imageops::resize(&window, WIDTH, HEIGHT, FilterType::CatmullRom)
}

/// The photo enlarged to cover the frame, the middle kept.
fn cover(photo: &RgbImage) -> RgbImage {
    let (w, h) = photo.dimensions();
    // The smallest window of the frame's shape that fits in the photo.
    let (cw, ch) = if w * HEIGHT > h * WIDTH {
        (h * WIDTH / HEIGHT, h)
    } else {
        (w, w * HEIGHT / WIDTH)
    };
    enlarge(photo, ((w - cw) / 2, (h - ch) / 2), (cw, ch))
}

struct Jpeg(Compressor);

impl Jpeg {
    fn new() -> Result<Jpeg, String> {
        let mut c = Compressor::new().map_err(|e| e.to_string())?;
        c.set_quality(QUALITY).map_err(|e| e.to_string())?;
        c.set_subsamp(Subsamp::Sub2x1).map_err(|e| e.to_string())?;
        Ok(Jpeg(c))
    }

    fn encode(&mut self, picture: &RgbImage) -> Result<Vec<u8>, String> {
        let image = Image {
            pixels: picture.as_raw().as_slice(),
            width: picture.width() as usize,
            pitch: picture.width() as usize * 3,
            height: picture.height() as usize,
            format: PixelFormat::RGB,
        };
        self.0.compress_to_vec(image).map_err(|e| e.to_string())
    }
}

/// Packed `Y0 U Y1 V`: each pair of pixels shares the mean of their chroma.
fn yuyv(picture: &RgbImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(picture.as_raw().len() / 3 * 2);
    for pair in picture.as_raw().chunks_exact(6) {
        let (y0, u0, v0) = ycbcr(&pair[..3]);
        let (y1, u1, v1) = ycbcr(&pair[3..]);
        out.extend_from_slice(&[y0, ((u0 + u1) / 2.0).round() as u8]);
        out.extend_from_slice(&[y1, ((v0 + v1) / 2.0).round() as u8]);
    }
    out
}

/// Full-range BT.601 (JFIF): luma as a byte, chroma as floats for averaging.
fn ycbcr(rgb: &[u8]) -> (u8, f32, f32) {
    let [r, g, b] = [rgb[0], rgb[1], rgb[2]].map(f32::from);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    (
        y.round().clamp(0.0, 255.0) as u8,
        cb.clamp(0.0, 255.0),
        cr.clamp(0.0, 255.0),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{name} {WIDTH}x{HEIGHT} {} bytes", bytes.len());
    Ok(())
}
