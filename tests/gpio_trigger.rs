//! The trigger thread end to end on a simulated line: the same thread, rules,
//! fault handling and channel the daemon gets from `gpio::start_trigger`,
//! with a line a test can press. Real time, so timings leave wide margins;
//! decisions use edge timestamps, so a slow machine delays events but does
//! not change them.

use std::time::Duration;

use enrolld::gpio::sim::{self, SimLine};
use enrolld::gpio::{DebounceMode, GpioError, Press, TriggerConfig, TriggerHandle, TriggerHealth};
use enrolld::time::monotonic_ns;
use tokio::sync::mpsc;

const MS: u64 = 1_000_000;
/// Long enough for any expected event on a loaded machine.
const EXPECT: Duration = Duration::from_secs(5);

fn config(text: &str) -> TriggerConfig {
    let c: TriggerConfig = toml::from_str(text).unwrap();
    c.validate().unwrap();
    c
}

fn start(text: &str) -> (SimLine, TriggerHandle, mpsc::Receiver<Press>) {
    let (tx, rx) = mpsc::channel(16);
    let (line, handle) = sim::start_trigger(&config(text), tx).unwrap();
    (line, handle, rx)
}

async fn next(rx: &mut mpsc::Receiver<Press>) -> Press {
    tokio::time::timeout(EXPECT, rx.recv())
        .await
        .expect("an event within 5 s")
        .expect("the trigger is still running")
}

/// Asserts nothing arrives for `ms`.
async fn quiet(rx: &mut mpsc::Receiver<Press>, ms: u64) {
    if let Ok(ev) = tokio::time::timeout(Duration::from_millis(ms), rx.recv()).await {
        panic!("unexpected event {ev:?}");
    }
}

async fn wait_for_health(
    handle: &TriggerHandle,
    want: impl Fn(&TriggerHealth) -> bool,
) -> TriggerHealth {
    let mut changes = handle.health_changes();
    tokio::time::timeout(EXPECT, changes.wait_for(|h| want(h)))
        .await
        .expect("health changed in time")
        .expect("health sender alive")
        .clone()
}

const BUTTON: &str = "kind = \"button\"\nline = \"button\"\ndebounce_ms = 20\ncooldown_ms = 600\n";

#[tokio::test]
async fn one_press_is_one_event_with_its_debounced_edge_time() {
    let (line, handle, mut rx) = start(BUTTON);
    assert_eq!(
        handle.health(),
        TriggerHealth::Ready {
            debounce: DebounceMode::Software
        }
    );
    let before = monotonic_ns();
    line.press(Duration::from_millis(80));
    let ev = next(&mut rx).await;
    let edge = ev
        .edge_monotonic_ns
        .expect("a press from a line carries its edge time");
    assert!(edge >= before + 20 * MS, "debounced: {ev:?}");
    assert!(edge <= monotonic_ns());
    assert!(ev.decided_monotonic_ns.is_some_and(|d| d >= edge));
    quiet(&mut rx, 200).await;
}

#[tokio::test]
async fn a_bounce_storm_and_a_long_hold_are_one_event() {
    let (line, _handle, mut rx) = start(BUTTON);
    for i in 0..30 {
        line.set_active(i % 2 == 0); // 1 ms contact bounce, ends pressed
        std::thread::sleep(Duration::from_millis(1));
    }
    line.set_active(true);
    std::thread::sleep(Duration::from_millis(700)); // held
    line.set_active(false);
    next(&mut rx).await;
    quiet(&mut rx, 300).await;
}

#[tokio::test]
async fn presses_in_the_cooldown_are_dropped() {
    let (line, handle, mut rx) = start(BUTTON);
    line.press(Duration::from_millis(60));
    next(&mut rx).await;
    handle.enrollment_finished();
    let quiet_until = monotonic_ns() + 600 * MS;
    line.press(Duration::from_millis(60)); // inside the 600 ms cooldown
    std::thread::sleep(Duration::from_millis(700));
    line.press(Duration::from_millis(60));
    let ev = next(&mut rx).await;
    assert!(
        ev.edge_monotonic_ns.unwrap() >= quiet_until,
        "the first event after the finish is the press after the cooldown"
    );
}

#[tokio::test]
async fn presence_fires_once_per_episode_after_the_hold() {
    let (line, _handle, mut rx) = start(
        "kind = \"presence\"\nline = \"pir\"\ndebounce_ms = 30\nhold_ms = 200\nrearm_ms = 600\n",
    );
    let arrived = monotonic_ns();
    line.set_active(true);
    // Dropouts shorter than the debounce do not break the episode.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(100));
        line.set_active(false);
        std::thread::sleep(Duration::from_millis(5));
        line.set_active(true);
    }
    let ev = next(&mut rx).await;
    let edge = ev.edge_monotonic_ns.unwrap();
    assert!(edge >= arrived + 30 * MS);
    assert_eq!(ev.decided_monotonic_ns, Some(edge + 200 * MS));
    std::thread::sleep(Duration::from_millis(300));
    line.set_active(false); // leaves for 100 ms: well under the 600 ms rearm
    std::thread::sleep(Duration::from_millis(100));
    line.set_active(true);
    quiet(&mut rx, 500).await;
    line.set_active(false); // leaves for good, then someone new arrives
    std::thread::sleep(Duration::from_millis(800));
    line.set_active(true);
    let second = next(&mut rx).await;
    assert!(second.edge_monotonic_ns.unwrap() > edge + 800 * MS);
}

#[tokio::test]
async fn an_unplugged_line_is_a_fault_and_recovers_without_restart() {
    let (line, handle, mut rx) = start(BUTTON);
    line.unplug();
    let fault = wait_for_health(&handle, |h| matches!(h, TriggerHealth::Fault { .. })).await;
    assert_eq!(
        fault,
        TriggerHealth::Fault {
            error: GpioError::SimulatedUnplug {
                line: "button".into()
            }
        }
    );
    line.replug();
    wait_for_health(&handle, |h| matches!(h, TriggerHealth::Ready { .. })).await;
    line.press(Duration::from_millis(60));
    assert!(next(&mut rx).await.edge_monotonic_ns.is_some());
}

#[tokio::test]
async fn a_press_made_while_unplugged_counts_at_reopen_once() {
    let (line, handle, mut rx) = start(BUTTON);
    line.unplug();
    wait_for_health(&handle, |h| matches!(h, TriggerHealth::Fault { .. })).await;
    line.set_active(true); // pressed while the chip is gone, still held at reopen
    line.replug();
    next(&mut rx).await;
    line.set_active(false);
    quiet(&mut rx, 300).await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_thread() {
    let (_line, handle, mut rx) = start(BUTTON);
    drop(handle);
    // The thread held the only sender: the channel closes when it has exited.
    let closed = tokio::time::timeout(EXPECT, rx.recv())
        .await
        .expect("closed in time");
    assert_eq!(closed, None);
}

#[tokio::test]
async fn kind_none_watches_nothing() {
    let (line, handle, mut rx) = start("kind = \"none\"\n");
    assert_eq!(handle.health(), TriggerHealth::Disabled);
    line.press(Duration::from_millis(50));
    // No thread owns the sender: the channel is closed at once.
    assert_eq!(rx.recv().await, None);
}

#[test]
fn injected_presses_carry_no_edge_time() {
    assert_eq!(Press::injected().edge_monotonic_ns, None);
    assert_eq!(Press::injected().decided_monotonic_ns, None);
}

#[tokio::test]
async fn a_long_outage_is_one_fault_not_one_per_retry() {
    let (line, handle, _rx) = start(BUTTON);
    let mut changes = handle.health_changes();
    changes.borrow_and_update();
    line.unplug();
    tokio::time::timeout(EXPECT, changes.changed())
        .await
        .expect("fault reported")
        .unwrap();
    assert!(matches!(
        *changes.borrow_and_update(),
        TriggerHealth::Fault { .. }
    ));
    // Retries at 200, 400 and 800 ms all fail the same way.
    let again = tokio::time::timeout(Duration::from_millis(1_600), changes.changed()).await;
    assert!(again.is_err(), "the same fault was announced again");
}
