//! Every screen a person (or an installer) can see, rendered and compared pixel for pixel with
//! the reference pictures in tests/screen/golden/: every prompt, the countdown, the arrows,
//! each outcome, the setup view, in landscape (800x480), portrait (480x800), a panel turned
//! on its side and a 1080p monitor.
//!
//! A reference is missing or differs: the test fails and writes what it rendered to
//! target/screen-golden/actual/ beside it. After a deliberate change, look at the new
//! pictures, then regenerate the references:
//!
//! ```sh
//! ENROLLD_BLESS_SCREENS=1 cargo test --test screen_golden
//! ```
//!
//! The camera picture is a smooth drawn person (not a photo, so the references stay small),
//! as YUYV, the format most USB cameras send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use enrolld::camera::sim::pack;
use enrolld::camera::{Frame, PixelFormat};
use enrolld::face::detection::{Landmarks, Point};
use enrolld::face::{Detection, Rect, Refusal};
use enrolld::prompt::PromptKey;
use enrolld::screen::{
    Arrow, DEFAULT_FONT, Font, Outcome, Picture, Renderer, Rotation, Scene, Setup, Size, Texts,
    View,
};
use image::{Rgb, RgbImage};

const BLESS: &str = "ENROLLD_BLESS_SCREENS";
/// The reference of the test with a site's long text (checked by that test).
const LONG_TEXT: &str = "long-text-landscape-step_closer";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screen/golden")
}

fn actual_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screen-golden/actual")
}

fn renderer(texts: Texts) -> Renderer {
    let font = Font::load(Path::new(DEFAULT_FONT)).unwrap_or_else(|e| panic!("{e}"));
    Renderer::new(font, texts)
}

/// A person facing the camera, drawn smoothly: a wall, shoulders, a head with hair, eyes and
/// a mouth, the face centred at (`cx`, `cy`) and `width` wide (fractions of the frame).
fn person(cx: f32, cy: f32, width: f32) -> Frame {
    // Drawn once per place for all the tests (an unoptimised build takes most of a second).
    static DRAWN: Mutex<Vec<([u32; 3], Frame)>> = Mutex::new(Vec::new());
    let key = [cx, cy, width].map(f32::to_bits);
    let mut drawn = DRAWN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, f)) = drawn.iter().find(|(k, _)| *k == key) {
        return f.clone();
    }
    let frame = draw_person(cx, cy, width);
    drawn.push((key, frame.clone()));
    frame
}

fn draw_person(cx: f32, cy: f32, width: f32) -> Frame {
    let (w, h) = (1280u32, 720u32);
    let (fw, fh) = (w as f32, h as f32);
    let (hx, hy) = (cx * fw, cy * fh);
    let (rx, ry) = (width * fw / 2.0, width * fw * 0.65);
    let img = RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let inside = |ex: f32, ey: f32, ax: f32, ay: f32| {
            let (dx, dy) = ((x - ex) / ax, (y - ey) / ay);
            dx * dx + dy * dy <= 1.0
        };
        let wall = 150.0 - 40.0 * y / fh;
        let mut px = [wall * 0.86, wall * 0.9, wall];
        if inside(hx, hy + 2.6 * ry, 2.6 * rx, 1.7 * ry) {
            px = [52.0, 70.0, 98.0]; // shoulders
        }
        if inside(hx, hy + 0.9 * ry, 0.45 * rx, 0.6 * ry) {
            px = [196.0, 150.0, 120.0]; // neck
        }
        if inside(hx, hy - 0.12 * ry, 1.08 * rx, 1.1 * ry) {
            px = [70.0, 48.0, 34.0]; // hair
        }
        if inside(hx, hy + 0.06 * ry, rx, ry) && y >= hy - 0.55 * ry {
            px = [214.0, 170.0, 138.0]; // face
            for ex in [-0.38, 0.38] {
                if inside(hx + ex * rx, hy - 0.1 * ry, 0.13 * rx, 0.08 * ry) {
                    px = [40.0, 36.0, 34.0];
                }
            }
            if inside(hx, hy + 0.5 * ry, 0.32 * rx, 0.07 * ry) {
                px = [150.0, 80.0, 80.0];
            }
        }
        Rgb(px.map(|c| c as u8))
    });
    pack(&img, PixelFormat::Yuyv)
}

/// The detector's view of [`person`] at the same place.
fn detection(cx: f32, cy: f32, width: f32, score: f32) -> Detection {
    let height = width * 1280.0 / 720.0 * 1.1;
    let p = |dx: f32, dy: f32| Point {
        x: cx + dx * width,
        y: cy + dy * height,
    };
    Detection {
        score,
        bounds: Rect {
            left: cx - width / 2.0,
            top: cy - height / 2.0 + 0.04,
            width,
            height,
        },
        landmarks: Landmarks {
            right_eye: p(-0.19, -0.05),
            left_eye: p(0.19, -0.05),
            nose: p(0.0, 0.1),
            mouth: p(0.0, 0.24),
            right_ear: p(-0.48, 0.0),
            left_ear: p(0.48, 0.0),
        },
    }
}

struct Case {
    scene: Scene,
    frame: Option<Frame>,
}

fn scene(size: Size, rotation: Rotation, state: &'static str, view: View) -> Scene {
    Scene {
        view,
        ..Scene::blank(size, rotation, state)
    }
}

/// Every screen of one panel, by name.
fn screens(size: Size, rotation: Rotation) -> BTreeMap<String, Case> {
    let mut cases = BTreeMap::new();
    let mut add = |name: String, scene: Scene, frame: Option<Frame>| {
        cases.insert(name, Case { scene, frame });
    };
    let centred = || Some(person(0.5, 0.45, 0.22));
    for prompt in [PromptKey::PressButton, PromptKey::StepUp] {
        let s = Scene {
            prompt: Some(prompt),
            ..scene(size, rotation, "idle", View::Idle)
        };
        add(format!("idle-{}", prompt.key()), s, None);
    }
    let live = [
        (PromptKey::LookAtScreen, None),
        (PromptKey::OnePerson, centred()),
        (PromptKey::StepCloser, Some(person(0.5, 0.45, 0.11))),
        (PromptKey::StepBack, Some(person(0.5, 0.5, 0.5))),
        (PromptKey::HeadStraight, centred()),
        (PromptKey::LookAtCamera, centred()),
        (PromptKey::TooDark, centred()),
        (PromptKey::TooBright, centred()),
        (PromptKey::CameraProblem, None),
    ];
    for (i, (prompt, frame)) in live.into_iter().enumerate() {
        let s = Scene {
            prompt: Some(prompt),
            countdown: Some(3 - (i % 3) as u32),
            ..scene(size, rotation, "capturing", View::Mirror)
        };
        add(format!("mirror-{}", prompt.key()), s, frame);
    }
    let hold = Scene {
        prompt: Some(PromptKey::HoldStill),
        countdown: Some(2),
        progress: Some(60),
        ..scene(size, rotation, "capturing", View::Mirror)
    };
    add("mirror-hold_still".into(), hold, centred());
    let blurred = Scene {
        prompt: Some(PromptKey::HoldStill),
        countdown: Some(1),
        ..scene(size, rotation, "capturing", View::Mirror)
    };
    add("mirror-hold_still-blurred".into(), blurred, centred());
    let first = Scene {
        prompt: Some(PromptKey::LookAtScreen),
        countdown: Some(3),
        ..scene(size, rotation, "capturing", View::Mirror)
    };
    add("mirror-before_the_first_frame".into(), first, None);
    for (arrow, (x, y)) in [
        (Arrow::Left, (0.2, 0.45)),
        (Arrow::Right, (0.8, 0.45)),
        (Arrow::Up, (0.5, 0.85)),
        (Arrow::Down, (0.5, 0.12)),
    ] {
        let s = Scene {
            prompt: Some(PromptKey::MoveIntoGuide),
            arrow: Some(arrow),
            countdown: Some(2),
            ..scene(size, rotation, "capturing", View::Mirror)
        };
        add(
            format!("mirror-move_into_guide-{}", arrow.name()),
            s,
            Some(person(x, y, 0.2)),
        );
    }
    let named = Scene {
        prompt: Some(PromptKey::StepCloser),
        countdown: Some(3),
        name: Some("Ann Lee".into()),
        ..scene(size, rotation, "capturing", View::Mirror)
    };
    add(
        "mirror-with_name".into(),
        named,
        Some(person(0.5, 0.45, 0.11)),
    );
    let sending = Scene {
        prompt: Some(PromptKey::Sending),
        ..scene(size, rotation, "submitting", View::Sending)
    };
    add("sending".into(), sending.clone(), centred());
    add("sending-without_picture".into(), sending, None);
    let result = |state, outcome, prompt| Scene {
        prompt: Some(prompt),
        ..scene(size, rotation, state, View::Result(outcome))
    };
    let mut registered = result("registered", Outcome::Registered, PromptKey::Registered);
    add("result-registered".into(), registered.clone(), centred());
    registered.name = Some("Ann Lee".into());
    add("result-registered-with_name".into(), registered, centred());
    add(
        "result-see_reception".into(),
        result("registered", Outcome::Registered, PromptKey::SeeReception),
        None,
    );
    let mut again = result("retake", Outcome::TryAgain, PromptKey::TryAgain);
    again.reason = Some(PromptKey::StepCloser);
    add("result-try_again-step_closer".into(), again, None);
    add(
        "result-try_again".into(),
        result("failed", Outcome::TryAgain, PromptKey::TryAgain),
        None,
    );
    add(
        "result-queued".into(),
        result("queued", Outcome::Queued, PromptKey::Queued),
        centred(),
    );
    add(
        "result-not_now".into(),
        result("refused", Outcome::NotNow, PromptKey::NotNow),
        None,
    );
    add(
        "result-out_of_order".into(),
        result("fault", Outcome::OutOfOrder, PromptKey::OutOfOrder),
        None,
    );
    let setup = Scene {
        prompt: Some(PromptKey::OnePerson),
        setup: Some(Setup {
            faces: vec![
                detection(0.3, 0.45, 0.2, 0.93),
                detection(0.78, 0.5, 0.12, 0.64),
            ],
            passed: false,
            reason: Some(Refusal::SeveralFaces),
            margin: 0.15,
            fps: Some(9.8),
            frame: Some("1280x720 YUYV".into()),
            check_off: false,
        }),
        ..scene(size, rotation, "idle", View::Setup)
    };
    add("setup".into(), setup, Some(person(0.3, 0.45, 0.2)));
    let passing = Scene {
        prompt: Some(PromptKey::HoldStill),
        setup: Some(Setup {
            faces: vec![detection(0.5, 0.45, 0.22, 0.97)],
            passed: true,
            margin: 0.15,
            fps: Some(10.0),
            frame: Some("1280x720 YUYV".into()),
            ..Setup::default()
        }),
        ..scene(size, rotation, "idle", View::Setup)
    };
    add("setup-passing".into(), passing, centred());
    cases
}

/// The panels and the screens each is checked with (the extra panels with a few).
fn all_cases() -> BTreeMap<String, Case> {
    let mut all = BTreeMap::new();
    for (panel, size) in [
        ("landscape", Size::new(800, 480)),
        ("portrait", Size::new(480, 800)),
    ] {
        for (name, case) in screens(size, Rotation::R0) {
            all.insert(format!("{panel}-{name}"), case);
        }
    }
    let extras = [
        ("turned90", Size::new(800, 480), Rotation::R90),
        ("turned270", Size::new(800, 480), Rotation::R270),
        ("1080p", Size::new(1920, 1080), Rotation::R0),
    ];
    for (panel, size, rotation) in extras {
        let mut screens = screens(size, rotation);
        for name in [
            "idle-press_button",
            "mirror-move_into_guide-left",
            "result-registered-with_name",
        ] {
            let case = screens.remove(name).expect("a known screen");
            all.insert(format!("{panel}-{name}"), case);
        }
    }
    all
}

fn check(name: &str, picture: &Picture, failures: &mut Vec<String>) {
    let golden = golden_dir().join(format!("{name}.png"));
    let mut png = Vec::new();
    picture
        .write_png_compressed(&mut png, png::Compression::High)
        .unwrap();
    if std::env::var_os(BLESS).is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&golden, &png).unwrap();
        return;
    }
    let verdict = match std::fs::read(&golden) {
        Ok(bytes) => match Picture::read_png(&bytes) {
            Ok(expected) => match picture.differing_pixels(&expected) {
                0 => return,
                n => format!("{n} pixels differ"),
            },
            Err(e) => format!("unreadable reference ({e})"),
        },
        Err(e) => format!("no reference ({e})"),
    };
    std::fs::create_dir_all(actual_dir()).unwrap();
    std::fs::write(actual_dir().join(format!("{name}.png")), &png).unwrap();
    failures.push(format!("{name}: {verdict}"));
}

#[test]
fn every_screen_matches_its_reference_picture() {
    let mut r = renderer(Texts::default());
    let mut failures = Vec::new();
    let cases = all_cases();
    for (name, case) in &cases {
        let picture = r.render(&case.scene, case.frame.as_ref());
        check(name, &picture, &mut failures);
    }
    // Every reference is one of the screens (none left behind by a renamed case).
    let names: Vec<String> = std::fs::read_dir(golden_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for file in names {
        let stem = file.trim_end_matches(".png");
        if !cases.contains_key(stem) && stem != LONG_TEXT {
            failures.push(format!("{file}: a reference no screen matches"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} screens differ from tests/screen/golden (what was rendered is in {}; if \
         the change is meant, look at it, then {BLESS}=1 cargo test --test screen_golden):\n{}",
        failures.len(),
        cases.len(),
        actual_dir().display(),
        failures.join("\n")
    );
}

#[test]
fn the_comparison_sees_a_different_prompt_and_a_single_pixel() {
    let mut r = renderer(Texts::default());
    let cases = all_cases();
    let one = &cases["landscape-mirror-one_person"];
    let other = Scene {
        prompt: Some(PromptKey::LookAtCamera),
        ..one.scene.clone()
    };
    let reference = r.render(&one.scene, one.frame.as_ref());
    let changed = r.render(&other, one.frame.as_ref());
    assert!(changed.differing_pixels(&reference) > 100);
    let mut nudged = reference.clone();
    nudged.pixels[1234] ^= 1;
    assert_eq!(nudged.differing_pixels(&reference), 1);
}

#[test]
fn kept_layers_give_the_same_pixels_as_a_fresh_renderer() {
    let cases = all_cases();
    let mut kept = renderer(Texts::default());
    let a = &cases["portrait-mirror-step_closer"];
    let b = &cases["portrait-mirror-hold_still"];
    // The same scene with a new frame reuses the chrome; another scene redraws it.
    let _ = kept.render(&a.scene, a.frame.as_ref());
    let reused = kept.render(&a.scene, b.frame.as_ref());
    let fresh = renderer(Texts::default()).render(&a.scene, b.frame.as_ref());
    assert_eq!(reused.differing_pixels(&fresh), 0);
    let _ = kept.render(&b.scene, b.frame.as_ref());
    kept.trim();
    let again = kept.render(&a.scene, a.frame.as_ref());
    let fresh = renderer(Texts::default()).render(&a.scene, a.frame.as_ref());
    assert_eq!(again.differing_pixels(&fresh), 0);
}

#[test]
fn a_site_text_too_long_for_the_banner_is_shrunk_then_cut_with_an_ellipsis() {
    let own = BTreeMap::from([(
        "step_closer".to_owned(),
        "Bitte treten Sie etwas näher an den Bildschirm heran, damit die Kamera Ihr Gesicht \
         vollständig und deutlich erkennen kann"
            .to_owned(),
    )]);
    let mut r = renderer(Texts::new(&own).unwrap());
    let cases = all_cases();
    let case = &cases["landscape-mirror-step_closer"];
    let picture = r.render(&case.scene, case.frame.as_ref());
    let mut failures = Vec::new();
    check(LONG_TEXT, &picture, &mut failures);
    // Its reference is checked here, not in the list of screens.
    assert!(failures.is_empty(), "{failures:?}");
}
