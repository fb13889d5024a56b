//! `enrolld demo`: the real daemon loop on simulated hardware, against the
//! IDMeta stand-in served over HTTPS on loopback. Nothing to configure, no
//! network, no devices.
//!
//! The demo writes an ordinary configuration file into a fresh directory and
//! loads it through the same loader as `enrolld run`, so what a newcomer sees
//! is the product, not a mock-up: the same state machine, TLS client, offline
//! queue, status file and control socket, and the face check with its real
//! detector. Only the edges are simulated: the camera (a real photo of a
//! person, placed as a terminal's camera would frame them: [`scene`]), the
//! trigger (Enter, or a timer) and the LED (drawn in the terminal).
//!
//! The terminal speaks IDMeta's v3 API (`api.version = 3`) with
//! `terminal.see_reception` on. A director thread steers the stand-in through
//! a short story: a registration, a retake, a duplicate, a watchlist match
//! (registered, flagged for review, the person sent to reception), then an
//! outage (enrollments queue) and the recovery (the queue drains), then a
//! random mix.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod config;
pub mod scene;
pub mod screen;

use crate::api::Client;
use crate::daemon::{self, Setup, devices};
use crate::gpio::{Layout, Levels};
use crate::press::Press;
use crate::secret::ApiToken;
use crate::shutdown::{self, Shutdown};
use enrolld_standin::documented::FACE_QUALITY;
use enrolld_standin::{Behaviour, Endpoint, Expectations, StandIn, StandInOptions};

/// The stand-in refuses connections this long in the outage act.
const OUTAGE: Duration = Duration::from_secs(20);
/// A whole number: v3 sends it as the integer `trustFlowId`.
const TEMPLATE_ID: &str = "4242";
const DEMO_WIDTH: u32 = 1280;
/// The screen a person at the terminal would see, as a picture in the demo's directory.
pub const SCREEN_FILE: &str = "screen.png";
const DEMO_HEIGHT: u32 = 720;

#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Press automatically this often (besides Enter).
    pub every: Option<Duration>,
    /// Stop after this long (default: until Ctrl-C or `q`).
    pub duration: Option<Duration>,
    /// Where to put the config, status file, queue and socket (default: a new
    /// directory under the system's temporary directory).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo directory {path}: {reason}")]
    Dir { path: PathBuf, reason: String },
    #[error("stand-in: {0}")]
    StandIn(String),
    #[error("the simulated camera's picture: {0}")]
    Scene(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("IDMeta client: {0}")]
    Client(#[from] crate::api::ApiError),
    #[error("hardware: {0}")]
    Devices(#[from] devices::DevicesError),
    #[error("daemon: {0}")]
    Daemon(#[from] daemon::DaemonError),
}

/// Runs the demo until Ctrl-C, `q` + Enter, or `duration`.
pub async fn run(options: DemoOptions) -> Result<(), DemoError> {
    let dir = make_dir(options.dir.as_deref())?;
    // A fresh token per run; tests set ENROLLD_DEMO_TOKEN to know it, so they
    // can prove it never shows up in any output or file.
    let token = std::env::var("ENROLLD_DEMO_TOKEN")
        .ok()
        .filter(|t| ApiToken::new(t).is_ok())
        .unwrap_or_else(|| format!("demo|{:016x}", fastrand::u64(..)));
    let standin = Arc::new(
        StandIn::start_with(StandInOptions {
            expect: Expectations {
                token: Some(token.clone()),
                template_id: Some(TEMPLATE_ID.to_owned()),
            },
            records_file: Some(dir.join("standin-records.jsonl")),
            ..StandInOptions::default()
        })
        .map_err(|e| DemoError::StandIn(e.to_string()))?,
    );
    let ca = dir.join("standin-ca.pem");
    write(&ca, standin.ca_pem().as_bytes())?;
    let face = dir.join("camera-view.png");
    write_scene(&face)?;
    let config_path = dir.join("enrolld.toml");
    write(
        &config_path,
        demo_config(&dir, &standin.url(), &ca, &face).as_bytes(),
    )?;
    let config = crate::config::load(&config_path)?;
    let client = Client::new(
        &config.api,
        ApiToken::new(&token).expect("the demo token is well formed"),
    )?;
    let (devices, presses) = devices::open(&config)?;

    let interactive = std::io::stdin().is_terminal();
    println!("enrolld demo");
    println!(
        "  files (config, status.json, queue, leds.jsonl): {}",
        dir.display()
    );
    println!(
        "  the terminal's screen, kept current: {}",
        dir.join(SCREEN_FILE).display()
    );
    println!("  IDMeta stand-in: {}", standin.url());
    println!(
        "  try in another terminal: enrolld --config {} status | enroll --username Ann",
        config_path.display()
    );
    if interactive {
        println!("  press Enter to enroll the next person, q + Enter (or Ctrl-C) to stop");
    }
    let every = options
        .every
        .or((!interactive).then_some(Duration::from_secs(4)));
    if let Some(every) = every {
        println!("  a press every {} s", every.as_secs_f32());
    }

    // The director and the status line stop when the daemon has returned.
    let (stopper, shutdown) = shutdown::channel();
    let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();
    if interactive {
        spawn_keyboard(presses.clone(), quit_tx);
    } else {
        drop(quit_tx);
    }
    if let Some(every) = every {
        let presses = presses.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if presses.send(Press::injected()).await.is_err() {
                    return;
                }
            }
        });
    }
    spawn_director(standin.clone(), shutdown.clone());
    let status_line = std::io::stdout()
        .is_terminal()
        .then(|| spawn_status_line(dir.join("status.json"), dir.join("leds.jsonl"), shutdown));

    let stop = async move {
        let quit = async {
            if quit_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        match options.duration {
            Some(d) => tokio::select! { _ = tokio::time::sleep(d) => {}, _ = quit => {} },
            None => quit.await,
        }
    };
    let setup = Setup {
        config,
        api: std::sync::Arc::new(client),
        config_path: None,
    };
    let result = daemon::run(setup, devices, stop).await;
    stopper.stop();
    if let Some(thread) = status_line {
        let _ = thread.join();
    }
    screen::end_status();
    let registrations = registrations(&standin);
    println!(
        "\nenrolld demo: {registrations} registration request(s) reached the stand-in; files kept in {}",
        dir.display()
    );
    standin.stop();
    Ok(result?)
}

/// What the simulated camera shows: a person standing well placed in front of the terminal.
fn write_scene(path: &Path) -> Result<(), DemoError> {
    let photo = scene::load_photo("astronaut.png").map_err(DemoError::Scene)?;
    let view = scene::frame(
        &photo,
        scene::ASTRONAUT_FACE,
        DEMO_WIDTH,
        DEMO_HEIGHT,
        scene::Placement::well_placed(),
    );
    let mut png = Vec::new();
    view.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| DemoError::Scene(format!("{}: {e}", path.display())))?;
    write(path, &png)
}

fn demo_config(dir: &Path, url: &str, ca: &Path, face: &Path) -> String {
    use config::{set, simulated_terminal};
    let mut doc = simulated_terminal(dir, url, TEMPLATE_ID, ca);
    set(&mut doc, "camera", "width", i64::from(DEMO_WIDTH));
    set(&mut doc, "camera", "height", i64::from(DEMO_HEIGHT));
    set(
        &mut doc,
        "camera",
        "simulated_image",
        face.display().to_string(),
    );
    // The face check as a board package has it, when this build has the detector.
    set(&mut doc, "face", "enabled", cfg!(feature = "face"));
    set(&mut doc, "terminal", "id", "demo-terminal");
    set(&mut doc, "terminal", "username_template", "visitor-{seq}");
    // IDMeta's current API, with its watchlist screening shown at the wall.
    set(&mut doc, "api", "version", 3);
    set(&mut doc, "terminal", "see_reception", true);
    // A green and a red LED, so the status line can name the colour.
    set(&mut doc, "indicator", "green", "GREEN");
    set(&mut doc, "indicator", "red", "RED");
    // The screen as a 7-inch panel would show it, kept current as a PNG; awake throughout, and
    // with the visitor's name, so a newcomer sees every part of it.
    set(&mut doc, "display", "enabled", true);
    set(
        &mut doc,
        "display",
        "png_file",
        dir.join(SCREEN_FILE).display().to_string(),
    );
    set(&mut doc, "display", "show_name", true);
    set(&mut doc, "display", "blank_after_secs", 0);
    set(&mut doc, "api", "connect_timeout_ms", 2000);
    set(&mut doc, "api", "request_timeout_ms", 10000);
    set(&mut doc, "queue", "backoff_base_ms", 1000);
    set(&mut doc, "queue", "backoff_max_ms", 5000);
    format!("# Written by `enrolld demo`: the same loader and keys as a real terminal.\n{doc}")
}

fn make_dir(dir: Option<&Path>) -> Result<PathBuf, DemoError> {
    let dir = dir.map(Path::to_owned).unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "enrolld-demo-{}-{:x}",
            std::process::id(),
            fastrand::u32(..)
        ))
    });
    crate::fsutil::ensure_dir(&dir, 0o700).map_err(|e| DemoError::Dir {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    Ok(dir)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    crate::fsutil::write_atomic(path, bytes, 0o600).map_err(|e| DemoError::Dir {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Enter presses; `q` stops.
fn spawn_keyboard(
    presses: tokio::sync::mpsc::Sender<Press>,
    quit: tokio::sync::oneshot::Sender<()>,
) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "q" {
                break;
            }
            if presses.blocking_send(Press::injected()).is_err() {
                return;
            }
        }
        let _ = quit.send(());
    });
}

/// Steers the stand-in: the scripted acts by the number of registrations
/// seen, the outage by time, then a random mix.
fn spawn_director(standin: Arc<StandIn>, shutdown: Shutdown) {
    std::thread::spawn(move || {
        let mut outage_until: Option<Instant> = None;
        let mut outage_done = false;
        let mut last_seen = usize::MAX;
        while !shutdown.is_triggered() {
            std::thread::sleep(Duration::from_millis(50));
            let seen = registrations(&standin);
            let next = match (seen, outage_until) {
                (_, Some(until)) if Instant::now() < until => continue,
                (_, Some(_)) => {
                    outage_until = None;
                    outage_done = true;
                    screen::say("[stand-in] IDMeta is back: the queue will drain");
                    Behaviour::Ok
                }
                (0, None) => Behaviour::Ok,
                (1, None) => {
                    Behaviour::parse("retake:face_too_small").expect("a documented quality")
                }
                (2, None) => Behaviour::AlreadyRegistered,
                (3, None) => Behaviour::WatchlistMatch,
                (_, None) if !outage_done => {
                    outage_until = Some(Instant::now() + OUTAGE);
                    screen::say(&format!(
                        "[stand-in] IDMeta unreachable for {} s: enrollments go to the offline queue",
                        OUTAGE.as_secs()
                    ));
                    standin.set_behaviour(Behaviour::Refuse);
                    continue;
                }
                _ if seen == last_seen => continue,
                _ => match fastrand::u8(..100) {
                    0..70 => Behaviour::Ok,
                    70..85 => {
                        Behaviour::Retake(FACE_QUALITY[fastrand::usize(..FACE_QUALITY.len())])
                    }
                    85..95 => Behaviour::AlreadyRegistered,
                    _ => Behaviour::WatchlistMatch,
                },
            };
            last_seen = seen;
            if standin.behaviour() != next {
                if next == Behaviour::WatchlistMatch {
                    screen::say(
                        "[stand-in] IDMeta's watchlist screening matches the next face: \
                         registered, flagged for review, the visitor sent to reception",
                    );
                }
                standin.set_behaviour(next);
            }
        }
    });
}

/// Registration requests the stand-in saw (either API version).
fn registrations(standin: &StandIn) -> usize {
    standin
        .records()
        .iter()
        .filter(|r| r.endpoint.is_some_and(Endpoint::is_registration))
        .count()
}

/// The bottom line of the screen: the LED as drawn from the recorded levels,
/// the state and the queue, read from the files the daemon writes.
fn spawn_status_line(
    status: PathBuf,
    leds: PathBuf,
    shutdown: Shutdown,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last = String::new();
        while !shutdown.is_triggered() {
            std::thread::sleep(Duration::from_millis(100));
            let levels = std::fs::read_to_string(&leds)
                .ok()
                .and_then(|t| t.lines().last().map(levels_of))
                .unwrap_or_default();
            let (state, depth, registered) = std::fs::read(&status)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .map(|v| {
                    (
                        v["state"].as_str().unwrap_or("?").to_owned(),
                        v["queue"]["depth"].as_u64().unwrap_or(0),
                        ["registered", "registered_review"]
                            .iter()
                            .filter_map(|c| v["counters"][c].as_u64())
                            .sum(),
                    )
                })
                .unwrap_or_default();
            let line = screen::describe(&state, levels, Layout::Pair, depth, registered);
            if line != last {
                screen::set_status(line.clone());
                last = line;
            }
        }
    })
}

/// The levels of one line of the LED record, `{"t_ms":..,"levels":[a,b]}`.
fn levels_of(line: &str) -> Levels {
    let parsed = serde_json::from_str::<serde_json::Value>(line).ok();
    let level = |i: usize| parsed.as_ref().and_then(|v| v["levels"][i].as_bool());
    [level(0).unwrap_or(false), level(1).unwrap_or(false)]
}
