//! The machine's decisions as tables: one enrollment's path through every
//! kind of outcome, and the visible state for every (state, event) pair.

use std::time::{Duration, Instant};

use super::*;

mod lifecycle;
mod visible;
use crate::api::Outcome;

pub(super) const BUDGETS: Budgets = Budgets {
    result_hold: Duration::from_secs(3),
    capture: Duration::from_secs(10),
    create: Duration::from_secs(20),
    submit: Duration::from_secs(40),
};

/// A machine driven through events, every action it returned kept.
pub(super) struct Run {
    pub(super) m: Machine,
    pub(super) t0: Instant,
    pub(super) now: Instant,
    pub(super) actions: Vec<Action>,
}

impl Run {
    pub(super) fn ready() -> Run {
        let t0 = Instant::now();
        let mut r = Run {
            m: Machine::new(t0, BUDGETS),
            t0,
            now: t0,
            actions: Vec::new(),
        };
        r.ev(Event::Ready);
        r
    }

    pub(super) fn ev(&mut self, e: Event) -> Vec<Action> {
        let a = self.m.handle(e, self.now);
        self.actions.extend(a.iter().cloned());
        a
    }

    pub(super) fn at(&mut self, after: Duration) -> &mut Run {
        self.now = self.t0 + after;
        self
    }

    pub(super) fn a(&self) -> u64 {
        self.m.attempt()
    }

    pub(super) fn press(&mut self, who: Who) -> Vec<Action> {
        self.ev(Event::Press {
            who,
            clock_plausible: true,
        })
    }

    pub(super) fn bound(&mut self, record: u64, ticket_verification: Option<&str>) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Bound {
            attempt,
            result: Ok(Bound {
                record,
                ticket_verification: ticket_verification.map(str::to_owned),
            }),
        })
    }

    /// A frame passed (the capture goes on to encode it).
    pub(super) fn passed(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::FramePassed { attempt })
    }

    pub(super) fn captured(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::CaptureDone {
            attempt,
            clock_plausible: true,
        })
    }

    pub(super) fn verified(&mut self, id: &str) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::VerificationCreated {
            attempt,
            result: Ok(id.to_owned()),
        })
    }

    pub(super) fn stored(&mut self, ok: bool) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Stored { attempt, ok })
    }

    pub(super) fn answer(&mut self, outcome: Outcome) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Answered { attempt, outcome })
    }

    pub(super) fn settled(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Settled { attempt })
    }

    /// The finalize of the attempt's unused verification is done.
    pub(super) fn abandoned(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Abandoned { attempt })
    }

    /// Requests to IDMeta the machine asked for: creates and finalizes of unused ones.
    pub(super) fn creates(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::CreateVerification { .. }))
            .count()
    }

    /// The verification ids the machine asked to finalize, unused.
    pub(super) fn abandons(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::AbandonVerification {
                    verification_id, ..
                } => Some(verification_id.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Press with a template name, bound, captured, verified, stored: the
    /// request is on the wire.
    pub(super) fn posting(&mut self) {
        self.press(Who::Template);
        self.bound(7, None);
        self.captured();
        self.verified("v-1");
        self.stored(true);
        assert!(
            self.actions
                .iter()
                .any(|a| matches!(a, Action::Post { .. })),
            "{:#?}",
            self.actions
        );
    }

    pub(super) fn has(&self, pred: impl Fn(&Action) -> bool) -> bool {
        self.actions.iter().any(pred)
    }

    pub(super) fn conclusion(&self) -> Option<Conclusion> {
        self.actions.iter().rev().find_map(|a| match a {
            Action::Concluded { conclusion, .. } => Some(*conclusion),
            _ => None,
        })
    }

    pub(super) fn released(&self) -> bool {
        self.has(|a| matches!(a, Action::Release { .. }))
    }

    pub(super) fn settle_fate(&self) -> Option<Fate> {
        self.actions.iter().find_map(|a| match a {
            Action::Settle { fate, .. } => Some(*fate),
            _ => None,
        })
    }
}

pub(super) fn registered() -> Outcome {
    Outcome::Registered {
        face_id: "f".into(),
        associated_verification_id: None,
        image_url: None,
        timestamp: None,
    }
}

/// Registered, and the watchlist screening matched.
pub(super) fn registered_review() -> Outcome {
    Outcome::RegisteredReview {
        face_id: "f".into(),
        associated_verification_id: None,
        timestamp: None,
        screening: Box::new(crate::api::Screening::one_match()),
    }
}

pub(super) fn server(status: u16, retry_after_s: Option<u64>) -> Outcome {
    Outcome::ServerError {
        status,
        retry_after_s,
    }
}
