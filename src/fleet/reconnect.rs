//! When to try the broker again, and what a run of failures says.
//!
//! The wait doubles with every failure in a row and is reset only by a connection that
//! lasted: one that outlived twice the longest wait (`reconnect_max_ms`). A connection the
//! broker accepts and closes again within seconds keeps the count growing, so a terminal
//! never reconnects at its shortest wait for ever. The common cause is a second client with
//! the same client id: the broker closes the older connection whenever the other connects,
//! and each of the two, backing off to at most `reconnect_max_ms`, is back within that
//! time, so while they fight no connection outlives it. Three such closes in a row name
//! that cause (said once, until a connection lasts).

use std::time::{Duration, Instant};

use super::config::MqttConfig;

/// Broker-closed connections in a row, each shorter than [`Reconnect::lasting`], that name a
/// client id taken by another client.
pub const TAKEN_AFTER: u32 = 3;

/// The counts behind the waits (one per MQTT connection task).
#[derive(Debug)]
pub struct Reconnect {
    min_ms: u64,
    max_ms: u64,
    /// Failures since the last connection that lasted.
    failures: u32,
    /// Connections in a row the broker closed before they lasted.
    closed_young: u32,
    /// When the current connection was accepted (its ConnAck).
    connected_at: Option<Instant>,
    /// The "client id taken" note is out.
    taken: bool,
}

/// What a failure leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub wait: Duration,
    /// The failures so far point at a second client with this client id.
    pub taken: Taken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    No,
    /// Just now: say it.
    Now,
    /// Said before and still so: say nothing more.
    Still,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Never accepted (refused, unreachable, TLS, no ConnAck).
    NotConnected,
    /// Accepted, then closed by the broker.
    ClosedByBroker,
    /// Accepted, then lost on this side (keep-alive unanswered, a write failed).
    Lost,
}

impl Reconnect {
    pub fn new(config: &MqttConfig) -> Reconnect {
        Reconnect {
            min_ms: config.reconnect_min_ms,
            max_ms: config.reconnect_max_ms,
            failures: 0,
            closed_young: 0,
            connected_at: None,
            taken: false,
        }
    }

    /// How long a connection must last to reset the wait and clear the "taken" note.
    pub fn lasting(&self) -> Duration {
        Duration::from_millis(self.max_ms.saturating_mul(2))
    }

    /// A ConnAck.
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// When the current connection will have lasted, if it has not yet.
    pub fn lasts_at(&self) -> Option<Instant> {
        self.connected_at.map(|at| at + self.lasting())
    }

    /// The current connection lasted: the count starts again. Returns whether the "taken" note
    /// was out (and is now withdrawn).
    pub fn lasted(&mut self) -> bool {
        self.connected_at = None;
        self.failures = 0;
        self.closed_young = 0;
        std::mem::take(&mut self.taken)
    }

    /// Whether the "taken" note is out.
    pub fn taken(&self) -> bool {
        self.taken
    }

    /// A failure, ending as `ending` at `now`.
    pub fn failed(&mut self, ending: Ending, now: Instant) -> Failure {
        let lived = self
            .connected_at
            .take()
            .map(|at| now.saturating_duration_since(at));
        if lived.is_some_and(|d| d >= self.lasting()) {
            // Lasted, though nothing woke the task to say so (it was busy): a fresh start.
            self.lasted();
        }
        self.failures = self.failures.saturating_add(1);
        self.closed_young = match ending {
            Ending::ClosedByBroker => self.closed_young.saturating_add(1),
            // The broker refused or was away: not a fight over the id.
            Ending::NotConnected | Ending::Lost => 0,
        };
        let taken = if self.closed_young >= TAKEN_AFTER {
            if std::mem::replace(&mut self.taken, true) {
                Taken::Still
            } else {
                Taken::Now
            }
        } else if self.taken {
            Taken::Still
        } else {
            Taken::No
        };
        Failure {
            wait: self.wait(),
            taken,
        }
    }

    /// Doubling from `reconnect_min_ms` up to `reconnect_max_ms`, then a random half of it
    /// taken off, so a fleet that lost its broker together does not come back all in the
    /// same instant.
    fn wait(&self) -> Duration {
        let doubled = self
            .min_ms
            .saturating_mul(1u64 << self.failures.saturating_sub(1).min(30));
        let ceiling = doubled.min(self.max_ms);
        Duration::from_millis(ceiling - fastrand::u64(0..=ceiling / 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnect() -> Reconnect {
        Reconnect::new(&MqttConfig {
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 8_000,
            ..Default::default()
        })
    }

    fn within(wait: Duration, ceiling_ms: u64) -> bool {
        (ceiling_ms / 2..=ceiling_ms).contains(&(wait.as_millis() as u64))
    }

    #[test]
    fn the_wait_grows_to_its_ceiling_with_jitter() {
        let mut r = reconnect();
        let now = Instant::now();
        for ceiling in [1_000, 2_000, 4_000, 8_000, 8_000, 8_000] {
            let f = r.failed(Ending::NotConnected, now);
            assert!(within(f.wait, ceiling), "{f:?}, ceiling {ceiling}");
        }
    }

    #[test]
    fn connections_closed_within_seconds_keep_the_wait_growing_and_name_the_taken_id_once() {
        let mut r = reconnect();
        let mut now = Instant::now();
        let mut said = Vec::new();
        for ceiling in [1_000, 2_000, 4_000, 8_000, 8_000] {
            r.connected(now);
            now += Duration::from_secs(3);
            let f = r.failed(Ending::ClosedByBroker, now);
            assert!(within(f.wait, ceiling), "{f:?}, ceiling {ceiling}");
            said.push(f.taken);
        }
        use Taken::*;
        assert_eq!(said, [No, No, Now, Still, Still]);
        assert!(r.taken());
        // A connection that lasts (twice the ceiling) starts the count again.
        r.connected(now);
        assert_eq!(r.lasts_at(), Some(now + Duration::from_secs(16)));
        assert!(r.lasted());
        assert!(!r.taken());
        let f = r.failed(Ending::ClosedByBroker, now + Duration::from_secs(60));
        assert!(within(f.wait, 1_000));
        assert_eq!(f.taken, No);
    }

    #[test]
    fn a_long_connection_resets_even_unnoticed_and_refusals_are_not_a_fight() {
        let mut r = reconnect();
        let now = Instant::now();
        for _ in 0..4 {
            r.failed(Ending::NotConnected, now);
        }
        r.connected(now);
        let f = r.failed(Ending::ClosedByBroker, now + Duration::from_secs(17));
        assert!(within(f.wait, 1_000), "{f:?}");
        // Closes broken up by a refusal (a broker restarting) name no taken id.
        let mut r = reconnect();
        for ending in [
            Ending::ClosedByBroker,
            Ending::ClosedByBroker,
            Ending::NotConnected,
            Ending::ClosedByBroker,
            Ending::ClosedByBroker,
            Ending::Lost,
        ] {
            r.connected(now);
            assert_eq!(r.failed(ending, now).taken, Taken::No);
        }
    }
}
