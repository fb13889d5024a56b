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
