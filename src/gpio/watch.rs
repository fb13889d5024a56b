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
use super::trigger::{TriggerEvent, TriggerHandle, TriggerHealth};
use crate::time::monotonic_ns;

/// Runs until `stop` completes. Write errors on `out` are ignored (a closed
/// pipe must not keep the LEDs lit).
pub async fn watch(
    mut events: mpsc::Receiver<TriggerEvent>,
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
            event = events.recv(), if events_open => match event {
                Some(e) => {
                    let _ = writeln!(
                        out,
                        "event: {:?} edge_ns={} decided_ns={} received_ns={}",
                        e.kind, e.edge_timestamp_ns, e.decided_at_ns, monotonic_ns()
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
        TriggerHealth::Ready { debounce } => format!("ready, debounce: {debounce:?}"),
        TriggerHealth::Fault { error } => format!("fault: {error}"),
    }
}
