//! `enrolld probe --watch`: a wiring check. Prints every trigger event and
//! health change and lights the indicator ("registered", 3 s) on each event,
//! until stopped; the LEDs are off when it returns.
//!
//! The person at the wall presses the button and sees the event and the LED.
//! The real-kernel tests do the same with gpio-sim: they drive the input
//! line and read the LED line, through the real driver.

use std::future::Future;
use std::io::Write;

use tokio::sync::mpsc;

use super::indicator::IndicatorHandle;
use super::patterns::Pattern;
use super::trigger::{DebounceMode, TriggerHandle, TriggerHealth};
use crate::press::Press;
use crate::time::monotonic_ns;

/// Runs until `stop` completes. Write errors on `out` are ignored (a closed
/// pipe must not keep the LEDs lit).
pub async fn watch(
    mut presses: mpsc::Receiver<Press>,
    trigger: &TriggerHandle,
    leds: IndicatorHandle,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) {
    let mut health = trigger.health_changes();
    let _ = writeln!(out, "trigger: {}", describe(&health.borrow_and_update()));
    let _ = out.flush();
    let mut events_open = true;
    let mut health_open = true;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            press = presses.recv(), if events_open => match press {
                Some(p) => {
                    let ns = |t: Option<u64>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
                    let _ = writeln!(
                        out,
                        "event: press edge_ns={} decided_ns={} received_ns={}",
                        ns(p.edge_monotonic_ns),
                        ns(p.decided_monotonic_ns),
                        monotonic_ns()
                    );
                    leds.show(Pattern::Success);
                    trigger.enrollment_finished();
                }
                None => events_open = false,
            },
            changed = health.changed(), if health_open => match changed {
                Ok(()) => {
                    let _ = writeln!(out, "trigger: {}", describe(&health.borrow_and_update()));
                }
                Err(_) => health_open = false,
            },
            () = &mut stop => break,
        }
        let _ = out.flush();
    }
    leds.shutdown().await;
    let _ = writeln!(out, "stopped: LEDs off");
    let _ = out.flush();
}

fn describe(h: &TriggerHealth) -> String {
    match h {
        TriggerHealth::Disabled => "disabled (kind = \"none\")".into(),
        TriggerHealth::Ready { debounce } => format!("ready, {}", debounce_words(*debounce)),
        TriggerHealth::Fault { error } => format!("fault: {error}"),
    }
}

fn debounce_words(mode: DebounceMode) -> &'static str {
    match mode {
        DebounceMode::Kernel => "debounced by the kernel",
        DebounceMode::Software => "debounced in software",
        DebounceMode::Off => "no debounce (debounce_ms = 0)",
    }
}
