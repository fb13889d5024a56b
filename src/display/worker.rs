//! The display thread: it renders the latest scene (and camera frame) it was handed and shows
//! it, finds a screen again when there is none or it went away, and blanks the screen after a
//! while of idle.
//!
//! It takes only the latest of what it is handed: while a picture is being rendered and shown,
//! newer scenes replace each other, so a slow panel never holds up the daemon's loop or builds
//! a backlog of camera frames (each one a face, kept no longer than it is needed).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::output::{Opener, Output, OutputError};
use crate::camera::Frame;
use crate::screen::{Picture, Renderer, Scene, View};
use crate::status::DisplayStatus;

/// How often a missing screen is looked for again.
pub const RETRY: Duration = Duration::from_secs(2);
/// How often a shown screen is checked (still connected).
pub const CHECK: Duration = Duration::from_secs(5);

/// What the daemon hands over, and what the thread reports back.
#[derive(Default)]
pub struct Shared {
    wanted: Mutex<Wanted>,
    changed: Condvar,
    status: Mutex<DisplayStatus>,
}

#[derive(Default)]
struct Wanted {
    scene: Option<Scene>,
    frame: Option<Arc<Frame>>,
    /// Bumped at every hand-over.
    generation: u64,
    wake: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Wanted> {
        self.wanted.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn show(&self, scene: &Scene, frame: Option<Arc<Frame>>) {
        let mut w = self.lock();
        w.scene = Some(scene.clone());
        w.frame = frame;
        w.generation += 1;
        self.changed.notify_one();
    }

    pub fn wake(&self) {
        self.lock().wake = true;
        self.changed.notify_one();
    }

    pub fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_one();
    }

    pub fn status(&self) -> DisplayStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_status(&self, status: DisplayStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }
}

/// What the thread is doing with its screen.
struct Screen {
    output: Option<Box<dyn Output>>,
    next_open: Instant,
    next_check: Instant,
    /// The last problem said in the journal (each is said once).
    said: Option<String>,
    asleep: bool,
    /// Since when the scene shown has been the idle one.
    idle_since: Option<Instant>,
    blank_after: Option<Duration>,
}

/// Runs until [`Shared::stop`].
pub fn run(
    shared: Arc<Shared>,
    mut opener: Box<dyn Opener>,
    mut renderer: Renderer,
    blank_after: Option<Duration>,
) {
    let now = Instant::now();
    let mut screen = Screen {
        output: None,
        next_open: now,
        next_check: now + CHECK,
        said: None,
        asleep: false,
        idle_since: None,
        blank_after,
    };
    let mut shown_generation = 0;
    let mut picture = Picture::black(crate::screen::Size::new(1, 1));
    loop {
        let deadline = screen.next_deadline();
        let (scene, frame, generation, wake) = {
            let mut w = shared.lock();
            loop {
                if w.stop {
                    return;
                }
                if w.generation != shown_generation || w.wake {
                    break;
                }
                let wait = deadline.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    break;
                }
                w = shared
                    .changed
                    .wait_timeout(w, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let wake = std::mem::take(&mut w.wake);
            (w.scene.clone(), w.frame.clone(), w.generation, wake)
        };
        let now = Instant::now();
        let fresh = screen.keep_output(opener.as_mut(), now);
        let Some(mut scene) = scene else { continue };
        let changed = generation != shown_generation;
        if changed || wake {
            screen.idle_since = match scene.view {
                // Woken while idle: awake for another `blank_after`.
                View::Idle if wake => Some(now),
                View::Idle => screen.idle_since.or(Some(now)),
                _ => None,
            };
        }
        let sleep = screen.should_sleep(now);
        if screen.set_asleep(sleep).is_err() {
            continue;
        }
        if sleep || !(changed || fresh || wake) {
            report(&shared, &screen);
            continue;
        }
        let Some(output) = screen.output.as_mut() else {
            report(&shared, &screen);
            continue;
        };
        scene.size = output.size();
        renderer.render_into(&scene, frame.as_deref(), &mut picture);
        drop(frame);
        let pace = output.min_interval();
        match output.present(&picture) {
            Ok(()) => shown_generation = generation,
            Err(e) => screen.lost(e, now),
        }
        // Whatever comes meanwhile waits, and only the latest of it is shown.
        std::thread::sleep(pace.saturating_sub(now.elapsed()));
        if !scene.shows_mirror() && !scene.shows_still() {
            // Nothing changes until the next event: the big buffers go.
            renderer.trim();
            picture = Picture::black(crate::screen::Size::new(1, 1));
        }
        report(&shared, &screen);
    }
}

fn report(shared: &Shared, screen: &Screen) {
    shared.set_status(DisplayStatus {
        ok: screen.output.is_some(),
        device: screen.output.as_ref().map(|o| o.describe()),
        asleep: screen.asleep,
        detail: if screen.output.is_some() {
            None
        } else {
            screen.said.clone()
        },
    });
}

impl Screen {
    fn next_deadline(&self) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        let look = if self.output.is_some() {
            self.next_check
        } else {
            self.next_open
        };
        let blank = match (self.idle_since, self.blank_after, self.asleep) {
            (Some(since), Some(after), false) => since + after,
            _ => far,
        };
        look.min(blank).min(far)
    }

    fn should_sleep(&self, now: Instant) -> bool {
        match (self.idle_since, self.blank_after) {
            (Some(since), Some(after)) => now >= since + after,
            _ => false,
        }
    }

    /// Opens a screen when there is none and it is time to look; checks the one there is.
    /// Returns whether one was opened now (so the scene is shown on it).
    fn keep_output(&mut self, opener: &mut dyn Opener, now: Instant) -> bool {
        if let Some(output) = self.output.as_mut() {
            if now >= self.next_check {
                self.next_check = now + CHECK;
                if let Err(e) = output.check() {
                    self.lost(e, now);
                }
            }
            return false;
        }
        if now < self.next_open {
            return false;
        }
        self.next_open = now + RETRY;
        match opener.open() {
            Ok(output) => {
                log::info!("display: showing on {}", output.describe());
                self.said = None;
                self.asleep = false;
                self.next_check = now + CHECK;
                self.output = Some(output);
                true
            }
            Err(e) => {
                self.say(&e);
                false
            }
        }
    }

    /// The screen failed: dropped, and looked for again.
    fn lost(&mut self, e: OutputError, now: Instant) {
        self.output = None;
        self.asleep = false;
        self.next_open = now + RETRY;
        self.say(&e);
    }

    /// Says a problem once: the same one again is not repeated in the journal.
    fn say(&mut self, e: &OutputError) {
        let text = e.to_string();
        if self.said.as_deref() == Some(&text) {
            return;
        }
        match e {
            OutputError::NoDevice | OutputError::NotConnected { .. } => {
                log::info!("display: {text}; running with the LED");
            }
            _ => log::warn!("display: {text}"),
        }
        self.said = Some(text);
    }

    fn set_asleep(&mut self, asleep: bool) -> Result<(), ()> {
        if asleep == self.asleep {
            return Ok(());
        }
        let Some(output) = self.output.as_mut() else {
            return Ok(());
        };
        match output.set_asleep(asleep) {
            Ok(()) => {
                log::debug!("display: {}", if asleep { "asleep" } else { "awake" });
                self.asleep = asleep;
                Ok(())
            }
            Err(e) => {
                self.lost(e, Instant::now());
                Err(())
            }
        }
    }
}
