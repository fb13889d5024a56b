//! The screen and `enrolld watch` in the whole daemon, as processes: `enrolld run` with the
//! simulated camera, its screen written to a PNG file, and `enrolld watch` (the CLI, over the
//! real control socket) reading along. What the watcher prints is the same story the LED and
//! the status file tell, without names (unless `display.show_name`), images or the token; the
//! PNG equals what the host renders for the same scene, pixel for pixel (the check a QEMU
//! screendump gets in the systemd guest); a screen that cannot be found leaves the daemon
//! running with the LED and says why once; a bad font or rotation stops the start with 78.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TOKEN;
use common::daemon::{Harness, Knobs, wait_for};
use enrolld::prompt::PromptKey;
use enrolld::screen::{DEFAULT_FONT, Font, Picture, Renderer, Rotation, Scene, Size, Texts, View};
use enrolld_standin::Behaviour;
use serde_json::Value;

/// `enrolld watch` as a child, its lines on a channel.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    fn start(h: &Harness) -> Watcher {
        let mut child = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(h.config_path())
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("enrolld watch starts");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Watcher {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `pred`; returns it.
    fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no watch line {what}; seen:\n{}", self.seen.join("\n"))
            });
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            self.seen.push(line);
            if pred(&v) {
                return v;
            }
        }
    }

    fn states(&self) -> Vec<String> {
        let mut states: Vec<String> = self
            .seen
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["state"].as_str().map(str::to_owned))
            .collect();
        states.dedup();
        states
    }

    /// The watcher ends by itself (status 0) once the daemon stops.
    fn wait_end(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "enrolld watch exited {status}");
                return;
            }
            assert!(Instant::now() < deadline, "enrolld watch did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screen_file(h: &Harness) -> PathBuf {
    h.path("screen.png")
}

fn screen_knobs(h: &Harness, extra: &str) -> Knobs {
    Knobs {
        display_extra: format!(
            "enabled = true\npng_file = \"{}\"\nblank_after_secs = 0\n{extra}",
            screen_file(h).display()
        ),
        ..Knobs::default()
    }
}

fn read_picture(path: &Path) -> Option<Picture> {
    Picture::read_png(&std::fs::read(path).ok()?).ok()
}

fn host_rendering(scene: &Scene) -> Picture {
    let font = Font::load(Path::new(DEFAULT_FONT)).unwrap();
    Renderer::new(font, Texts::default()).render(scene, None)
}

#[test]
fn watch_tells_the_enrollment_without_names_images_or_token_and_the_screen_matches_the_host() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&screen_knobs(&h, ""));
    let d = h.start();
    h.enroll("Ann Lee");
    let mut w = Watcher::start(&h);
    let idle = w.until("idle", |v| v["state"] == "idle");
    assert_eq!(idle["view"], "idle");
    assert_eq!(idle["prompt"], PromptKey::PressButton.key());

    // The daemon's picture of the idle screen is exactly the host's.
    let idle_scene = Scene {
        view: View::Idle,
        prompt: Some(PromptKey::PressButton),
        ..Scene::blank(Size::new(800, 480), Rotation::R0, "idle")
    };
    let expected = host_rendering(&idle_scene);
    let shown = wait_for(Duration::from_secs(10), || {
        read_picture(&screen_file(&h)).filter(|p| p.differing_pixels(&expected) == 0)
    });
    assert!(
        shown.is_some(),
        "screen.png never equalled the host's idle screen ({} pixels differ)",
        read_picture(&screen_file(&h)).map_or(usize::MAX, |p| p.differing_pixels(&expected))
    );

    d.trigger().unwrap();
    let registered = w.until("registered", |v| v["outcome"] == "registered");
    assert_eq!(registered["state"], "registered");
    assert_eq!(registered["view"], "result");
    assert_eq!(registered["prompt"], "registered");
    assert!(registered.get("name").is_none(), "{registered}");
    w.until("back to idle", |v| v["state"] == "idle");
    assert_eq!(
        w.states(),
        ["idle", "capturing", "submitting", "registered", "idle"],
        "{}",
        w.seen.join("\n")
    );
    for line in &w.seen {
        assert!(!line.contains("Ann"), "a name without show_name: {line}");
        assert!(!line.contains(TOKEN), "the token: {line}");
        assert!(line.len() < 300, "more than a state: {line}");
    }
    // The screen file is a picture of a screen, never the camera's frame on disk otherwise.
    assert_eq!(
        read_picture(&screen_file(&h)).unwrap().size,
        Size::new(800, 480)
    );
    d.terminate(Duration::from_secs(20));
    w.wait_end();
}

#[test]
fn with_show_name_the_watcher_and_the_screen_name_the_person_and_setup_is_one_command_away() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&screen_knobs(&h, "show_name = true\n"));
    let d = h.start();
    h.enroll("Ann Lee");
    let mut w = Watcher::start(&h);
    w.until("idle", |v| v["state"] == "idle");
    d.trigger().unwrap();
    let named = w.until("a named screen", |v| v["name"] == "Ann Lee");
    assert!(
        ["capturing", "submitting", "registered"].contains(&named["state"].as_str().unwrap()),
        "{named}"
    );
    w.until("registered", |v| {
        v["outcome"] == "registered" && v["name"] == "Ann Lee"
    });
    w.until("idle", |v| v["state"] == "idle");

    let display = |what: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(h.config_path())
            .args(["display", what])
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = display("setup");
    assert!(
        said.contains("setup view on") && said.contains("screen.png"),
        "{said}"
    );
    let setup = w.until("setup view", |v| v["view"] == "setup");
    assert_eq!(setup["state"], "idle");
    display("normal");
    w.until("normal again", |v| v["view"] == "idle");
    d.terminate(Duration::from_secs(20));
    w.wait_end();
}

#[test]
fn without_a_screen_the_daemon_runs_and_says_why_once() {
    let mut h = Harness::new(Behaviour::Ok);
    // Not a DRM device: a plain file where the configured card should be.
    let not_a_card = h.path("card0");
    std::fs::write(&not_a_card, b"").unwrap();
    h.write_config(&Knobs {
        display_extra: format!("enabled = true\ndevice = \"{}\"\n", not_a_card.display()),
        ..Knobs::default()
    });
    let d = h.start();
    let status = d.wait_status("the display's problem", Duration::from_secs(10), |s| {
        s["display"]["detail"].is_string()
    });
    assert_eq!(status["display"]["ok"], false, "{status}");
    let detail = status["display"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&not_a_card.display().to_string()),
        "{detail}"
    );
    assert!(detail.contains("read its resources"), "{detail}");
    // Enrollments go on with the LED.
    h.enroll("ann");
    d.press_until("registered", 1);
    // Looked for again every 2 s, said once.
    std::thread::sleep(Duration::from_millis(4500));
    let said = d.stderr().matches("display: ").count();
    assert_eq!(said, 1, "{}", d.stderr());
    d.terminate(Duration::from_secs(20));
}

/// Starts the daemon on a config with `display` lines; it must refuse with 78. Its stderr.
fn refused_start(h: &mut Harness, display: &str) -> String {
    h.write_config(&screen_knobs(h, display));
    let mut d = h.spawn();
    let status = d.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78), "{}", d.stderr());
    d.stderr()
}

#[test]
fn a_missing_font_or_a_bad_rotation_stops_the_start_with_78_naming_it() {
    let mut h = Harness::new(Behaviour::Ok);
    let err = refused_start(&mut h, "font = \"/nonexistent/DejaVuSans-Bold.ttf\"\n");
    assert!(
        err.contains("/nonexistent/DejaVuSans-Bold.ttf: cannot read the font"),
        "{err}"
    );
    assert!(err.contains("fonts-dejavu-core"), "{err}");
    let err = refused_start(&mut h, "rotation = 45\n");
    assert!(
        err.contains("display.rotation: must be 0, 90, 180 or 270"),
        "{err}"
    );
    // A site's text the font cannot show.
    let err = refused_start(&mut h, "prompts = { look_at_screen = \"看屏幕\" }\n");
    assert!(
        err.contains("display.prompts.look_at_screen: the font"),
        "{err}"
    );
}

/// The face check's frames drive the screen: a camera that sees no face shows "look at the
/// screen" with the countdown running down, then "try again" with the same reason; the mirror
/// in the PNG is the camera's picture.
#[cfg(feature = "face")]
#[test]
fn the_face_checks_frames_drive_the_prompt_and_the_countdown() {
    use enrolld::demo::scene;
    let mut h = Harness::new(Behaviour::Ok);
    let coffee = scene::load_photo("coffee.png").unwrap();
    let coffee = image::imageops::resize(&coffee, 640, 480, image::imageops::FilterType::Triangle);
    let picture = h.path("coffee.png");
    coffee.save(&picture).unwrap();
    let mut knobs = screen_knobs(&h, "");
    knobs.face_extra = "enabled = true\ndeadline_ms = 2500\n".into();
    knobs.paths = vec![("camera", "simulated_image", picture)];
    h.write_config(&knobs);
    let d = h.start();
    h.enroll("ann");
    let mut w = Watcher::start(&h);
    w.until("idle", |v| v["state"] == "idle");
    d.trigger().unwrap();
    let looking = w.until("the prompt of a checked frame", |v| {
        v["view"] == "mirror" && v["prompt"] == "look_at_screen" && v["countdown_s"].is_u64()
    });
    assert!(looking["countdown_s"].as_u64().unwrap() <= 3, "{looking}");
    let retake = w.until("try again", |v| v["outcome"] == "try_again");
    assert_eq!(retake["state"], "retake");
    assert_eq!(retake["reason"], "look_at_screen");
    let countdowns: Vec<u64> = w
        .seen
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["countdown_s"].as_u64())
        .collect();
    assert!(
        countdowns.windows(2).all(|p| p[0] >= p[1]),
        "the countdown only runs down: {countdowns:?}"
    );
    d.terminate(Duration::from_secs(20));
}

/// Capture when the face is right (`face.steady_frames`): with the screen on, a face that
/// keeps moving is shown "hold still" with its progress and is not taken; once it holds still
/// for the run, the frame that completed it is the one registered.
#[cfg(feature = "face")]
mod steady {
    use super::*;
    use enrolld::camera::PixelFormat;
    use enrolld::camera::sim::pack;
    use enrolld::demo::scene::{self, ASTRONAUT_FACE, FaceBox, Placement};
    use enrolld::face::{FaceCheck, FaceConfig};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The harness's camera size.
    const W: u32 = 640;
    const H: u32 = 480;
    /// Where the face stands in the two pictures: both pass the check, 0.16 of the width
    /// (102 px of 640) apart, far beyond `steady_px` (15 px at 1280: 7.5 px here).
    const LEFT: f32 = 0.42;
    const RIGHT: f32 = 0.58;
    const STEADY_FRAMES: u32 = 6;

    fn face_at(dir: &Path, name: &str, centre_x: f32) -> PathBuf {
        let photo = scene::load_photo("astronaut.png").unwrap();
        let placement = Placement {
            face: FaceBox {
                centre_x,
                ..Placement::well_placed().face
            },
            ..Placement::well_placed()
        };
        let path = dir.join(name);
        scene::frame(&photo, ASTRONAUT_FACE, W, H, placement)
            .save(&path)
            .unwrap();
        path
    }

    /// Replaces the camera's picture with `from` at once (a copy renamed over it: the
    /// simulated camera shows it from its next frame).
    fn show(from: &Path, shown: &Path) {
        let tmp = shown.with_extension("next.png");
        std::fs::copy(from, &tmp).unwrap();
        std::fs::rename(&tmp, shown).unwrap();
    }

    /// A person who cannot keep still: the face jumps between two places every 150 ms (at
    /// most 10 checks a second, so at most two checked frames in one place) until stopped.
    struct Fidget {
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Fidget {
        /// Between the pictures [`started`] wrote.
        fn start(h: &Harness) -> Fidget {
            let [left, right, shown] = ["left.png", "right.png", "shown.png"].map(|n| h.path(n));
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let thread = std::thread::spawn(move || {
                for n in 0.. {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    show(if n % 2 == 0 { &left } else { &right }, &shown);
                    std::thread::sleep(Duration::from_millis(150));
                }
            });
            Fidget {
                stop,
                thread: Some(thread),
            }
        }

        fn stop(mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                t.join().unwrap();
            }
        }
    }

    impl Drop for Fidget {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// A daemon with the screen and the face check on, looking for `deadline_ms`, its camera
    /// showing `shown.png` (the face on the left at first), a ticket for "ann"; the pictures
    /// of the face on the left and on the right, and the camera's.
    fn started(deadline_ms: u64) -> (Harness, common::daemon::Daemon, [PathBuf; 3]) {
        started_showing(deadline_ms, None)
    }

    /// [`started`], the screen `display` lines instead of the picture file.
    fn started_showing(
        deadline_ms: u64,
        display: Option<String>,
    ) -> (Harness, common::daemon::Daemon, [PathBuf; 3]) {
        let mut h = Harness::new(Behaviour::Ok);
        let left = face_at(h.dir.path(), "left.png", LEFT);
        let right = face_at(h.dir.path(), "right.png", RIGHT);
        let shown = h.path("shown.png");
        show(&left, &shown);
        let mut knobs = screen_knobs(&h, "");
        if let Some(display) = display {
            knobs.display_extra = display;
        }
        knobs.face_extra = format!(
            "enabled = true\ndeadline_ms = {deadline_ms}\nsteady_frames = {STEADY_FRAMES}\n"
        );
        knobs.paths = vec![("camera", "simulated_image", shown.clone())];
        h.write_config(&knobs);
        let d = h.start();
        h.enroll("ann");
        // The capture waits for a still face only with a screen that shows it.
        let want_screen = knobs.display_extra.contains("png_file");
        d.wait_status("the display looked for", Duration::from_secs(10), |s| {
            s["display"]["ok"] == want_screen
        });
        (h, d, [left, right, shown])
    }

    fn progress_of(line: &str) -> Option<u64> {
        serde_json::from_str::<Value>(line).ok()?["progress"].as_u64()
    }

    #[test]
    fn a_moving_face_is_not_taken_until_it_holds_still_for_the_run() {
        let (h, d, [_, right, shown]) = started(20_000);
        let mut w = Watcher::start(&h);
        w.until("idle", |v| v["state"] == "idle");
        let fidget = Fidget::start(&h);
        d.trigger().unwrap();
        let holding = w.until("hold still with its progress", |v| {
            v["prompt"] == "hold_still" && v["progress"].as_u64().is_some_and(|p| p < 100)
        });
        assert_eq!(holding["state"], "capturing", "{holding}");
        // Three seconds of fidgeting, some 30 passing frames: none is taken.
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(h.requests(), 0, "a moving face reached IDMeta");
        assert_eq!(d.status()["state"], "capturing");
        let fidgeting = w.seen.len();
        fidget.stop();
        show(&right, &shown);

        w.until("registered", |v| v["outcome"] == "registered");
        let regs = h.registrations();
        assert_eq!(regs.len(), 1, "{regs:?}");
        // The run built up before the frame went. (`watch` carries the latest screen: a
        // watcher that reads late sees fewer steps, so only one step is asked for, not all.)
        let run: Vec<u64> = w.seen[fidgeting..]
            .iter()
            .take_while(|l| !l.contains("\"state\":\"submitting\""))
            .filter_map(|l| progress_of(l))
            .collect();
        assert!(
            run.iter().any(|p| *p > 0 && *p < 100),
            "no run building: {}",
            w.seen.join("\n")
        );
        // What was sent is the held-still face: where the person stopped, on the right.
        let jpeg = regs[0].jpeg.as_ref().expect("a JPEG");
        let sent = image::load_from_memory(jpeg).unwrap().to_rgb8();
        let mut check = FaceCheck::load(&FaceConfig {
            enabled: true,
            ..FaceConfig::default()
        })
        .unwrap();
        let report = check.check(&pack(&sent, PixelFormat::Rgb24));
        let face = report.verdict.expect("the sent picture passes").face;
        let x = face.bounds.centre().x;
        assert!(
            (x - RIGHT).abs() < 0.05,
            "the sent face is at {x}, not {RIGHT}"
        );
        d.terminate(Duration::from_secs(20));
    }

    #[test]
    fn a_face_that_never_holds_still_sends_nothing_and_asks_to_hold_still() {
        let (h, d, _) = started(2500);
        let fidget = Fidget::start(&h);
        d.trigger().unwrap();
        let status = d.wait_counter("retake", 1, Duration::from_secs(20));
        fidget.stop();
        assert_eq!(h.requests(), 0, "a moving face reached IDMeta");
        assert_eq!(status["face"]["last_reason"], "not_steady", "{status}");
        assert!(
            d.stderr().contains("enrolld_face_reason=not_steady"),
            "{}",
            d.stderr()
        );
        d.terminate(Duration::from_secs(20));
    }

    /// No panel found (a headless terminal on the default `display.enabled`): nobody sees a
    /// "hold still", so the capture takes the first passing frame as before, moving or not.
    #[test]
    fn without_a_panel_found_the_first_passing_frame_is_taken_as_before() {
        let not_a_card =
            std::env::temp_dir().join(format!("enrolld-no-card-{}", std::process::id()));
        std::fs::write(&not_a_card, b"").unwrap();
        let display = format!("enabled = true\ndevice = \"{}\"\n", not_a_card.display());
        let (h, d, _) = started_showing(10_000, Some(display));
        let fidget = Fidget::start(&h);
        // A moving face never completes a run: only the first-passing-frame rule registers it.
        d.press_until("registered", 1);
        fidget.stop();
        let _ = std::fs::remove_file(&not_a_card);
        assert_eq!(h.registrations().len(), 1);
        d.terminate(Duration::from_secs(20));
    }
}
