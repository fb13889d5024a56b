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
async fn busy_blinks_at_4_hz() {
    let (handle, leds) = start(Layout::Single).await;
    handle.show(Pattern::Busy);
    sleep_ms(1_010).await;
    let expected: Vec<(u64, Levels)> = (0..9)
        .map(|i| (i * 125, if i % 2 == 0 { ON } else { OFF }))
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
    handle.show(Pattern::Failed); // 10 Hz from now; still lit, so no write at 100
    sleep_ms(120).await;
    // Queued would stay lit until 500: the dark step at 150 is Failed's.
    assert_eq!(
        since(&leds, 0),
        vec![(0, OFF), (0, ON), (150, OFF), (200, ON)]
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
    sleep_ms(5_150).await; // one SOS is 5.1 s; then it starts again
    let marks: Vec<u64> = since(&leds, 3_100)
        .windows(2)
        .filter(|w| w[0].1 == RED)
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert_eq!(marks, vec![150, 150, 150, 450, 450, 450, 150, 150, 150]);
    assert_eq!(leds.current(), RED, "the SOS repeats until replaced");
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
