//! The systemd notification protocol (`Type=notify`), as thin as it can be.
//! Every call is a no-op when not started by systemd (no `NOTIFY_SOCKET`).

use std::time::Duration;

use sd_notify::NotifyState;

/// Talks to the service manager. Failures to notify are logged, never fatal:
/// the terminal keeps enrolling even if systemd cannot be told about it.
#[derive(Debug, Clone)]
pub struct Notifier {
    watchdog_interval: Option<Duration>,
}

impl Notifier {
    pub fn from_env() -> Self {
        let mut usec = 0u64;
        let watchdog_interval = sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(100)));
        Notifier { watchdog_interval }
    }

    /// How often the main loop should send WATCHDOG=1 (half of `WatchdogSec=`).
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_interval
    }

    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// Sent only from the main loop, and only while it is healthy: a wedged
    /// loop then gets the unit restarted, which a free-running timer would hide.
    pub fn watchdog(&self) {
        if self.watchdog_interval.is_some() {
            self.send(&[NotifyState::Watchdog]);
        }
    }

    pub fn reloading(&self) {
        self.send(&[NotifyState::Reloading]);
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    fn send(&self, state: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(false, state) {
            log::warn!("cannot notify systemd: {e}");
        }
    }
}
