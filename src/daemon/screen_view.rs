//! The person's screen, from the same state that drives the LED and the status file: no second
//! state machine. Whenever the status is written, a frame is checked or the countdown ticks,
//! the scene is derived again from the machine's state, the enrollment's context and the latest
//! checked frame ([`scene_of`], pure, tested as a table), and handed to the display (with the
//! frame it shows) and, when it changed, to `enrolld watch` as one JSON line.
//!
//! Also here: the installer's setup view, whose camera preview runs while the terminal rests.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::messages::Input;
use super::ports::Live;
use super::state::{Context, Daemon};
use crate::api::{FaceQuality, Outcome as ApiOutcome};
use crate::face::Refusal;
use crate::gpio::TriggerKind;
use crate::machine::State;
use crate::prompt::PromptKey;
use crate::screen::{Arrow, Outcome, Rotation, Scene, Setup, Size, View};

/// The setup view turns itself off after this long (an installer who forgets it leaves no
/// face boxes on a terminal in service).
pub const SETUP_FOR: Duration = Duration::from_secs(600);
/// A preview that failed is not tried again for this long.
const PREVIEW_RETRY: Duration = Duration::from_secs(5);
/// Frames per second are counted over this many checked frames.
const FPS_FRAMES: usize = 10;

/// What a scene is made of.
#[derive(Debug, Clone, Default)]
pub(super) struct Seen<'a> {
    pub state: Option<State>,
    pub trigger: TriggerKind,
    pub face_check: bool,
    /// The latest checked frame's verdict and faces.
    pub live: Option<&'a Live>,
    pub seconds_left: Option<u32>,
    /// Only with `display.show_name`.
    pub name: Option<&'a str>,
    /// Why the person should try again.
    pub reason: Option<PromptKey>,
    /// The setup view is on: its figures.
    pub setup: Option<Setup>,
    pub rotation: Rotation,
    pub size: Size,
}

/// The scene for what the terminal is doing.
pub(super) fn scene_of(seen: &Seen<'_>) -> Scene {
    let state = seen.state.unwrap_or(State::Starting);
    let mut scene = Scene::blank(seen.size, seen.rotation, state.name());
    let result = |outcome, prompt| (View::Result(outcome), Some(prompt));
    let (view, prompt) = match state {
        State::Starting | State::Stopping => (View::Blank, None),
        State::Idle | State::Paused if seen.setup.is_some() => {
            (View::Setup, Some(live_prompt(seen)))
        }
        State::Idle => (
            View::Idle,
            Some(if seen.trigger == TriggerKind::Presence {
                PromptKey::StepUp
            } else {
                PromptKey::PressButton
            }),
        ),
        State::Capturing => {
            let view = if seen.setup.is_some() {
                View::Setup
            } else {
                View::Mirror
            };
            (view, Some(live_prompt(seen)))
        }
        State::Submitting => (View::Sending, Some(PromptKey::Sending)),
        State::Registered | State::AlreadyRegistered => {
            result(Outcome::Registered, PromptKey::Registered)
        }
        // Registered, and the watchlist screening asks for a person at reception.
        State::SeeReception => result(Outcome::Registered, PromptKey::SeeReception),
        State::Retake | State::Failed => result(Outcome::TryAgain, PromptKey::TryAgain),
        State::Queued => result(Outcome::Queued, PromptKey::Queued),
        State::Refused => result(Outcome::NotNow, PromptKey::NotNow),
        State::Fault | State::Paused => result(Outcome::OutOfOrder, PromptKey::OutOfOrder),
    };
    scene.view = view;
    scene.prompt = prompt;
    if state == State::Capturing {
        scene.countdown = seen.seconds_left;
        scene.arrow = arrow(seen);
        scene.progress = passed(seen).then_some(100);
    }
    if state == State::Retake {
        scene.reason = seen.reason;
    }
    if matches!(
        view,
        View::Mirror | View::Sending | View::Result(Outcome::Registered | Outcome::Queued)
    ) {
        scene.name = seen.name.map(str::to_owned);
    }
    if view == View::Setup {
        scene.setup = seen.setup.clone();
    }
    scene
}

fn verdict(seen: &Seen<'_>) -> Option<Result<(), Refusal>> {
    let report = seen.live?.report.as_ref()?;
    Some(report.verdict.as_ref().map(drop).map_err(|r| *r))
}

fn passed(seen: &Seen<'_>) -> bool {
    verdict(seen) == Some(Ok(()))
}

/// The one prompt while the camera looks: what the last checked frame needs.
fn live_prompt(seen: &Seen<'_>) -> PromptKey {
    match verdict(seen) {
        Some(Ok(())) => PromptKey::HoldStill,
        Some(Err(refusal)) => PromptKey::for_refusal(refusal),
        None if seen.face_check => PromptKey::LookAtScreen,
        None => PromptKey::HoldStill,
    }
}

/// The way into the guide, when the face is off centre or cut by the border.
fn arrow(seen: &Seen<'_>) -> Option<Arrow> {
    let report = seen.live?.report.as_ref()?;
    match report.verdict {
        Err(Refusal::OffCentre | Refusal::CutOff) => {
            let c = report.faces.first()?.bounds.centre();
            Some(Arrow::towards_centre(c.x, c.y))
        }
        _ => None,
    }
}

/// IDMeta's face-quality answer as the thing to change.
fn quality_prompt(quality: FaceQuality) -> PromptKey {
    match quality {
        FaceQuality::NoFace => PromptKey::LookAtScreen,
        FaceQuality::FaceTooSmall => PromptKey::StepCloser,
        FaceQuality::MultipleFaces => PromptKey::OnePerson,
        FaceQuality::FaceObscured | FaceQuality::FaceAngle => PromptKey::LookAtCamera,
        FaceQuality::FaceCropped | FaceQuality::FaceNearBorder => PromptKey::MoveIntoGuide,
    }
}

/// Why an enrollment asks the person to try again: the face check's reason, or IDMeta's.
fn reason_of(ctx: &Context) -> Option<PromptKey> {
    if let Some(refusal) = ctx.face_reason {
        return Some(PromptKey::for_refusal(refusal));
    }
    match &ctx.outcome {
        Some(ApiOutcome::Retake { quality }) => Some(quality_prompt(*quality)),
        _ => None,
    }
}

/// Whole seconds left until `deadline`, rounded up, at least 1 while it runs.
fn seconds_left(deadline: Instant, now: Instant) -> u32 {
    let left = deadline.saturating_duration_since(now);
    (left.as_millis().div_ceil(1000) as u32).max(1)
}

impl Daemon {
    /// Derives the scene and hands it on: to the display when it changed (or brings a new
    /// frame of the mirror), to the watchers when it changed.
    pub fn show_scene(&mut self) {
        self.present(false);
    }

    fn present(&mut self, new_frame: bool) {
        let now = Instant::now();
        if self.screen.setup_until.is_some_and(|t| now >= t) {
            log::info!("display: setup view off (after {} s)", SETUP_FOR.as_secs());
            self.screen.setup_until = None;
        }
        if matches!(
            self.machine.state(),
            State::Idle | State::Fault | State::Paused | State::Starting | State::Stopping
        ) {
            // At rest: the captured face and the capture's frames are let go.
            self.screen.still = None;
            self.screen.capture_deadline = None;
            if self.screen.live.as_ref().is_some_and(|(a, _)| *a != 0) {
                self.screen.live = None;
            }
        }
        let scene = scene_of(&self.seen(now));
        let changed = self.screen.last.as_ref() != Some(&scene);
        if changed {
            let line = serde_json::to_string(&scene.event()).unwrap_or_default();
            self.screen.events.send_if_modified(|old| {
                let modified = **old != *line;
                if modified {
                    *old = Arc::from(line);
                }
                modified
            });
        }
        if changed || (new_frame && scene.shows_mirror()) {
            let frame = if scene.shows_mirror() {
                self.screen.live.as_ref().and_then(|(_, l)| l.frame.clone())
            } else if scene.shows_still() {
                self.screen.still.clone()
            } else {
                None
            };
            if let Some(display) = &self.display {
                display.show(&scene, frame);
            }
        }
        self.screen.last = Some(scene);
        self.preview_if_wanted();
    }

    fn seen(&self, now: Instant) -> Seen<'_> {
        let state = self.machine.state();
        let attempt = self.machine.attempt();
        let ctx = self.attempts.get(&attempt);
        let setup_on = self.screen.setup_until.is_some();
        let live = self
            .screen
            .live
            .as_ref()
            .filter(|(a, _)| *a == attempt && state == State::Capturing || *a == 0 && setup_on)
            .map(|(_, l)| l);
        let name = self
            .config
            .display
            .show_name
            .then(|| {
                ctx.and_then(|c| c.username.as_deref())
                    .or(self.screen.name.as_deref())
            })
            .flatten();
        let setup = setup_on.then(|| Setup {
            faces: live
                .and_then(|l| l.report.as_ref())
                .map(|r| r.faces.clone())
                .unwrap_or_default(),
            passed: live
                .and_then(|l| l.report.as_ref())
                .is_some_and(|r| r.verdict.is_ok()),
            reason: live
                .and_then(|l| l.report.as_ref())
                .and_then(|r| r.verdict.as_ref().err().copied()),
            margin: self.config.face.margin,
            fps: self.checks_per_second(),
            frame: live
                .and_then(|l| l.frame.as_ref())
                .map(|f| format!("{}x{} {}", f.width, f.height, f.format)),
            check_off: !self.config.face.enabled,
        });
        Seen {
            state: Some(state),
            trigger: self.config.trigger.kind,
            face_check: self.config.face.enabled,
            live,
            seconds_left: self.screen.capture_deadline.map(|d| seconds_left(d, now)),
            name,
            reason: ctx.and_then(reason_of).or(self.screen.reason),
            setup,
            rotation: self.config.display.rotation(),
            // The display thread puts in its panel's size; this one is for `watch` only.
            size: self.config.display.png_size(),
        }
    }

    /// When the scene next changes by itself: the countdown's next second, the setup view's end.
    pub fn screen_tick(&self) -> Option<Instant> {
        let now = Instant::now();
        let countdown = self
            .screen
            .capture_deadline
            .filter(|_| self.machine.state() == State::Capturing)
            .and_then(|d| {
                let left = d.checked_duration_since(now)?;
                let into_second = left.as_nanos() % 1_000_000_000;
                let step = if into_second == 0 {
                    1_000_000_000
                } else {
                    into_second
                };
                Some(now + Duration::from_nanos(step as u64))
            });
        [countdown, self.screen.setup_until]
            .into_iter()
            .flatten()
            .min()
    }

    /// A capture starts: the countdown runs from now, and the last enrollment's picture,
    /// reason and name go.
    pub fn capture_started(&mut self) {
        self.screen.preview.stop.store(true, Ordering::Relaxed);
        self.screen.still = None;
        self.screen.reason = None;
        self.screen.name = None;
        self.screen.live = None;
        self.screen.capture_deadline = self
            .config
            .face
            .enabled
            .then(|| Instant::now() + self.config.face.deadline());
    }

    /// An enrollment is over: what its result screen says outlives its context.
    pub fn keep_for_result(&mut self, ctx: &Context) {
        self.screen.reason = reason_of(ctx);
        self.screen.name = ctx.username.clone();
    }

    /// A frame the face check looked at.
    pub fn live(&mut self, attempt: u64, live: Live) {
        let capturing =
            self.machine.state() == State::Capturing && attempt == self.machine.attempt();
        let previewing = attempt == 0 && self.screen.setup_until.is_some();
        if !capturing && !previewing {
            return; // late: the screen has moved on
        }
        if live.report.is_some() {
            let at = &mut self.screen.checked_at;
            at.push_back(Instant::now());
            while at.len() > FPS_FRAMES {
                at.pop_front();
            }
        }
        if capturing && live.report.as_ref().is_some_and(|r| r.verdict.is_ok()) {
            // The frame that passed: the face shown while sending and with the result.
            self.screen.still = live.frame.clone();
        }
        self.screen.live = Some((attempt, live));
        self.present(true);
    }

    fn checks_per_second(&self) -> Option<f32> {
        let at = &self.screen.checked_at;
        let (first, last) = (at.front()?, at.back()?);
        let span = last.duration_since(*first).as_secs_f32();
        (at.len() >= 2 && span > 0.0).then(|| (at.len() - 1) as f32 / span)
    }

    /// `enrolld display setup` / `normal`.
    pub fn set_setup_view(&mut self, on: bool) {
        self.screen.setup_until = on.then(|| Instant::now() + SETUP_FOR);
        self.screen.checked_at.clear();
        if !on {
            self.screen.preview.stop.store(true, Ordering::Relaxed);
            if self.screen.live.as_ref().is_some_and(|(a, _)| *a == 0) {
                self.screen.live = None;
            }
        }
        log::info!("display: setup view {}", if on { "on" } else { "off" });
        self.wake_display();
        self.show_scene();
    }

    pub fn wake_display(&self) {
        if let Some(display) = &self.display {
            display.wake();
        }
    }

    /// Runs the setup view's preview while the terminal rests, stops it otherwise.
    fn preview_if_wanted(&mut self) {
        let wanted = self.screen.setup_until.is_some()
            && matches!(self.machine.state(), State::Idle | State::Paused)
            && !self.machine.busy()
            && self.faults.camera.is_none();
        let p = &mut self.screen.preview;
        if !wanted {
            if p.running {
                p.stop.store(true, Ordering::Relaxed);
            }
            return;
        }
        if p.running || p.not_before.is_some_and(|t| Instant::now() < t) {
            return;
        }
        p.running = true;
        p.stop.store(false, Ordering::Relaxed);
        let stop = Arc::clone(&p.stop);
        let camera = Arc::clone(&self.camera);
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let frames = inputs.clone();
            let mut live = |l: Live| {
                // A full loop drops a preview frame rather than wait.
                let _ = frames.try_send(Input::Live(0, l));
            };
            let result = camera
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .preview(&stop, &mut live);
            let _ = inputs.blocking_send(Input::PreviewEnded(result));
        });
    }

    pub fn preview_ended(&mut self, result: Result<(), crate::camera::CameraError>) {
        self.screen.preview.running = false;
        if let Err(e) = result {
            log::warn!("display: the setup view's camera preview stopped: {e}");
            self.screen.preview.not_before = Some(Instant::now() + PREVIEW_RETRY);
        }
        self.show_scene();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Detection, Rect, Report};

    fn live(verdict: Result<(), Refusal>, x: f32) -> Live {
        let face = Detection {
            score: 0.9,
            bounds: Rect {
                left: x - 0.1,
                top: 0.3,
                width: 0.2,
                height: 0.3,
            },
            ..Detection::default()
        };
        let passed = crate::face::Passed {
            face,
            quality: crate::face::FaceQuality {
                luma: 128.0,
                sharpness: 100.0,
            },
        };
        Live {
            frame: None,
            report: Some(Report {
                verdict: verdict.map(|()| passed),
                faces: vec![face],
                took: Duration::ZERO,
            }),
        }
    }

    fn seen(state: State) -> Seen<'static> {
        Seen {
            state: Some(state),
            face_check: true,
            size: Size::new(800, 480),
            ..Seen::default()
        }
    }

    #[test]
    fn every_state_has_its_screen() {
        let table = [
            (State::Starting, View::Blank, None),
            (State::Idle, View::Idle, Some(PromptKey::PressButton)),
            (
                State::Capturing,
                View::Mirror,
                Some(PromptKey::LookAtScreen),
            ),
            (State::Submitting, View::Sending, Some(PromptKey::Sending)),
            (
                State::Registered,
                View::Result(Outcome::Registered),
                Some(PromptKey::Registered),
            ),
            (
                State::SeeReception,
                View::Result(Outcome::Registered),
                Some(PromptKey::SeeReception),
            ),
            (
                State::AlreadyRegistered,
                View::Result(Outcome::Registered),
                Some(PromptKey::Registered),
            ),
            (
                State::Retake,
                View::Result(Outcome::TryAgain),
                Some(PromptKey::TryAgain),
            ),
            (
                State::Failed,
                View::Result(Outcome::TryAgain),
                Some(PromptKey::TryAgain),
            ),
            (
                State::Queued,
                View::Result(Outcome::Queued),
                Some(PromptKey::Queued),
            ),
            (
                State::Refused,
                View::Result(Outcome::NotNow),
                Some(PromptKey::NotNow),
            ),
            (
                State::Fault,
                View::Result(Outcome::OutOfOrder),
                Some(PromptKey::OutOfOrder),
            ),
            (
                State::Paused,
                View::Result(Outcome::OutOfOrder),
                Some(PromptKey::OutOfOrder),
            ),
            (State::Stopping, View::Blank, None),
        ];
        assert_eq!(table.len(), State::ALL.len());
        for (state, view, prompt) in table {
            let scene = scene_of(&seen(state));
            assert_eq!((scene.view, scene.prompt), (view, prompt), "{state:?}");
            assert_eq!(scene.state, state.name());
        }
        let presence = Seen {
            trigger: TriggerKind::Presence,
            ..seen(State::Idle)
        };
        assert_eq!(scene_of(&presence).prompt, Some(PromptKey::StepUp));
    }

    #[test]
    fn the_mirror_asks_for_what_the_last_frame_needs() {
        let off = live(Err(Refusal::OffCentre), 0.15);
        let s = scene_of(&Seen {
            live: Some(&off),
            seconds_left: Some(2),
            ..seen(State::Capturing)
        });
        assert_eq!(s.prompt, Some(PromptKey::MoveIntoGuide));
        // The face is on the frame's left, the mirror's right: move left.
        assert_eq!(s.arrow, Some(Arrow::Left));
        assert_eq!(s.countdown, Some(2));
        assert_eq!(s.progress, None);
        let far = live(Err(Refusal::TooFar), 0.5);
        let s = scene_of(&Seen {
            live: Some(&far),
            ..seen(State::Capturing)
        });
        assert_eq!((s.prompt, s.arrow), (Some(PromptKey::StepCloser), None));
        let good = live(Ok(()), 0.5);
        let s = scene_of(&Seen {
            live: Some(&good),
            ..seen(State::Capturing)
        });
        assert_eq!(
            (s.prompt, s.progress),
            (Some(PromptKey::HoldStill), Some(100))
        );
        let no_check = Seen {
            face_check: false,
            ..seen(State::Capturing)
        };
        assert_eq!(scene_of(&no_check).prompt, Some(PromptKey::HoldStill));
    }

    #[test]
    fn the_reason_shows_on_a_retake_and_the_name_only_where_given() {
        let retake = Seen {
            reason: Some(PromptKey::StepCloser),
            name: Some("Ann"),
            ..seen(State::Retake)
        };
        let s = scene_of(&retake);
        assert_eq!((s.reason, s.name), (Some(PromptKey::StepCloser), None));
        let failed = Seen {
            reason: Some(PromptKey::StepCloser),
            ..seen(State::Failed)
        };
        assert_eq!(scene_of(&failed).reason, None);
        let registered = Seen {
            name: Some("Ann"),
            ..seen(State::Registered)
        };
        assert_eq!(scene_of(&registered).name.as_deref(), Some("Ann"));
    }

    #[test]
    fn the_setup_view_replaces_the_idle_screen_and_the_mirror() {
        let frame = live(Err(Refusal::SeveralFaces), 0.5);
        for state in [State::Idle, State::Capturing] {
            let s = scene_of(&Seen {
                live: Some(&frame),
                setup: Some(Setup::default()),
                ..seen(state)
            });
            assert_eq!(s.view, View::Setup, "{state:?}");
            assert_eq!(s.prompt, Some(PromptKey::OnePerson));
            assert!(s.setup.is_some());
        }
        let s = scene_of(&Seen {
            setup: Some(Setup::default()),
            ..seen(State::Registered)
        });
        assert_eq!(s.view, View::Result(Outcome::Registered));
    }

    #[test]
    fn idemetas_quality_answers_become_prompts_and_seconds_round_up() {
        assert_eq!(
            quality_prompt(FaceQuality::FaceTooSmall),
            PromptKey::StepCloser
        );
        assert_eq!(
            quality_prompt(FaceQuality::MultipleFaces),
            PromptKey::OnePerson
        );
        let now = Instant::now();
        assert_eq!(seconds_left(now + Duration::from_millis(2100), now), 3);
        assert_eq!(seconds_left(now + Duration::from_millis(3000), now), 3);
        assert_eq!(seconds_left(now, now), 1);
    }
}
