//! What the LEDs show for each terminal state, as data: a list of
//! (levels, duration) steps played once or forever. Tests read the programs
//! directly; the indicator task only plays them.
//!
//! | pattern    | single LED                 | green/red pair        |
//! |------------|----------------------------|-----------------------|
//! | Off        | off                        | off                   |
//! | Busy       | blink 4 Hz                 | green blink 4 Hz      |
//! | Success    | solid 3 s                  | green solid 3 s       |
//! | SeeReception | solid 1 s, then 4 blinks at 2 Hz | green solid 1 s, then 4 red blinks at 2 Hz |
//! | Retake     | double blink, 3 s          | red double blink, 3 s |
//! | Failed     | fast blink 10 Hz, 3 s      | red solid 3 s         |
//! | Queued     | slow blink (0.5 s / 2 s)   | red slow blink        |
//! | Fault      | SOS until replaced         | red SOS               |
//! | Refused    | three short flashes        | three red flashes     |
//!
//! The 3 s patterns then fall back to the pattern the caller chose
//! (`Off` unless told otherwise); the others last until replaced.

use std::time::Duration;

pub use crate::led::Pattern;

/// How the LEDs are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Single,
    Pair,
}

impl Layout {
    /// How many lines carry LEDs.
    pub fn width(self) -> usize {
        match self {
            Layout::Single => 1,
            Layout::Pair => 2,
        }
    }
}

/// Line levels for one step: `[led, unused]` for a single LED, `[green, red]`
/// for a pair. `true` is lit (active-low is the driver's business).
pub type Levels = [bool; 2];

pub const OFF: Levels = [false, false];
const FIRST: Levels = [true, false];
const SECOND: Levels = [false, true];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub levels: Levels,
    pub duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Forever,
    Once,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub steps: Vec<Step>,
    pub repeat: Repeat,
}

impl Program {
    /// One pass through the steps.
    pub fn period(&self) -> Duration {
        self.steps.iter().map(|s| s.duration).sum()
    }
}

/// SOS timing unit: dot = 1, dash = 3, gap in a letter = 1, between letters = 3, after the word = 7.
const SOS_UNIT_MS: u64 = 150;

impl Pattern {
    pub fn program(self, layout: Layout) -> Program {
        // Good news in green, everything else in red; a single LED shows all.
        let lit = match (layout, self) {
            (Layout::Single, _) => FIRST,
            (Layout::Pair, Pattern::Busy | Pattern::Success) => FIRST,
            (Layout::Pair, _) => SECOND,
        };
        let on = |ms| step(lit, ms);
        let off = |ms| step(OFF, ms);
        match self {
            Pattern::Off => forever(vec![off(1_000)]),
            Pattern::Busy => forever(vec![on(125), off(125)]),
            Pattern::Success => once(vec![on(3_000)]),
            // Registered (the success colour first), then "look here" in the attention colour:
            // 2 Hz, well under WCAG's three flashes a second, and unlike every other pattern.
            Pattern::SeeReception => {
                let (done, look) = match layout {
                    Layout::Single => (FIRST, FIRST),
                    Layout::Pair => (FIRST, SECOND),
                };
                let mut steps = vec![step(done, 1_000)];
                steps.extend(times(4, &[step(OFF, 250), step(look, 250)]));
                once(steps)
            }
            Pattern::Retake => once(times(3, &[on(150), off(150), on(150), off(550)])),
            Pattern::Failed => match layout {
                Layout::Single => once(times(30, &[on(50), off(50)])),
                Layout::Pair => once(vec![on(3_000)]),
            },
            Pattern::Queued => forever(vec![on(500), off(1_500)]),
            Pattern::Fault => forever(morse("... --- ...", lit)),
            Pattern::Refused => once(times(3, &[on(60), off(90)])),
        }
    }
}

impl Pattern {
    /// The pattern in words, as a person sees it: `"green solid"`,
    /// `"red double blink"`, `"blinking 4 Hz"` (one LED has no colour to name).
    pub fn describe(self, layout: Layout) -> String {
        let how = match (self, layout) {
            (Pattern::Off, _) => return "off".to_owned(),
            (Pattern::Busy, _) => "blinking 4 Hz",
            (Pattern::Success, _) => "solid",
            (Pattern::SeeReception, Layout::Single) => return "solid, then blinking 2 Hz".into(),
            (Pattern::SeeReception, Layout::Pair) => {
                return "green solid, then red blinking 2 Hz".into();
            }
            (Pattern::Retake, _) => "double blink",
            (Pattern::Failed, Layout::Single) => "fast blink",
            (Pattern::Failed, Layout::Pair) => "solid",
            (Pattern::Queued, _) => "slow blink",
            (Pattern::Fault, _) => "SOS",
            (Pattern::Refused, _) => "three short flashes",
        };
        let lit = self
            .program(layout)
            .steps
            .iter()
            .fold(OFF, |acc, s| [acc[0] || s.levels[0], acc[1] || s.levels[1]]);
        match (layout, lit) {
            (Layout::Pair, [true, false]) => format!("green {how}"),
            (Layout::Pair, [false, true]) => format!("red {how}"),
            _ => how.to_owned(),
        }
    }
}

fn step(levels: Levels, ms: u64) -> Step {
    Step {
        levels,
        duration: Duration::from_millis(ms),
    }
}

fn forever(steps: Vec<Step>) -> Program {
    Program {
        steps,
        repeat: Repeat::Forever,
    }
}

fn once(steps: Vec<Step>) -> Program {
    Program {
        steps,
        repeat: Repeat::Once,
    }
}

fn times(n: usize, steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .copied()
        .cycle()
        .take(n * steps.len())
        .collect()
}

/// Morse as steps: `.` and `-` are marks, a space separates letters; the
/// sequence ends with the word gap so it can repeat.
fn morse(code: &str, lit: Levels) -> Vec<Step> {
    let mut steps = Vec::new();
    for letter in code.split(' ') {
        for mark in letter.chars() {
            let units = if mark == '-' { 3 } else { 1 };
            steps.push(step(lit, units * SOS_UNIT_MS));
            steps.push(step(OFF, SOS_UNIT_MS));
        }
        // Widen the last in-letter gap to a letter gap.
        if let Some(gap) = steps.last_mut() {
            gap.duration = Duration::from_millis(3 * SOS_UNIT_MS);
        }
    }
    if let Some(gap) = steps.last_mut() {
        gap.duration = Duration::from_millis(7 * SOS_UNIT_MS);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit_ms(p: &Program, levels: Levels) -> Vec<u64> {
        p.steps
            .iter()
            .filter(|s| s.levels == levels)
            .map(|s| s.duration.as_millis() as u64)
            .collect()
    }

    #[test]
    fn busy_blinks_at_4_hz_forever() {
        let p = Pattern::Busy.program(Layout::Single);
        assert_eq!(p.repeat, Repeat::Forever);
        assert_eq!(p.period(), Duration::from_millis(250));
        assert_eq!(lit_ms(&p, FIRST), vec![125]);
        assert_eq!(
            lit_ms(&Pattern::Busy.program(Layout::Pair), [true, false]),
            vec![125],
            "green"
        );
    }

    #[test]
    fn outcomes_last_three_seconds_then_end() {
        for p in [Pattern::Success, Pattern::Retake, Pattern::Failed] {
            for layout in [Layout::Single, Layout::Pair] {
                let prog = p.program(layout);
                assert_eq!(prog.repeat, Repeat::Once, "{p:?}");
                assert_eq!(prog.period(), Duration::from_secs(3), "{p:?} {layout:?}");
            }
        }
    }

    #[test]
    fn retake_is_a_double_blink_each_second() {
        let p = Pattern::Retake.program(Layout::Single);
        assert_eq!(lit_ms(&p, FIRST).len(), 6);
        let first_second: Vec<bool> = p.steps[..4].iter().map(|s| s.levels[0]).collect();
        assert_eq!(first_second, [true, false, true, false]);
    }

    #[test]
    fn failed_is_fast_blink_on_one_led_and_solid_red_on_a_pair() {
        let single = Pattern::Failed.program(Layout::Single);
        assert_eq!(lit_ms(&single, FIRST), vec![50; 30]);
        let pair = Pattern::Failed.program(Layout::Pair);
        assert_eq!(pair.steps, vec![step(SECOND, 3_000)]);
    }

    #[test]
    fn good_news_is_green_bad_news_is_red() {
        let uses = |p: Pattern, levels: Levels| {
            p.program(Layout::Pair)
                .steps
                .iter()
                .any(|s| s.levels == levels)
        };
        for p in [Pattern::Busy, Pattern::Success] {
            assert!(uses(p, FIRST) && !uses(p, SECOND), "{p:?}");
        }
        for p in [
            Pattern::Retake,
            Pattern::Failed,
            Pattern::Queued,
            Pattern::Fault,
            Pattern::Refused,
        ] {
            assert!(uses(p, SECOND) && !uses(p, FIRST), "{p:?}");
        }
        assert!(!uses(Pattern::Off, FIRST) && !uses(Pattern::Off, SECOND));
    }

    #[test]
    fn single_led_patterns_never_touch_the_second_line() {
        for p in Pattern::ALL {
            assert!(
                p.program(Layout::Single).steps.iter().all(|s| !s.levels[1]),
                "{p:?}"
            );
        }
    }

    #[test]
    fn fault_is_sos() {
        let p = Pattern::Fault.program(Layout::Single);
        assert_eq!(p.repeat, Repeat::Forever);
        assert_eq!(
            lit_ms(&p, FIRST),
            vec![150, 150, 150, 450, 450, 450, 150, 150, 150]
        );
        let gaps = lit_ms(&p, OFF);
        assert_eq!(gaps, vec![150, 150, 450, 150, 150, 450, 150, 150, 1_050]);
    }

    #[test]
    fn refused_is_short_and_distinct_from_failed() {
        let r = Pattern::Refused.program(Layout::Single);
        assert_eq!(r.repeat, Repeat::Once);
        assert!(r.period() < Duration::from_secs(1));
        assert_ne!(r, Pattern::Failed.program(Layout::Single));
    }

    #[test]
    fn every_program_has_steps_and_no_zero_length_step() {
        for p in Pattern::ALL {
            for layout in [Layout::Single, Layout::Pair] {
                let prog = p.program(layout);
                assert!(!prog.steps.is_empty());
                assert!(prog.steps.iter().all(|s| !s.duration.is_zero()), "{p:?}");
            }
        }
    }
}
