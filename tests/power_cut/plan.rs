//! Where each power cut lands: the steps of an enrollment, the console line that shows each
//! (the daemon's own log at debug level, or the guest driver's), and how long after it the
//! power goes. `drive.sh run_step` has the workload of each step.

use std::fmt;
use std::time::Duration;

/// A step of an enrollment's life that a cut is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The tickets file being rewritten for a new ticket (`enrolld enroll`).
    TicketWrite,
    /// Just after the daemon acknowledged a ticket: it must be on disk.
    TicketAcked,
    /// A name bound to a capture (`.bound` written, the ticket leaving the tickets file).
    Bind,
    /// The capture sealed into its record (`.sending`), the binding deleted.
    Seal,
    /// The registration request on the wire (the stand-in stalls 2.5 s).
    Wire,
    /// The answer (registered) being recorded and the record settled.
    Answer,
    /// A retake answer: the record unsent, its ticket back in the tickets file.
    Retake,
    /// A refusal for good: the record deleted.
    Refused,
    /// The stand-in's port closed: the record requeued (`.sending` back to `.entry`).
    Queue,
    /// A queued record tried again and again while the port stays closed.
    DeliverRetry,
    /// A queued record taken from the queue and sent (the stand-in stalls 1.5 s).
    DeliverSend,
    /// The daemon starting on what the previous cut left, repairing it.
    Startup,
}

impl Step {
    pub const ALL: [Step; 12] = [
        Step::TicketWrite,
        Step::TicketAcked,
        Step::Bind,
        Step::Seal,
        Step::Wire,
        Step::Answer,
        Step::Retake,
        Step::Refused,
        Step::Queue,
        Step::DeliverRetry,
        Step::DeliverSend,
        Step::Startup,
    ];

    /// The name `drive.sh` knows the step by (`pc.step=`).
    pub fn name(self) -> &'static str {
        match self {
            Step::TicketWrite => "ticket-write",
            Step::TicketAcked => "ticket-acked",
            Step::Bind => "bind",
            Step::Seal => "seal",
            Step::Wire => "wire",
            Step::Answer => "answer",
            Step::Retake => "retake",
            Step::Refused => "refused",
            Step::Queue => "queue",
            Step::DeliverRetry => "deliver-retry",
            Step::DeliverSend => "deliver-send",
            Step::Startup => "startup",
        }
    }

    /// The console line (part of it) after which the power is cut, and which occurrence of
    /// it counts (after the arming line).
    pub fn marker(self) -> (&'static str, usize) {
        match self {
            // The second ticket's request: the first one's write is over by then.
            Step::TicketWrite => ("PC-ENROLL t", 2),
            Step::TicketAcked => ("PC-ACCEPTED ticket", 1),
            // The daemon's debug log: "state <from> -> <to>" right after it started the
            // store's job for that step (bind; store the capture; settle).
            Step::Bind => ("-> capturing", 1),
            Step::Seal => ("capturing -> submitting", 1),
            Step::Wire => ("submitting to IDMeta", 1),
            Step::Answer => ("submitting -> registered", 1),
            Step::Retake => ("submitting -> retake", 1),
            Step::Refused => ("submitting -> failed", 1),
            Step::Queue => ("submitting -> queued", 1),
            // The delivery worker: each refused try logs this after requeueing; the next
            // try takes the record from the queue again 200-400 ms later.
            Step::DeliverRetry => ("not delivered (", 1),
            Step::DeliverSend => ("sending from the queue", 1),
            // The daemon's first line, before it opens the records.
            Step::Startup => ("API token from", 1),
        }
    }

    /// The line from which the marker is looked for: the driver's `PC-ARM`, printed once the
    /// stand-in behaves as the step needs; for a cut at start-up, the boot itself.
    pub fn armed_by(self) -> &'static str {
        match self {
            Step::Startup => "PC-BOOT",
            _ => "PC-ARM",
        }
    }

    /// The longest delay after the marker: about as long as the step's file operations
    /// take in the guest (longer where the stand-in stalls), so cuts land before, inside
    /// and after them.
    pub fn window(self) -> Duration {
        Duration::from_millis(match self {
            Step::TicketWrite => 500,
            Step::TicketAcked => 250,
            Step::Wire => 2_800,
            Step::DeliverRetry => 600,
            Step::DeliverSend => 1_800,
            Step::Startup => 2_000,
            _ => 300,
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One planned cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub step: Step,
    pub delay: Duration,
}

/// `cuts` cuts, every step in turn (each round in a shuffled order), each after a random
/// delay within its step's window. The same seed gives the same plan.
pub fn spread(cuts: usize, seed: u64) -> Vec<Cut> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut plan = Vec::with_capacity(cuts);
    while plan.len() < cuts {
        let mut round = Step::ALL;
        rng.shuffle(&mut round);
        for step in round.into_iter().take(cuts - plan.len()) {
            plan.push(Cut {
                step,
                delay: random_delay(&mut rng, step),
            });
        }
    }
    plan
}

/// `cuts` cuts all aimed at one step.
pub fn only(step: Step, cuts: usize, seed: u64) -> Vec<Cut> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..cuts)
        .map(|_| Cut {
            step,
            delay: random_delay(&mut rng, step),
        })
        .collect()
}

/// Half the cuts within [`SOON`] of the marker, where the step's own writes are (a bind or
/// a settle is a few fsyncs: tens of milliseconds in the guest), the others anywhere in the
/// step's window.
fn random_delay(rng: &mut fastrand::Rng, step: Step) -> Duration {
    let window = step.window();
    let limit = if rng.bool() { window.min(SOON) } else { window };
    Duration::from_millis(rng.u64(0..=limit.as_millis() as u64))
}

/// See [`random_delay`].
const SOON: Duration = Duration::from_millis(40);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_visits_every_step_before_any_twice() {
        let plan = spread(Step::ALL.len() + 3, 7);
        let first: std::collections::BTreeSet<Step> =
            plan[..Step::ALL.len()].iter().map(|c| c.step).collect();
        assert_eq!(first.len(), Step::ALL.len());
        assert!(plan.iter().all(|c| c.delay <= c.step.window()));
        assert_eq!(plan, spread(Step::ALL.len() + 3, 7));
    }
}
