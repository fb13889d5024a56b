//! What turns line edges into trigger events: debounce, button and presence
//! rules. Pure: no I/O, no gpiocdev types, time is a number handed in
//! (CLOCK_MONOTONIC nanoseconds, the clock of the kernel's edge timestamps),
//! so every case is a unit test with an injected clock.
//!
//! Callers feed raw edges with [`TriggerRules::edge`] and, because some
//! decisions are made by the passing of time (a debounce window closing, a
//! presence held long enough), call [`TriggerRules::tick`] no later than
//! [`TriggerRules::deadline`]. Late ticks give the same events with the same
//! timestamps: every decision uses the edge times, never the tick time.

use std::time::Duration;

/// A change of the line's logical level (active-low already applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub at_ns: u64,
    pub active: bool,
}

/// A trigger decision: start an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// The (debounced) edge that began the press or the presence episode.
    pub edge_timestamp_ns: u64,
    /// When the rule decided: the edge itself for a button, the end of the
    /// hold time for presence.
    pub decided_at_ns: u64,
}

/// Which rule follows the debouncer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Button { cooldown: Duration },
    Presence { hold: Duration, rearm: Duration },
}

/// Software debounce with the kernel's semantics (gpiolib-cdev): every edge
/// restarts a window of `period`; when the window closes, the level then
/// present is reported if it differs from the last reported one, timestamped
/// at the window's close. A level held for exactly `period` counts as stable.
#[derive(Debug, Clone)]
pub struct Debouncer {
    period_ns: u64,
    level: bool,
    pending: Option<Edge>,
}

impl Debouncer {
    pub fn new(period: Duration, level: bool) -> Self {
        Debouncer {
            period_ns: nanos(period),
            level,
            pending: None,
        }
    }

    /// The last reported (stable) level.
    pub fn level(&self) -> bool {
        self.level
    }

    /// Feeds a raw edge; returns a change that became stable before it.
    pub fn edge(&mut self, e: Edge) -> Option<Edge> {
        let confirmed = self.poll(e.at_ns);
        if self.period_ns == 0 {
            // No window: only drop repeats of the level already reported.
            return if e.active != self.level {
                self.level = e.active;
                Some(e)
            } else {
                confirmed
            };
        }
        self.pending = Some(e);
        confirmed
    }

    /// Closes the window if it has run out by `now`.
    pub fn poll(&mut self, now_ns: u64) -> Option<Edge> {
        let p = self.pending?;
        let closes = p.at_ns.saturating_add(self.period_ns);
        if now_ns < closes {
            return None;
        }
        self.pending = None;
        if p.active == self.level {
            return None; // a glitch that came back before the window closed
        }
        self.level = p.active;
        Some(Edge {
            at_ns: closes,
            active: p.active,
        })
    }

    pub fn deadline(&self) -> Option<u64> {
        self.pending.map(|p| p.at_ns.saturating_add(self.period_ns))
    }

    /// Starts again from a known level (after the line was reopened).
    pub fn reset(&mut self, period: Duration, level: bool) {
        *self = Debouncer::new(period, level);
    }
}

/// A button: one event per press; holding does not repeat; presses made
/// before `enrollment_finished + cooldown` do not fire once the finish is known.
#[derive(Debug, Clone)]
pub struct ButtonRule {
    cooldown_ns: u64,
    pressed: bool,
    quiet_until_ns: Option<u64>,
}

impl ButtonRule {
    /// A button already held at start must be released before it counts.
    pub fn new(cooldown: Duration, pressed: bool) -> Self {
        ButtonRule {
            cooldown_ns: nanos(cooldown),
            pressed,
            quiet_until_ns: None,
        }
    }

    pub fn level(&mut self, e: Edge) -> Option<Fired> {
        if e.active == self.pressed {
            return None;
        }
        self.pressed = e.active;
        if !e.active || self.quiet_until_ns.is_some_and(|q| e.at_ns < q) {
            return None;
        }
        Some(Fired {
            edge_timestamp_ns: e.at_ns,
            decided_at_ns: e.at_ns,
        })
    }

    pub fn enrollment_finished(&mut self, now_ns: u64) {
        self.quiet_until_ns = Some(now_ns.saturating_add(self.cooldown_ns));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Episode {
    /// Ready to fire; `Some(t)` while presence (since `t`) is being held.
    Armed { present_since: Option<u64> },
    /// Fired for this episode; `Some(t)` while absence (since `t`) is re-arming.
    Spent { absent_since: Option<u64> },
}

/// A presence sensor: presence must last `hold` before an event, at most one
/// event per episode, and an episode ends only after `rearm` of absence.
#[derive(Debug, Clone)]
pub struct PresenceRule {
    hold_ns: u64,
    rearm_ns: u64,
    episode: Episode,
}

impl PresenceRule {
    /// Someone already present at start counts from `now`.
    pub fn new(hold: Duration, rearm: Duration, present: bool, now_ns: u64) -> Self {
        PresenceRule {
            hold_ns: nanos(hold),
            rearm_ns: nanos(rearm),
            episode: Episode::Armed {
                present_since: present.then_some(now_ns),
            },
        }
    }

    pub fn level(&mut self, e: Edge) -> Option<Fired> {
        let before = self.tick(e.at_ns);
        match &mut self.episode {
            Episode::Armed { present_since } => {
                *present_since = if e.active {
                    present_since.or(Some(e.at_ns))
                } else {
                    None
                }
            }
            Episode::Spent { absent_since } => {
                *absent_since = if e.active {
                    None
                } else {
                    absent_since.or(Some(e.at_ns))
                }
            }
        }
        // A zero hold (or rearm) completes at the edge itself.
        before.or_else(|| self.tick(e.at_ns))
    }

    pub fn tick(&mut self, now_ns: u64) -> Option<Fired> {
        match self.episode {
            Episode::Armed {
                present_since: Some(t),
            } if now_ns >= t.saturating_add(self.hold_ns) => {
                self.episode = Episode::Spent { absent_since: None };
                Some(Fired {
                    edge_timestamp_ns: t,
                    decided_at_ns: t.saturating_add(self.hold_ns),
                })
            }
            Episode::Spent {
                absent_since: Some(t),
            } if now_ns >= t.saturating_add(self.rearm_ns) => {
                self.episode = Episode::Armed {
                    present_since: None,
                };
                None
            }
            _ => None,
        }
    }

    pub fn deadline(&self) -> Option<u64> {
        match self.episode {
            Episode::Armed {
                present_since: Some(t),
            } => Some(t.saturating_add(self.hold_ns)),
            Episode::Spent {
                absent_since: Some(t),
            } => Some(t.saturating_add(self.rearm_ns)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum KindRule {
    Button(ButtonRule),
    Presence(PresenceRule),
}

/// Debouncer and kind rule together: what the trigger thread runs.
#[derive(Debug, Clone)]
pub struct TriggerRules {
    debouncer: Debouncer,
    rule: KindRule,
}

impl TriggerRules {
    /// `debounce` is the software window; zero when the kernel debounces.
    pub fn new(behaviour: Behaviour, debounce: Duration, active: bool, now_ns: u64) -> Self {
        let rule = match behaviour {
            Behaviour::Button { cooldown } => KindRule::Button(ButtonRule::new(cooldown, active)),
            Behaviour::Presence { hold, rearm } => {
                KindRule::Presence(PresenceRule::new(hold, rearm, active, now_ns))
            }
        };
        TriggerRules {
            debouncer: Debouncer::new(debounce, active),
            rule,
        }
    }

    pub fn edge(&mut self, e: Edge, out: &mut Vec<Fired>) {
        if let Some(stable) = self.debouncer.edge(e) {
            out.extend(self.rule_level(stable));
        }
        self.tick(e.at_ns, out);
    }

    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Fired>) {
        if let Some(stable) = self.debouncer.poll(now_ns) {
            out.extend(self.rule_level(stable));
        }
        if let KindRule::Presence(p) = &mut self.rule {
            out.extend(p.tick(now_ns));
        }
    }

    /// The latest time by which [`tick`](Self::tick) must be called.
    pub fn deadline(&self) -> Option<u64> {
        let rule = match &self.rule {
            KindRule::Button(_) => None,
            KindRule::Presence(p) => p.deadline(),
        };
        [self.debouncer.deadline(), rule]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn enrollment_finished(&mut self, now_ns: u64) {
        if let KindRule::Button(b) = &mut self.rule {
            b.enrollment_finished(now_ns);
        }
    }

    /// The line was (re)opened and reads `active` at `now`: a level change
    /// missed while it was closed counts as an edge at `now`. Cooldowns and
    /// presence episodes carry over.
    pub fn line_opened(
        &mut self,
        debounce: Duration,
        active: bool,
        now_ns: u64,
        out: &mut Vec<Fired>,
    ) {
        self.tick(now_ns, out);
        let was = self.debouncer.level();
        self.debouncer.reset(debounce, active);
        if was != active {
            out.extend(self.rule_level(Edge {
                at_ns: now_ns,
                active,
            }));
        }
    }

    fn rule_level(&mut self, e: Edge) -> Option<Fired> {
        match &mut self.rule {
            KindRule::Button(b) => b.level(e),
            KindRule::Presence(p) => p.level(e),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
