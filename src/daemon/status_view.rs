//! The status file and systemd's STATUS= line, from the machine's state and
//! the store's snapshot (never from the disk); the screen is derived at the same moments
//! (`screen_view`).

use super::state::Daemon;
use crate::status::QueueStatus;

impl Daemon {
    pub fn refresh_status(&mut self) {
        let state = self.machine.state();
        let now = crate::time::unix_now();
        self.status.set_state(state.name(), now);
        let snapshot = self.store.snapshot();
        self.status.tickets_pending = snapshot.tickets_pending;
        self.status.queue = QueueStatus::of(&snapshot, self.machine.paused());
        self.status.mqtt = self.fleet.mqtt_health();
        self.status.display = self.display.as_ref().and_then(|d| d.status());
    }

    /// Writes the status file (and hands it to MQTT and the metrics) when
    /// it changed.
    pub fn write_status(&mut self) {
        let before = self.status.state.clone();
        self.refresh_status();
        // The screen follows the same state, at the same moments.
        self.show_scene();
        if !self.status_file.submit(&self.status) {
            return;
        }
        self.fleet.status(&self.status);
        if before != self.status.state {
            self.notifier.status(&self.summary());
        }
    }

    /// One line for `systemctl status`.
    pub fn summary(&self) -> String {
        let registered = self.status.counters.get("registered").copied().unwrap_or(0);
        format!(
            "{}; {} registered; queue {}{}; tickets {}",
            self.machine.state().name(),
            registered,
            self.status.queue.depth,
            if self.status.queue.paused {
                " (paused)"
            } else {
                ""
            },
            self.status.tickets_pending
        )
    }
}
