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
        if fresh {
            // Known at once: a press now is taken the way a screen in front of the person
            // asks (`face.steady_frames`), not only after the first picture's pacing.
            report(&shared, &screen);
        }
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
        if !scene.shows_mirror() && !scene.shows_still() {
            // Nothing changes until the next event: the big buffers go, at once (not after
            // the pacing below, so an idle screen is small as soon as it is shown).
            renderer.trim();
            picture = Picture::black(crate::screen::Size::new(1, 1));
            give_back_freed_memory();
        }
        // Whatever comes meanwhile waits, and only the latest of it is shown.
        std::thread::sleep(pace.saturating_sub(now.elapsed()));
        report(&shared, &screen);
    }
}

/// Hands the pages of the buffers just dropped back to the kernel. glibc keeps freed memory in
/// the freeing thread's arena (and, once a large buffer has been freed, serves the next ones
/// from the arena rather than from their own mappings), so without this the idle screen kept
/// the chrome layer's and the picture's 1.5 MiB each resident after letting go of them
/// (docs/benchmarks.md, "idle RSS with the screen"). Only at idle: it walks every arena.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own arenas to the kernel;
    // it touches no memory in use and takes the arenas' locks itself.
    unsafe {
        libc::malloc_trim(0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::PromptKey;
    use crate::screen::{DEFAULT_FONT, Font, Rotation, Size, Texts};
    use std::collections::VecDeque;

    /// What the fake screen saw, in order.
    #[derive(Debug, Clone, PartialEq)]
    enum Seen {
        Opened,
        Shown(String),
        Asleep(bool),
    }

    type Log = Arc<Mutex<Vec<Seen>>>;

    /// Opens as scripted: each `Err` is one failed attempt, then screens that fail on their
    /// `fail_after`-th picture (if set).
    struct FakeOpener {
        script: VecDeque<Result<Option<usize>, OutputError>>,
        log: Log,
    }

    impl Opener for FakeOpener {
        fn open(&mut self) -> Result<Box<dyn Output>, OutputError> {
            match self.script.pop_front().unwrap_or(Ok(None)) {
                Ok(fail_after) => {
                    self.log.lock().unwrap().push(Seen::Opened);
                    Ok(Box::new(FakeOutput {
                        log: Arc::clone(&self.log),
                        fail_after,
                    }))
                }
                Err(e) => Err(e),
            }
        }
    }

    struct FakeOutput {
        log: Log,
        fail_after: Option<usize>,
    }

    impl Output for FakeOutput {
        fn size(&self) -> Size {
            Size::new(320, 240)
        }
        fn describe(&self) -> String {
            "fake".into()
        }
        fn present(&mut self, picture: &Picture) -> Result<(), OutputError> {
            if let Some(n) = self.fail_after.as_mut() {
                if *n == 0 {
                    return Err(OutputError::Gone {
                        device: "/dev/dri/card0".into(),
                    });
                }
                *n -= 1;
            }
            assert_eq!(picture.size, Size::new(320, 240));
            self.log
                .lock()
                .unwrap()
                .push(Seen::Shown(format!("{:06x}", picture.pixels[0])));
            Ok(())
        }
        fn set_asleep(&mut self, asleep: bool) -> Result<(), OutputError> {
            self.log.lock().unwrap().push(Seen::Asleep(asleep));
            Ok(())
        }
        fn check(&mut self) -> Result<(), OutputError> {
            Ok(())
        }
    }

    fn scene(view: View, prompt: PromptKey) -> Scene {
        Scene {
            view,
            prompt: Some(prompt),
            ..Scene::blank(Size::new(800, 480), Rotation::R0, "idle")
        }
    }

    fn start(
        script: Vec<Result<Option<usize>, OutputError>>,
        blank_after: Option<Duration>,
    ) -> (Arc<Shared>, Log, std::thread::JoinHandle<()>) {
        let log: Log = Arc::default();
        let opener = FakeOpener {
            script: script.into(),
            log: Arc::clone(&log),
        };
        let font = Font::load(std::path::Path::new(DEFAULT_FONT)).unwrap();
        let renderer = Renderer::new(font, Texts::default());
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || run(shared, Box::new(opener), renderer, blank_after))
        };
        (shared, log, thread)
    }

    fn wait_for(log: &Log, what: &str, done: impl Fn(&[Seen]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&log.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "{what}: {:?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn shown(log: &[Seen]) -> usize {
        log.iter().filter(|s| matches!(s, Seen::Shown(_))).count()
    }

    #[test]
    fn a_screen_that_is_missing_then_goes_away_is_picked_up_again_with_the_latest_scene() {
        let script = vec![
            Err(OutputError::NoDevice),
            // The first screen shows one picture, then its device goes away.
            Ok(Some(1)),
            Ok(None),
        ];
        let (shared, log, thread) = start(script, None);
        shared.show(&scene(View::Idle, PromptKey::PressButton), None);
        // Not there at first: looked for again after RETRY, then shown.
        wait_for(&log, "the first picture", |l| shown(l) == 1);
        let status = shared.status();
        assert!(
            status.ok && status.device.as_deref() == Some("fake"),
            "{status:?}"
        );
        // The next picture fails: the screen is dropped, reported, and found again.
        shared.show(
            &scene(
                View::Result(crate::screen::Outcome::Registered),
                PromptKey::Registered,
            ),
            None,
        );
        wait_for(&log, "reopened", |l| {
            l.iter().filter(|s| **s == Seen::Opened).count() == 2
        });
        wait_for(&log, "the scene shown on the new screen", |l| shown(l) == 2);
        let l = log.lock().unwrap().clone();
        // The registered screen's green ground, not the idle one.
        assert_eq!(
            l.last(),
            Some(&Seen::Shown(format!("{:06x}", 0x16523c))),
            "{l:?}"
        );
        shared.stop();
        thread.join().unwrap();
    }

    #[test]
    fn an_idle_screen_sleeps_and_wakes_for_a_press_or_a_new_scene() {
        let (shared, log, thread) = start(vec![], Some(Duration::from_millis(300)));
        shared.show(&scene(View::Idle, PromptKey::PressButton), None);
        wait_for(&log, "asleep", |l| l.contains(&Seen::Asleep(true)));
        assert!(shared.status().asleep);
        shared.wake();
        wait_for(&log, "awake", |l| l.contains(&Seen::Asleep(false)));
        // Woken while idle: shown again, then asleep again after another while.
        wait_for(&log, "asleep again", |l| {
            l.iter().filter(|s| **s == Seen::Asleep(true)).count() == 2
        });
        shared.show(&scene(View::Mirror, PromptKey::LookAtScreen), None);
        wait_for(&log, "awake for the mirror", |l| {
            l.iter().filter(|s| **s == Seen::Asleep(false)).count() == 2
        });
        // The mirror never sleeps.
        std::thread::sleep(Duration::from_millis(600));
        let l = log.lock().unwrap().clone();
        assert_eq!(
            l.iter().filter(|s| **s == Seen::Asleep(true)).count(),
            2,
            "{l:?}"
        );
        shared.stop();
        thread.join().unwrap();
    }
}
