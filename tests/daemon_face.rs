//! The face check in the whole daemon, as a process: a press in front of a camera that sees
//! no face sends nothing to IDMeta (no request of any kind: no create-verification, no
//! registration, no finalize; nothing in the queue), ends as a retake
//! with the reason in the status file and the journal's fields, and leaves the ticket first in
//! line; a press with one well-placed face registers once, and what was sent shows the face;
//! with `face.crop` only the face and its margin leave. The camera is the simulated one
//! showing a packaged photo placed as a terminal's camera frames a person.
#![cfg(feature = "face")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::{Daemon, Harness, Knobs, wait_for};
use enrolld::camera::PixelFormat;
use enrolld::camera::sim::pack;
use enrolld::demo::scene::{self, ASTRONAUT_FACE, Placement};
use enrolld::face::{FaceCheck, FaceConfig};
use enrolld_standin::Behaviour;

/// The harness's camera size.
const W: u32 = 640;
const H: u32 = 480;

fn picture(dir: &Path, name: &str, face: bool) -> PathBuf {
    let img = if face {
        let photo = scene::load_photo("astronaut.png").unwrap();
        scene::frame(&photo, ASTRONAUT_FACE, W, H, Placement::well_placed())
    } else {
        let photo = scene::load_photo("coffee.png").unwrap();
        image::imageops::resize(&photo, W, H, image::imageops::FilterType::Triangle)
    };
    let path = dir.join(name);
    img.save(&path).unwrap();
    path
}

/// The face check on, looking for `deadline_ms`, plus `face` lines.
fn knobs(image: PathBuf, deadline_ms: u64, face: &str) -> Knobs {
    Knobs {
        face_extra: format!("enabled = true\ndeadline_ms = {deadline_ms}\n{face}"),
        paths: vec![("camera", "simulated_image", image)],
        ..Knobs::default()
    }
}

/// A daemon whose camera shows a person (`face`) or a photo without one, looking for
/// `deadline_ms`, with `extra` `[face]` lines.
fn started(face: bool, deadline_ms: u64, extra: &str) -> (Harness, Daemon) {
    let mut h = Harness::new(Behaviour::Ok);
    let shown = picture(h.dir.path(), "shown.png", face);
    h.write_config(&knobs(shown, deadline_ms, extra));
    let d = h.start();
    (h, d)
}

#[test]
fn no_face_sends_nothing_and_asks_for_a_retake_naming_the_reason() {
    let (h, d) = started(false, 1500, "");
    h.enroll("ann");
    d.trigger().unwrap();
    let status = d.wait_counter("retake", 1, Duration::from_secs(20));

    assert_eq!(h.registrations().len(), 0, "nothing may reach IDMeta");
    let face = &status["face"];
    assert_eq!(face["refused"]["no_face"], 1, "{status}");
    assert_eq!(face["last_reason"], "no_face", "{status}");
    assert!(face["frames_checked"].as_u64().unwrap() >= 3, "{status}");
    assert_eq!(status["last_outcome"]["code"], "retake");
    // The ticket goes back first in line and its record goes: the store does that on its
    // own thread after the outcome is reported, so wait for it rather than race it.
    let records_left = || -> Vec<String> {
        std::fs::read_dir(h.queue_dir())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bound") || n.ends_with(".entry") || n.ends_with(".sending"))
            .collect()
    };
    let settled = wait_for(Duration::from_secs(10), || {
        records_left().is_empty().then_some(())
    });
    assert!(settled.is_some(), "records left: {:?}", records_left());
    assert_eq!(h.pending_tickets(), vec!["ann".to_owned()]);
    // The journal's fields are the log line's key=value pairs on stderr.
    let stderr = d.stderr();
    assert!(
        stderr.contains("enrolld_face_reason=no_face"),
        "no face reason in the log: {stderr}"
    );
}

/// Without a ticket the terminal makes its own verification, but only once a frame passed: a
/// press whose frames all fail the check reaches IDMeta with nothing at all, however often.
#[test]
fn presses_without_a_face_make_no_request_of_any_kind() {
    let (h, d) = started(false, 1000, "");
    for n in 1..=2 {
        d.press_until("retake", n);
        d.wait_status("state idle", Duration::from_secs(10), |s| {
            s["state"] == "idle"
        });
    }
    assert_eq!(
        h.requests(),
        0,
        "requests reached IDMeta: {:?}",
        h.standin
            .records()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
    d.terminate(Duration::from_secs(15));
}

#[test]
fn one_face_registers_once_and_what_is_sent_shows_it() {
    let (h, d) = started(true, 1500, "");
    d.press_until("registered", 1);
    let regs = h.registrations();
    assert_eq!(regs.len(), 1, "{regs:?}");
    // Its verification was created once the face passed, and only that one.
    assert_eq!(h.verifications_created(), 1);
    assert_eq!(h.requests(), 2);
    let jpeg = regs[0].jpeg.as_ref().expect("a JPEG");
    let sent = image::load_from_memory(jpeg).unwrap().to_rgb8();
    assert_eq!((sent.width(), sent.height()), (W, H));
    let mut check = FaceCheck::load(&FaceConfig {
        enabled: true,
        ..FaceConfig::default()
    })
    .unwrap();
    let report = check.check(&pack(&sent, PixelFormat::Rgb24));
    assert!(
        report.verdict.is_ok(),
        "the sent picture: {:?}",
        report.verdict
    );
    let status = d.status_file();
    assert!(status["face"]["frames_checked"].as_u64().unwrap() >= 1);
    assert!(status["face"]["refused"].as_object().unwrap().is_empty());
}

#[test]
fn the_privacy_crop_sends_only_the_face_and_its_margin() {
    let (h, d) = started(true, 1500, "crop = true\n");
    d.press_until("registered", 1);
    let regs = h.registrations();
    let jpeg = regs[0].jpeg.as_ref().expect("a JPEG");
    let sent = image::load_from_memory(jpeg).unwrap();
    // A quarter of the width, and 0.6 of it on each side: about 2.2 faces wide.
    assert!(
        sent.width() < W * 3 / 4,
        "{}x{}",
        sent.width(),
        sent.height()
    );
    assert!(sent.width() > W / 3, "{}x{}", sent.width(), sent.height());
}

#[test]
fn a_face_that_turns_up_within_the_deadline_is_the_one_sent() {
    // The camera first shows no face, then (the picture replaced while the press looks) one:
    // the press registers it instead of giving up after its first burst.
    let mut h = Harness::new(Behaviour::Ok);
    let shown = h.path("shown.png");
    std::fs::copy(picture(h.dir.path(), "coffee.png", false), &shown).unwrap();
    h.write_config(&knobs(shown.clone(), 8000, ""));
    let d = h.start();
    d.trigger().unwrap();
    // Looking: a second into the 8 s the press may look, a face turns up (replaced by a
    // rename, so the camera never reads half a file).
    wait_for(Duration::from_secs(10), || {
        (d.status()["state"] == "capturing").then_some(())
    })
    .expect("the press is looking");
    std::thread::sleep(Duration::from_secs(1));
    let face = picture(h.dir.path(), "face.png", true);
    std::fs::rename(face, &shown).unwrap();
    let status = d.wait_counter("registered", 1, Duration::from_secs(20));
    assert_eq!(h.registrations().len(), 1);
    assert_eq!(
        status["counters"]["retake"].as_u64().unwrap_or(0),
        0,
        "{status}"
    );
    // More than the press's own burst was looked at before the face came.
    assert!(
        status["face"]["frames_checked"].as_u64().unwrap() > 3,
        "{status}"
    );
}
