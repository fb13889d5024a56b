//! What the screen shows, as a plain value: the daemon derives a [`Scene`] from the same
//! events that drive the LED and the status file, and everything that shows it (the screen,
//! `enrolld watch`) reads this one value. No image here: the camera frame travels beside it.

use serde::Serialize;

use super::layout::{Rotation, Size};
use crate::face::{Detection, Refusal};
use crate::prompt::PromptKey;

/// One screen's worth of state.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// The panel's size as scanned out, and how the picture is turned onto it.
    pub size: Size,
    pub rotation: Rotation,
    /// The terminal's state as the status file names it (`idle`, `capturing`, ...).
    pub state: &'static str,
    pub view: View,
    /// The one thing the person is asked or told; `None` only on a blank screen.
    pub prompt: Option<PromptKey>,
    /// After "try again": what to change.
    pub reason: Option<PromptKey>,
    /// Which way to move to get into the guide.
    pub arrow: Option<Arrow>,
    /// Whole seconds left of the attempt.
    pub countdown: Option<u32>,
    /// The capture's progress, in percent.
    pub progress: Option<u8>,
    /// The enrollee's name, only when `display.show_name` is on.
    pub name: Option<String>,
    /// The installer's figures (the setup view only).
    pub setup: Option<Setup>,
}

impl Scene {
    /// A dark screen (starting, stopping).
    pub fn blank(size: Size, rotation: Rotation, state: &'static str) -> Scene {
        Scene {
            size,
            rotation,
            state,
            view: View::Blank,
            prompt: None,
            reason: None,
            arrow: None,
            countdown: None,
            progress: None,
            name: None,
            setup: None,
        }
    }

    /// Whether the scene shows the live camera picture.
    pub fn shows_mirror(&self) -> bool {
        matches!(self.view, View::Mirror | View::Setup)
    }

    /// Whether the scene shows the captured face as a small still picture.
    pub fn shows_still(&self) -> bool {
        matches!(
            self.view,
            View::Sending | View::Result(Outcome::Registered | Outcome::Queued)
        )
    }

    /// The line `enrolld watch` prints for this scene: no image, no token, the name only
    /// where the scene has one (`display.show_name`).
    pub fn event(&self) -> WatchEvent<'_> {
        WatchEvent {
            state: self.state,
            view: self.view.name(),
            prompt: self.prompt.map(PromptKey::key),
            reason: self.reason.map(PromptKey::key),
            arrow: self.arrow.map(Arrow::name),
            countdown_s: self.countdown,
            progress: self.progress,
            outcome: match self.view {
                View::Result(o) => Some(o.name()),
                _ => None,
            },
            name: self.name.as_deref(),
        }
    }
}

/// What kind of screen it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Nothing to show (starting, stopping).
    Blank,
    /// Waiting for a person: what to do to start.
    Idle,
    /// The live mirror with the face guide.
    Mirror,
    /// The capture is on its way to IDMeta.
    Sending,
    /// How the enrollment went (or why none can start).
    Result(Outcome),
    /// The installer's view: every face found, the margins, the figures.
    Setup,
}

impl View {
    pub fn name(self) -> &'static str {
        match self {
            View::Blank => "blank",
            View::Idle => "idle",
            View::Mirror => "mirror",
            View::Sending => "sending",
            View::Result(_) => "result",
            View::Setup => "setup",
        }
    }
}

/// The outcomes a person is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Registered (or already registered).
    Registered,
    /// Nothing was registered: the person tries again.
    TryAgain,
    /// Saved on the terminal, sent later.
    Queued,
    /// The terminal cannot enroll now (a fault, deliveries paused).
    OutOfOrder,
    /// A press nobody can be enrolled for.
    NotNow,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Registered => "registered",
            Outcome::TryAgain => "try_again",
            Outcome::Queued => "queued",
            Outcome::OutOfOrder => "out_of_order",
            Outcome::NotNow => "not_now",
        }
    }
}

/// Which way the person should move, as they see themselves in the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrow {
    Left,
    Right,
    Up,
    Down,
}

impl Arrow {
    pub fn name(self) -> &'static str {
        match self {
            Arrow::Left => "left",
            Arrow::Right => "right",
            Arrow::Up => "up",
            Arrow::Down => "down",
        }
    }

    /// The way from a face centred at (`x`, `y`) (fractions of the camera frame) to the
    /// frame's centre, as the person sees it mirrored: the larger of the two distances wins.
    pub fn towards_centre(x: f32, y: f32) -> Arrow {
        let (dx, dy) = (0.5 - x, 0.5 - y);
        if dx.abs() >= dy.abs() {
            // The frame's left is the mirror's right.
            if dx > 0.0 { Arrow::Left } else { Arrow::Right }
        } else if dy > 0.0 {
            Arrow::Down
        } else {
            Arrow::Up
        }
    }
}

/// What the installer sees over the mirror.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Setup {
    /// Every face found, strongest first.
    pub faces: Vec<Detection>,
    /// The first face passed the check.
    pub passed: bool,
    /// The check's reason for refusing the frame.
    pub reason: Option<Refusal>,
    /// `face.margin`: the centre must stay this far from each edge.
    pub margin: f32,
    /// Frames checked per second, lately.
    pub fps: Option<f32>,
    /// The frame's size and format, in words (`1280x720 YUYV`).
    pub frame: Option<String>,
    /// The face check is off: boxes cannot be shown.
    pub check_off: bool,
}

/// One `enrolld watch` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchEvent<'a> {
    pub state: &'a str,
    pub view: &'a str,
    pub prompt: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub arrow: Option<&'a str>,
    pub countdown_s: Option<u32>,
    pub progress: Option<u8>,
    pub outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arrow_points_where_the_person_must_move_in_the_mirror() {
        // The face is on the frame's left, which the mirror shows on the right: move left.
        assert_eq!(Arrow::towards_centre(0.1, 0.5), Arrow::Left);
        assert_eq!(Arrow::towards_centre(0.9, 0.5), Arrow::Right);
        assert_eq!(Arrow::towards_centre(0.5, 0.1), Arrow::Down);
        assert_eq!(Arrow::towards_centre(0.45, 0.95), Arrow::Up);
    }

    #[test]
    fn the_watch_event_has_no_name_unless_the_scene_has_one() {
        let mut s = Scene::blank(Size::new(800, 480), Rotation::R0, "registered");
        s.view = View::Result(Outcome::Registered);
        s.prompt = Some(PromptKey::Registered);
        let line = serde_json::to_string(&s.event()).unwrap();
        assert_eq!(
            line,
            r#"{"state":"registered","view":"result","prompt":"registered","reason":null,"arrow":null,"countdown_s":null,"progress":null,"outcome":"registered"}"#
        );
        s.name = Some("Ann Lee".into());
        let line = serde_json::to_string(&s.event()).unwrap();
        assert!(
            line.ends_with(r#""outcome":"registered","name":"Ann Lee"}"#),
            "{line}"
        );
    }
}
