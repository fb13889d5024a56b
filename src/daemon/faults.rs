//! Broken drivers: raising and clearing faults, reopening a camera that went
//! away, and the periodic tick that watches health and pings the watchdog.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::messages::Input;
use super::state::{Daemon, Recovery};
use crate::machine::{Component, Event};
use crate::status::Health;

/// Camera reopen attempts back off up to this.
const MAX_RECOVERY_BACKOFF: Duration = Duration::from_secs(30);

/// A store job running this long means the disk hangs: the watchdog ping
/// stops, and systemd restarts the daemon rather than leave it half-working.
const STORE_STUCK: Duration = Duration::from_secs(60);

impl Daemon {
    /// A driver broke: shown in the status file and, through the machine, on the LED.
    pub fn raise_fault(&mut self, component: Component, detail: String) {
        self.note_fault(component, detail);
        self.handle(Event::FaultRaised(component));
    }

    /// Records a fault the machine already knows of (a capture past its deadline).
    pub fn note_fault(&mut self, component: Component, detail: String) {
        match component {
            Component::Camera => {
                self.status.camera = Health::broken(detail.clone());
                if self.faults.camera.is_none() {
                    self.faults.recovery = Recovery {
                        running: false,
                        next_try: Some(Instant::now() + Duration::from_secs(1)),
                        backoff: Duration::from_secs(1),
                    };
                    log::error!("camera fault: {detail}");
                }
                self.faults.camera = Some(detail);
            }
            Component::Gpio => {
                self.status.gpio = Health::broken(detail.clone());
                self.faults.gpio = Some(detail);
            }
        }
        self.write_status();
    }

    fn clear_fault(&mut self, component: Component) {
        let was = match component {
            Component::Camera => {
                self.status.camera = Health::ok();
                self.faults.camera.take()
            }
            Component::Gpio => {
                self.status.gpio = Health::ok();
                self.faults.gpio.take()
            }
        };
        if was.is_some() {
            log::info!("{} recovered", component_name(component));
            self.handle(Event::FaultCleared(component));
        }
    }

    pub fn camera_recovered(&mut self, result: Result<(), crate::camera::CameraError>) {
        self.faults.recovery.running = false;
        match result {
            Ok(()) => self.clear_fault(Component::Camera),
            Err(e) => {
                log::debug!("camera still broken: {e}");
                // The status file keeps the fault in words.
                self.status.camera = Health::broken(e.to_string());
            }
        }
    }

    /// Once a second (or per watchdog interval): driver health, camera
    /// recovery, the status file, and the watchdog ping, sent from here so a
    /// wedged loop (or a hung disk under the store) stops pinging and systemd
    /// restarts the daemon.
    pub fn tick(&mut self) {
        let gpio = self
            .indicator
            .as_ref()
            .and_then(|i| i.fault())
            .or_else(|| self.trigger.fault());
        match (gpio, self.faults.gpio.is_some()) {
            (Some(error), false) => {
                log::error!("GPIO fault: {error}");
                self.raise_fault(Component::Gpio, error.to_string());
            }
            (None, true) => self.clear_fault(Component::Gpio),
            _ => {}
        }
        self.try_camera_recovery();
        self.write_status();
        match self.store.busy_for(Instant::now()) {
            Some(busy) if busy >= STORE_STUCK => log::error!(
                "the state directory has not answered for {} s (a failing SD card?); \
                 no watchdog ping, systemd will restart enrolld",
                busy.as_secs()
            ),
            _ => self.notifier.watchdog(),
        }
    }

    /// Reopens a broken camera, backing off, while no capture is running.
    fn try_camera_recovery(&mut self) {
        let r = &mut self.faults.recovery;
        if self.faults.camera.is_none() || r.running || self.machine.busy() {
            return;
        }
        if r.next_try.is_some_and(|t| Instant::now() < t) {
            return;
        }
        r.running = true;
        r.backoff = (r.backoff * 2).min(MAX_RECOVERY_BACKOFF);
        r.next_try = Some(Instant::now() + r.backoff);
        let camera = Arc::clone(&self.camera);
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let result = camera.lock().unwrap_or_else(|p| p.into_inner()).recover();
            let _ = inputs.blocking_send(Input::CameraRecovery(result));
        });
    }
}

fn component_name(c: Component) -> &'static str {
    match c {
        Component::Camera => "the camera",
        Component::Gpio => "GPIO",
    }
}
