//! The installer's face tools as real processes: `enrolld face-check --image` prints the
//! decision, the reason and the face's box and exits 0 (passed) or 65 (refused); `--annotate`
//! writes the picture with the box drawn; `enrolld capture --check-face` through a simulated
//! camera prints each frame's decision and saves only a passing frame.
#![cfg(feature = "face")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use enrolld::demo::scene::{self, ASTRONAUT_FACE, Placement};

fn enrolld(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .args(args)
        .output()
        .unwrap()
}

fn scene_png(dir: &Path, face: bool) -> PathBuf {
    let img = if face {
        let photo = scene::load_photo("astronaut.png").unwrap();
        scene::frame(&photo, ASTRONAUT_FACE, 1280, 720, Placement::well_placed())
    } else {
        let photo = scene::load_photo("coffee.png").unwrap();
        image::imageops::resize(&photo, 1280, 720, image::imageops::FilterType::Triangle)
    };
    let path = dir.join(if face { "face.png" } else { "coffee.png" });
    img.save(&path).unwrap();
    path
}

/// `enrolld face-check --image IMAGE [extra...]`, with no configuration file (the defaults).
fn face_check(dir: &Path, image: &Path, extra: &[&std::ffi::OsStr]) -> Output {
    let none = dir.join("none.toml");
    let mut args = vec![
        "--config".as_ref(),
        none.as_os_str(),
        "face-check".as_ref(),
        "--image".as_ref(),
        image.as_os_str(),
    ];
    args.extend_from_slice(extra);
    enrolld(&args)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn face_check_passes_a_face_and_draws_it() {
    let dir = tempfile::tempdir().unwrap();
    let image = scene_png(dir.path(), true);
    let annotated = dir.path().join("annotated.jpg");
    let out = face_check(
        dir.path(),
        &image,
        &["--annotate".as_ref(), annotated.as_os_str()],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for needle in [
        "decision: passed",
        "face: score",
        "px",
        "pose: tilt",
        "sharpness",
    ] {
        assert!(all.contains(needle), "missing {needle:?}: {all}");
    }
    let drawn = image::open(&annotated).unwrap().to_rgb8();
    assert_eq!((drawn.width(), drawn.height()), (1280, 720));
    // The passing face's box is drawn in green around the middle of the picture.
    let greenish = (400..880)
        .flat_map(|x| (60..660).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = drawn.get_pixel(x, y).0;
            p[1] > 180 && p[0] < 110 && p[2] < 120
        })
        .count();
    assert!(greenish > 500, "no box drawn ({greenish} green pixels)");
}

#[test]
fn face_check_refuses_a_picture_without_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let image = scene_png(dir.path(), false);
    let out = face_check(dir.path(), &image, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(65), "{all}");
    assert!(all.contains("decision: refused: no_face"), "{all}");
}

fn capture_config(dir: &Path, image: &Path) -> PathBuf {
    let path = dir.join("enrolld.toml");
    let text = format!(
        "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"1\"\n\n\
         [camera]\nsource = \"simulated\"\nwidth = 1280\nheight = 720\nformat = \"mjpeg\"\n\
         simulated_image = \"{}\"\n\n[face]\ndeadline_ms = 700\n",
        image.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn capture_check_face_saves_only_a_passing_frame() {
    let dir = tempfile::tempdir().unwrap();
    for face in [true, false] {
        let image = scene_png(dir.path(), face);
        let config = capture_config(dir.path(), &image);
        let shot = dir.path().join(format!("shot-{face}.jpg"));
        let drawn = dir.path().join(format!("drawn-{face}.jpg"));
        let out = enrolld(&[
            "--config".as_ref(),
            config.as_os_str(),
            "capture".as_ref(),
            "--out".as_ref(),
            shot.as_os_str(),
            "--check-face".as_ref(),
            "--annotate".as_ref(),
            drawn.as_os_str(),
        ]);
        let all = text(&out);
        assert!(all.contains("frame 1: "), "{all}");
        assert!(drawn.exists(), "{all}");
        if face {
            assert_eq!(out.status.code(), Some(0), "{all}");
            assert!(all.contains("frame 1: passed"), "{all}");
            let img = image::open(&shot).unwrap();
            assert_eq!((img.width(), img.height()), (1280, 720));
        } else {
            assert_eq!(out.status.code(), Some(65), "{all}");
            assert!(all.contains("refused: no_face"), "{all}");
            assert!(!shot.exists(), "a frame without a face was saved");
        }
    }
}
