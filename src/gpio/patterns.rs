//! What the LEDs show for each terminal state, as data: a list of
//! (levels, duration) steps played once or forever. Tests read the programs
//! directly; the indicator task only plays them.
//!
//! | pattern    | single LED                                   | green/red pair        |
//! |------------|----------------------------------------------|-----------------------|
//! | Off        | off                                          | off                   |
//! | Busy       | blink 2 Hz (0.25 s on / 0.25 s off)          | green blink 2 Hz      |
//! | Success    | solid 3 s                                    | green solid 3 s       |
//! | SeeReception | solid 1 s, then 4 blinks at 2 Hz            | green solid 1 s, then 4 red blinks at 2 Hz |
//! | Retake     | double blink once a second, 3 s              | red double blink, 3 s |
//! | Failed     | long blinks (0.7 s on / 0.3 s off), 3 s      | red solid 3 s         |
//! | Queued     | slow blink (0.5 s on / 1.5 s off)            | red slow blink        |
//! | Fault      | SOS (dot 0.17 s) until replaced              | red SOS               |
//! | Refused    | three short flashes (0.1 s, 0.34 s apart)    | three red flashes     |
//!
//! The 3 s patterns then fall back to the pattern the caller chose
//! (`Off` unless told otherwise); the others last until replaced.
//!
//! Two rules every program keeps (the tests below read the tables for them):
//! - **At most three flashes a second** (WCAG 2.3.1, for the person at the wall): a flash is
//!   one lit run of one line, and two flashes start at least [`MIN_FLASH_SPACING`] apart, so
//!   no one-second window holds more than three and no burst flickers faster either. The
//!   indicator task keeps the rule when one pattern cuts into another (`indicator.rs`).
//! - **Each pattern looks unlike every other** to a person who watches it from dark: some lit
//!   or dark run differs in colour, or in length by at least half again (the tests'
//!   `distinguishable`). The real-kernel scenarios' `runs_match`
//!   (tests/real_kernel/guest/lib.sh) tells the patterns apart by the same run lengths.

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
/// The dots of an S start two units apart: 170 ms keeps them [`MIN_FLASH_SPACING`] apart.
const SOS_UNIT_MS: u64 = 170;

/// The shortest time between the starts of two flashes of one LED: a third of a second
/// (rounded up), so not even a short burst flickers faster than three times a second, and no
/// one-second window holds more than three (WCAG 2.3.1). The indicator task holds a line dark until
/// this has passed when one pattern replaces another mid-flash (`indicator.rs`).
pub const MIN_FLASH_SPACING: Duration = Duration::from_millis(334);

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
            Pattern::Busy => forever(vec![on(250), off(250)]),
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
            Pattern::Retake => once(times(3, &[on(170), off(170), on(170), off(490)])),
            Pattern::Failed => match layout {
                // Mostly lit, like the pair's solid red, but broken: not the solid of success.
                Layout::Single => once(times(3, &[on(700), off(300)])),
                Layout::Pair => once(vec![on(3_000)]),
            },
            Pattern::Queued => forever(vec![on(500), off(1_500)]),
            Pattern::Fault => forever(morse("... --- ...", lit)),
            Pattern::Refused => once(times(3, &[on(100), off(240)])),
        }
    }
}

impl Pattern {
    /// The pattern in words, as a person sees it: `"green solid"`,
    /// `"red double blink"`, `"blinking 2 Hz"` (one LED has no colour to name).
    pub fn describe(self, layout: Layout) -> String {
        let how = match (self, layout) {
            (Pattern::Off, _) => return "off".to_owned(),
            (Pattern::Busy, _) => "blinking 2 Hz",
            (Pattern::Success, _) => "solid",
            (Pattern::SeeReception, Layout::Single) => return "solid, then blinking 2 Hz".into(),
            (Pattern::SeeReception, Layout::Pair) => {
                return "green solid, then red blinking 2 Hz".into();
            }
            (Pattern::Retake, _) => "double blink",
            (Pattern::Failed, Layout::Single) => "long blinks",
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
    fn busy_blinks_at_2_hz_forever() {
        let p = Pattern::Busy.program(Layout::Single);
        assert_eq!(p.repeat, Repeat::Forever);
        assert_eq!(p.period(), Duration::from_millis(500));
        assert_eq!(lit_ms(&p, FIRST), vec![250]);
        assert_eq!(
            lit_ms(&Pattern::Busy.program(Layout::Pair), [true, false]),
            vec![250],
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
    fn failed_is_long_blinks_on_one_led_and_solid_red_on_a_pair() {
        let single = Pattern::Failed.program(Layout::Single);
        assert_eq!(lit_ms(&single, FIRST), vec![700; 3]);
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
            vec![170, 170, 170, 510, 510, 510, 170, 170, 170]
        );
        let gaps = lit_ms(&p, OFF);
        assert_eq!(gaps, vec![170, 170, 510, 170, 170, 510, 170, 170, 1_190]);
    }

    #[test]
    fn refused_is_three_short_flashes_in_about_a_second() {
        let r = Pattern::Refused.program(Layout::Single);
        assert_eq!(r.repeat, Repeat::Once);
        assert_eq!(lit_ms(&r, FIRST), vec![100; 3]);
        assert!(r.period() <= Duration::from_millis(1_100));
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

    // --- What a person sees: flash rate and telling patterns apart -----------------------

    /// WCAG 2.3.1: nothing may flash more than three times in any one second.
    const MAX_FLASHES: usize = 3;
    const FLASH_WINDOW: Duration = Duration::from_secs(1);

    /// Long enough to see every once-program end (then dark) and a whole SOS.
    const WATCH_MS: u64 = 7_000;

    /// The levels as runs, the way the program plays from dark for `window_ms`: a forever
    /// program repeats, a once program is followed by dark (its fallback, `Off`). Adjacent
    /// steps with the same levels make one run; the last run is cut by the window.
    fn runs_seen(p: &Program, window_ms: u64) -> Vec<(Levels, u64)> {
        let mut runs: Vec<(Levels, u64)> = Vec::new();
        let mut push = |levels: Levels, ms: u64| match runs.last_mut() {
            Some(last) if last.0 == levels => last.1 += ms,
            _ => runs.push((levels, ms)),
        };
        let mut t = 0;
        'play: loop {
            for s in &p.steps {
                let ms = (s.duration.as_millis() as u64).min(window_ms - t);
                push(s.levels, ms);
                t += ms;
                if t == window_ms {
                    break 'play;
                }
            }
            if p.repeat == Repeat::Once {
                push(OFF, window_ms - t);
                break;
            }
        }
        runs
    }

    /// When each flash of one line starts (ms from the start), played from dark.
    fn onsets(p: &Program, line: usize) -> Vec<u64> {
        // Forever programs over several periods, so the seam between two passes counts.
        let window = WATCH_MS.max(3 * p.period().as_millis() as u64);
        let mut out = Vec::new();
        let (mut t, mut lit) = (0, false);
        for (levels, ms) in runs_seen(p, window) {
            if levels[line] && !lit {
                out.push(t);
            }
            lit = levels[line];
            t += ms;
        }
        out
    }

    /// The most flashes starting in any one-second window (WCAG 2.3.1's count).
    fn most_in_a_second(onsets: &[u64]) -> usize {
        let window = FLASH_WINDOW.as_millis() as u64;
        (0..onsets.len())
            .map(|i| {
                onsets[i..]
                    .iter()
                    .take_while(|&&o| o < onsets[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    /// The shortest time between two flashes: no burst flickers faster than 3 Hz either.
    fn closest(onsets: &[u64]) -> Option<u64> {
        onsets.windows(2).map(|w| w[1] - w[0]).min()
    }

    fn every_program() -> impl Iterator<Item = (Pattern, Layout, Program)> {
        Pattern::ALL.into_iter().flat_map(|p| {
            [Layout::Single, Layout::Pair]
                .into_iter()
                .map(move |l| (p, l, p.program(l)))
        })
    }

    #[test]
    fn no_pattern_flashes_more_than_three_times_a_second() {
        let spacing = MIN_FLASH_SPACING.as_millis() as u64;
        for (p, layout, prog) in every_program() {
            for line in 0..layout.width() {
                let starts = onsets(&prog, line);
                let most = most_in_a_second(&starts);
                assert!(
                    most <= MAX_FLASHES,
                    "{p:?} {layout:?} line {line}: {most} flashes in one second"
                );
                if let Some(gap) = closest(&starts) {
                    assert!(
                        gap >= spacing,
                        "{p:?} {layout:?} line {line}: flashes {gap} ms apart"
                    );
                }
            }
        }
    }

    #[test]
    fn the_flash_checks_catch_the_old_patterns() {
        // Before: busy at 4 Hz, failed at 10 Hz, refused as three flashes at about 7 Hz (three
        // in 450 ms: within WCAG's count, but a 7 Hz flicker, which the spacing catches).
        let busy = onsets(&forever(vec![step(FIRST, 125), step(OFF, 125)]), 0);
        let failed = onsets(&once(times(30, &[step(FIRST, 50), step(OFF, 50)])), 0);
        let refused = onsets(&once(times(3, &[step(FIRST, 60), step(OFF, 90)])), 0);
        assert_eq!(most_in_a_second(&busy), 4);
        assert_eq!(most_in_a_second(&failed), 10);
        assert_eq!(most_in_a_second(&refused), 3);
        assert_eq!(closest(&refused), Some(150));
        assert!(closest(&refused).unwrap() < MIN_FLASH_SPACING.as_millis() as u64);
    }

    /// How much longer one run must be than the other for a person to tell them apart at a
    /// glance (not with a stopwatch): half again. `runs_match` (lib.sh) classes measured runs
    /// at the geometric midpoints between nominal lengths, well inside that.
    const TELLING_RATIO: f64 = 1.5;

    /// Whether a person watching both from dark sees a difference: at some run one is lit and
    /// the other dark or another colour, or one is at least [`TELLING_RATIO`] times as long as
    /// the other. A run cut by the window is only a lower bound, so it can show a difference
    /// by being the longer one, never by being the shorter.
    fn distinguishable(a: &Program, b: &Program) -> bool {
        let (ra, rb) = (runs_seen(a, WATCH_MS), runs_seen(b, WATCH_MS));
        let (cut_a, cut_b) = (ra.len() - 1, rb.len() - 1);
        ra.iter()
            .zip(&rb)
            .enumerate()
            .any(|(i, (&(la, ma), &(lb, mb)))| {
                let (ma, mb) = (ma as f64, mb as f64);
                la != lb
                    || (ma >= TELLING_RATIO * mb && i != cut_b)
                    || (mb >= TELLING_RATIO * ma && i != cut_a)
            })
    }

    #[test]
    fn every_pattern_looks_unlike_every_other() {
        for layout in [Layout::Single, Layout::Pair] {
            for (i, a) in Pattern::ALL.iter().enumerate() {
                for b in &Pattern::ALL[i + 1..] {
                    assert!(
                        distinguishable(&a.program(layout), &b.program(layout)),
                        "{a:?} and {b:?} look alike on {layout:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn telling_apart_catches_look_alikes() {
        let blink = |on, off| forever(vec![step(FIRST, on), step(OFF, off)]);
        // 10 % apart: the same blink to a person.
        assert!(!distinguishable(&blink(250, 250), &blink(230, 270)));
        let busy = Pattern::Busy.program(Layout::Single);
        assert!(!distinguishable(&busy, &busy));
        // Flashes half again as long: told apart.
        assert!(distinguishable(&blink(250, 250), &blink(375, 250)));
        // Three flashes that stop, against the same flashes going on: told apart by the dark
        // after the third (cut by the window: a lower bound, and the longer one).
        let three = once(times(3, &[step(FIRST, 170), step(OFF, 170)]));
        assert!(distinguishable(&three, &blink(170, 170)));
        // A failed shown solid on one LED, as on a pair, would pass for success.
        assert!(!distinguishable(
            &Pattern::Success.program(Layout::Single),
            &once(vec![step(FIRST, 3_000)])
        ));
    }
}
