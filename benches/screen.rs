//! Screen benchmark: what composing one screen from a camera frame costs (the mirror scaled,
//! mirrored and turned, the guide, the prompt, the countdown), against enrolld's own 1280x720
//! YUYV -> JPEG encode measured in the same run. Ratios are the result; absolute times only
//! describe this machine.
//!
//! Rows, each from a 1280x720 YUYV frame (or MJPEG, as many USB cameras send):
//! - a new frame of the same scene (what the live mirror does many times a second: the chrome
//!   layer is kept, only the mirror, the blend and the turn are new);
//! - a new scene (the countdown ticked, the prompt changed: the chrome is drawn again);
//! - the same on a portrait 480x800 panel, an 800x480 panel turned on its side, 1080p;
//! - writing the screen as PNG (the demo's file).
//!
//! Goal (issue 28): composing one 800x480 screen from a 1280x720 YUYV frame at most 0.5x the
//! encode. Run: `cargo bench --bench screen` (release profile; needs fonts-dejavu-core).

#[path = "common/reference.rs"]
mod reference;
#[path = "common/rounds.rs"]
mod rounds;

use std::hint::black_box;
use std::path::Path;

use enrolld::camera::{Frame, PixelFormat, pattern, sim};
use enrolld::prompt::PromptKey;
use enrolld::screen::{DEFAULT_FONT, Font, Picture, Renderer, Rotation, Scene, Size, Texts, View};
use rounds::{measure, medians, row};

const ROUNDS: usize = 60;

fn renderer() -> Renderer {
    let font = Font::load(Path::new(DEFAULT_FONT)).unwrap_or_else(|e| panic!("{e}"));
    Renderer::new(font, Texts::default())
}

fn live(size: Size, rotation: Rotation, seconds: u32) -> Scene {
    Scene {
        view: View::Mirror,
        prompt: Some(PromptKey::StepCloser),
        countdown: Some(seconds),
        ..Scene::blank(size, rotation, "capturing")
    }
}

/// Composes `scene` from `frame` over and over; with `tick`, the countdown changes each time
/// (so the chrome is drawn again).
fn compose(size: Size, rotation: Rotation, frame: Frame, tick: bool) -> impl FnMut() {
    let mut r = renderer();
    let mut out = Picture::black(size);
    let mut n = 0u32;
    move || {
        n += 1;
        let seconds = if tick { n % 10 } else { 3 };
        r.render_into(
            &live(size, rotation, seconds),
            Some(black_box(&frame)),
            &mut out,
        );
        black_box(&out);
    }
}

fn main() {
    let picture = pattern::face(1280, 720);
    let yuyv = sim::pack(&picture, PixelFormat::Yuyv);
    let mjpeg = sim::pack(&picture, PixelFormat::Mjpeg);
    let landscape = Size::new(800, 480);

    let shown = renderer().render(&live(landscape, Rotation::R0, 3), Some(&yuyv));
    let portrait = Size::new(480, 800);
    let hd = Size::new(1920, 1080);
    let mut rows = vec![
        // The reference must stay first: ratios divide by it.
        row(reference::NAME, reference::yuyv_encode(yuyv.clone())),
        row(
            "800x480 from YUYV, a new frame (the live mirror)",
            compose(landscape, Rotation::R0, yuyv.clone(), false),
        ),
        row(
            "800x480 from YUYV, a new scene (chrome drawn again)",
            compose(landscape, Rotation::R0, yuyv.clone(), true),
        ),
        row(
            "800x480 from MJPEG, a new frame",
            compose(landscape, Rotation::R0, mjpeg, false),
        ),
        row(
            "480x800 portrait from YUYV, a new frame",
            compose(portrait, Rotation::R0, yuyv.clone(), false),
        ),
        row(
            "800x480 turned 90 from YUYV, a new frame",
            compose(landscape, Rotation::R90, yuyv.clone(), false),
        ),
        row(
            "1920x1080 from YUYV, a new frame",
            compose(hd, Rotation::R0, yuyv, false),
        ),
        row("800x480 screen to PNG (the demo's file)", move || {
            let mut png = Vec::new();
            shown.write_png(&mut png).unwrap();
            black_box(png);
        }),
    ];

    measure(&mut rows, ROUNDS);
    println!(
        "enrolld screen benchmark: from a 1280x720 frame, median of {ROUNDS} interleaved rounds"
    );
    println!("| case | median ms | ratio to the YUYV encode |");
    println!("|---|---:|---:|");
    for (name, ms, ratio) in medians(&mut rows) {
        println!("| {name} | {ms:.2} | {ratio:.2}x |");
    }
    println!("goal: an 800x480 screen from YUYV (a new frame) at most 0.50x the encode");
}
