//! Capture when the face is right, with a screen showing the person the capture: a frame is
//! taken only once the same passing face has held still for `face.steady_frames` checked
//! frames, its centre moving less than `face.steady_px` from one to the next (IDMeta's capture
//! SDK waits for 10 frames and 15 px at 720p).
//!
//! Pure and bounded: the tracker is fed each checked frame's verdict and holds nothing of the
//! picture, only the last passing face's centre and how many frames it has held. What counts:
//! - a passing frame whose face's centre lies within `steady_px` of the previous passing
//!   frame's adds one to the run;
//! - a passing frame whose centre jumped `steady_px` or more (someone else, or the same person
//!   moving) starts a new run of one;
//! - a refused frame (no face, several faces, too far, blurred, ...) ends the run.
//!
//! `steady_px` is in pixels of a 1280-wide frame, scaled to the frame's own width, so the same
//! setting means the same movement whatever size the camera negotiated.

use super::config::FaceConfig;
use super::detection::Rect;

/// The width `face.steady_px` is measured in.
pub const REFERENCE_WIDTH: f32 = 1280.0;

/// How far a run of steady frames has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Passing frames in a row, the face held still.
    pub held: u32,
    /// `face.steady_frames`: the run that takes the frame.
    pub of: u32,
}

impl Progress {
    /// The run is complete: the frame that completed it is the one taken.
    pub fn done(self) -> bool {
        self.held >= self.of
    }

    /// For the screen's progress bar.
    pub fn percent(self) -> u8 {
        if self.of == 0 {
            return 100;
        }
        let p = u64::from(self.held.min(self.of)) * 100 / u64::from(self.of);
        u8::try_from(p).unwrap_or(100)
    }
}

/// How a checked frame changed the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The face passed and held still (or started the run).
    Held(Progress),
    /// The face passed but its centre jumped: a new run of one starts with it.
    Jumped(Progress),
    /// The frame was refused: no run.
    Broken,
}

impl Fed {
    pub fn progress(self) -> Option<Progress> {
        match self {
            Fed::Held(p) | Fed::Jumped(p) => Some(p),
            Fed::Broken => None,
        }
    }
}

/// The run of steady frames so far.
#[derive(Debug, Clone)]
pub struct Steady {
    frames: u32,
    px_at_reference: f32,
    held: u32,
    /// The last passing face's centre, in fractions of its frame.
    last: Option<(f32, f32)>,
}

impl Steady {
    /// A tracker wanting `frames` steady frames, the centre moving less than `px_at_reference`
    /// pixels of a 1280-wide frame.
    pub fn new(frames: u32, px_at_reference: u32) -> Steady {
        Steady {
            frames: frames.max(1),
            px_at_reference: px_at_reference as f32,
            held: 0,
            last: None,
        }
    }

    /// The tracker `face.steady_frames` asks for; `None` when it is 1 (the first passing frame
    /// is taken, as without a screen).
    pub fn from_config(config: &FaceConfig) -> Option<Steady> {
        (config.steady_frames > 1).then(|| Steady::new(config.steady_frames, config.steady_px))
    }

    /// One checked frame, `width` x `height` pixels: the passing face's box, or `None` when
    /// the frame was refused.
    pub fn feed(&mut self, passed: Option<&Rect>, width: u32, height: u32) -> Fed {
        let Some(face) = passed else {
            self.held = 0;
            self.last = None;
            return Fed::Broken;
        };
        let c = face.centre();
        let centre = (c.x, c.y);
        let jumped = self.last.is_some_and(|(x, y)| {
            let dx = (centre.0 - x) * width as f32;
            let dy = (centre.1 - y) * height as f32;
            let limit = self.limit_px(width);
            // Squared, not `hypot`: f32::hypot links hypotf@GLIBC_2.35, above the packages'
            // glibc floor (clippy.toml refuses it).
            dx * dx + dy * dy >= limit * limit
        });
        self.last = Some(centre);
        if jumped || self.held == 0 {
            self.held = 1;
        } else {
            self.held = self.held.saturating_add(1);
        }
        let progress = Progress {
            held: self.held,
            of: self.frames,
        };
        if jumped {
            Fed::Jumped(progress)
        } else {
            Fed::Held(progress)
        }
    }

    /// A run was building (some passing frames held, not enough yet).
    pub fn building(&self) -> bool {
        self.held > 0 && self.held < self.frames
    }

    /// `steady_px` in pixels of a frame `width` wide.
    fn limit_px(&self, width: u32) -> f32 {
        self.px_at_reference * width as f32 / REFERENCE_WIDTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face box centred at (`x`, `y`), fractions of the frame.
    fn face(x: f32, y: f32) -> Rect {
        Rect {
            left: x - 0.1,
            top: y - 0.15,
            width: 0.2,
            height: 0.3,
        }
    }

    fn held(fed: Fed) -> u32 {
        fed.progress().map_or(0, |p| p.held)
    }

    #[test]
    fn a_face_held_still_completes_the_run_on_its_nth_frame() {
        let mut s = Steady::new(3, 15);
        let f = face(0.5, 0.45);
        assert_eq!(
            s.feed(Some(&f), 1280, 720),
            Fed::Held(Progress { held: 1, of: 3 })
        );
        assert!(s.building());
        assert!(!s.feed(Some(&f), 1280, 720).progress().unwrap().done());
        let third = s.feed(Some(&f), 1280, 720).progress().unwrap();
        assert!(third.done());
        assert_eq!(third.percent(), 100);
        assert!(!s.building());
    }

    #[test]
    fn small_movements_count_a_jump_of_steady_px_starts_over() {
        let mut s = Steady::new(10, 15);
        // 14 px at 1280: still the same face.
        s.feed(Some(&face(0.5, 0.45)), 1280, 720);
        let moved = s.feed(Some(&face(0.5 + 14.0 / 1280.0, 0.45)), 1280, 720);
        assert_eq!(moved, Fed::Held(Progress { held: 2, of: 10 }));
        // 15 px from the previous centre: a new run, this frame its first.
        let x = 0.5 + 29.0 / 1280.0;
        let jumped = s.feed(Some(&face(x, 0.45)), 1280, 720);
        assert_eq!(jumped, Fed::Jumped(Progress { held: 1, of: 10 }));
        // Vertical movement counts too (15 px of 720 rows).
        let down = s.feed(Some(&face(x, 0.45 + 15.0 / 720.0)), 1280, 720);
        assert!(matches!(down, Fed::Jumped(_)), "{down:?}");
    }

    #[test]
    fn steady_px_scales_with_the_frames_width() {
        // 15 px at 1280 is 7.5 px at 640: 8 px of a 640-wide frame is a jump ...
        let mut s = Steady::new(5, 15);
        s.feed(Some(&face(0.5, 0.5)), 640, 480);
        let far = s.feed(Some(&face(0.5 + 8.0 / 640.0, 0.5)), 640, 480);
        assert!(matches!(far, Fed::Jumped(_)), "{far:?}");
        // ... and 7 px is not.
        let near = s.feed(Some(&face(0.5 + 15.0 / 640.0, 0.5)), 640, 480);
        assert_eq!(held(near), 2);
    }

    #[test]
    fn a_refused_frame_ends_the_run() {
        let mut s = Steady::new(4, 15);
        let f = face(0.5, 0.45);
        s.feed(Some(&f), 1280, 720);
        s.feed(Some(&f), 1280, 720);
        // No face, several faces, blurred ...: the run is gone.
        assert_eq!(s.feed(None, 1280, 720), Fed::Broken);
        assert!(!s.building());
        assert_eq!(held(s.feed(Some(&f), 1280, 720)), 1);
    }

    #[test]
    fn a_face_moving_all_the_time_never_completes() {
        let mut s = Steady::new(3, 15);
        for i in 0..50 {
            let x = if i % 2 == 0 { 0.4 } else { 0.6 };
            let fed = s.feed(Some(&face(x, 0.45)), 1280, 720);
            assert!(!fed.progress().unwrap().done(), "frame {i}: {fed:?}");
        }
    }

    #[test]
    fn one_steady_frame_turns_the_tracker_off_and_percent_is_bounded() {
        let one = FaceConfig {
            steady_frames: 1,
            ..FaceConfig::default()
        };
        assert!(Steady::from_config(&one).is_none());
        assert!(Steady::from_config(&FaceConfig::default()).is_some());
        assert_eq!(Progress { held: 3, of: 10 }.percent(), 30);
        assert_eq!(Progress { held: 12, of: 10 }.percent(), 100);
    }
}
