//! The indicator task on simulated LEDs, with tokio's paused clock: the
//! exact sequence of levels and when each began.

use std::time::Duration;

use enrolld::gpio::sim::{self, SimLeds};
use enrolld::gpio::{GpioError, IndicatorHandle, Layout, Levels, Pattern};

const OFF: Levels = [false, false];
const ON: Levels = [true, false];
const GREEN: Levels = [true, false];
const RED: Levels = [false, true];

/// Starts the indicator and lets the task take its first step.
async fn start(layout: Layout) -> (IndicatorHandle, SimLeds) {
    let (handle, leds) = sim::start_indicator(layout);
    settle().await;
    (handle, leds)
}

/// Lets the indicator task run without advancing the clock.
async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Transitions from `from_ms` on, as (ms, levels).
fn since(leds: &SimLeds, from_ms: u64) -> Vec<(u64, Levels)> {
    leds.transitions()
        .into_iter()
        .map(|t| (t.at.as_millis() as u64, t.levels))
        .filter(|&(at, _)| at >= from_ms)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn starts_dark() {
    let (_handle, leds) = start(Layout::Single).await;
    assert_eq!(since(&leds, 0), vec![(0, OFF)]);
    assert_eq!(leds.render(), "LED [ ]");
}

#[tokio::test(start_paused = true)]
async fn busy_blinks_at_2_hz() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Busy);
    sleep_ms(1_010).await;
    let expected: Vec<(u64, Levels)> = (0..5)
        .map(|i| (i * 250, if i % 2 == 0 { ON } else { OFF }))
        .collect();
    assert_eq!(since(&leds, 0)[1..], expected[..]);
}

#[tokio::test(start_paused = true)]
async fn registered_is_solid_for_3_s_then_idle() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Success);
    sleep_ms(10_000).await;
    assert_eq!(since(&leds, 0), vec![(0, OFF), (0, ON), (3_000, OFF)]);
}

#[tokio::test(start_paused = true)]
async fn a_new_pattern_replaces_the_current_one_mid_step() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Queued); // on 500 ms, off 1500 ms
    sleep_ms(100).await;
    handle.show(Pattern::Failed); // on 700, off 300 from now; still lit, so no write at 100
    sleep_ms(1_100).await;
    // Queued would go dark at 500 and stay dark until 2000: these are Failed's.
    assert_eq!(
        since(&leds, 0),
        vec![(0, OFF), (0, ON), (800, OFF), (1_100, ON)]
    );
}

#[tokio::test(start_paused = true)]
async fn an_outcome_can_fall_back_to_queued() {
    let (handle, leds) = start(Layout::Pair).await;
    handle.show_then(Pattern::Success, Pattern::Queued);
    sleep_ms(5_100).await;
    assert_eq!(
        since(&leds, 0),
        vec![
            (0, OFF),
            (0, GREEN),
            (3_000, RED),
            (3_500, OFF),
            (5_000, RED)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn pair_shows_failure_in_red_and_sos_for_a_fault() {
    let (handle, leds) = start(Layout::Pair).await;
    handle.show(Pattern::Failed);
    sleep_ms(3_100).await;
    assert_eq!(since(&leds, 0), vec![(0, OFF), (0, RED), (3_000, OFF)]);
    handle.show(Pattern::Fault);
    settle().await;
    assert_eq!(leds.render(), "green [ ] red [*]");
    sleep_ms(5_800).await; // one SOS is 5.78 s; then it starts again
    let marks: Vec<u64> = since(&leds, 3_100)
        .windows(2)
        .filter(|w| w[0].1 == RED)
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert_eq!(marks, vec![170, 170, 170, 510, 510, 510, 170, 170, 170]);
    assert_eq!(leds.current(), RED, "the SOS repeats until replaced");
}

#[tokio::test(start_paused = true)]
async fn a_pattern_cutting_in_waits_in_the_dark_rather_than_flash_too_soon() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Retake); // flashes start at 0 and 340
    sleep_ms(520).await;
    handle.show(Pattern::Refused); // three flashes, 340 ms apart, from now
    sleep_ms(1_500).await;
    // Refused's first flash would start 180 ms after the retake's second: it waits until
    // 334 ms after it (674), then plays whole.
    assert_eq!(
        since(&leds, 0),
        vec![
            (0, OFF),
            (0, ON),
            (170, OFF),
            (340, ON),
            (510, OFF),
            (674, ON),
            (774, OFF),
            (1_014, ON),
            (1_114, OFF),
            (1_354, ON),
            (1_454, OFF),
        ]
    );
}

/// Every start of a flash on each line, in ms.
fn onsets(leds: &SimLeds) -> [Vec<u64>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    let mut lit = OFF;
    for (at, levels) in since(leds, 0) {
        for line in 0..2 {
            if levels[line] && !lit[line] {
                out[line].push(at);
            }
        }
        lit = levels;
    }
    out
}

#[tokio::test(start_paused = true)]
async fn no_switching_of_patterns_makes_a_line_flash_more_than_three_times_a_second() {
    for layout in [Layout::Single, Layout::Pair] {
        let (handle, leds) = start(layout).await;
        // A fixed seed: the same 400 switches at random moments every run.
        let mut rng = fastrand::Rng::with_seed(28);
        for _ in 0..400 {
            let pattern = Pattern::ALL[rng.usize(..Pattern::ALL.len())];
            handle.show(pattern);
            sleep_ms(rng.u64(1..700)).await;
        }
        for (line, starts) in onsets(&leds).iter().enumerate().take(layout.width()) {
            let closest = starts.windows(2).map(|w| w[1] - w[0]).min();
            assert!(
                closest.is_some_and(|ms| ms >= 334),
                "{layout:?} line {line}: flashes {closest:?} ms apart ({} flashes)",
                starts.len()
            );
            let most = (0..starts.len())
                .map(|i| {
                    starts[i..]
                        .iter()
                        .take_while(|&&t| t < starts[i] + 1_000)
                        .count()
                })
                .max();
            assert!(
                most <= Some(3),
                "{layout:?} line {line}: {most:?} flashes in one second"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_leaves_the_leds_off() {
    let (handle, leds) = start(Layout::Pair).await;
    handle.show(Pattern::Fault);
    sleep_ms(50).await;
    assert_eq!(leds.current(), RED);
    handle.shutdown().await;
    assert_eq!(leds.current(), OFF);
    let count = leds.transitions().len();
    sleep_ms(10_000).await;
    assert_eq!(
        leds.transitions().len(),
        count,
        "nothing drives the LEDs after shutdown"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_leaves_the_leds_off() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Success);
    settle().await;
    assert_eq!(leds.current(), ON);
    drop(handle);
    settle().await;
    assert_eq!(leds.current(), OFF);
}

#[tokio::test(start_paused = true)]
async fn a_failing_driver_is_reported_once_and_recovers() {
    let (handle, leds) = start(Layout::Single).await;
    let unplugged = GpioError::SimulatedUnplug { line: "led".into() };
    leds.fail_with(Some(unplugged.clone()));
    handle.show(Pattern::Busy);
    sleep_ms(500).await;
    assert_eq!(handle.fault(), Some(unplugged));
    assert_eq!(since(&leds, 1), vec![], "nothing was written while failing");
    leds.fail_with(None);
    sleep_ms(2_100).await; // the next attempt comes 2 s after the failure
    assert_eq!(handle.fault(), None);
    assert!(!since(&leds, 2_000).is_empty(), "the blink resumed");
}

#[tokio::test(start_paused = true)]
async fn a_steady_pattern_recovers_too() {
    let (handle, leds) = start(Layout::Single).await;
    leds.fail_with(Some(GpioError::SimulatedUnplug { line: "led".into() }));
    handle.show(Pattern::Success);
    sleep_ms(3_500).await; // back to Idle (steady) while failing
    assert!(handle.fault().is_some());
    leds.fail_with(None);
    sleep_ms(2_100).await;
    assert_eq!(handle.fault(), None, "recovered without a new command");
    assert_eq!(leds.current(), OFF);
}

#[tokio::test(start_paused = true)]
async fn disabled_indicator_accepts_everything() {
    let handle = IndicatorHandle::disabled();
    handle.show(Pattern::Busy);
    assert_eq!(handle.fault(), None);
    handle.shutdown().await;
}
