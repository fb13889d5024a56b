//! The machine's decisions as tables: one enrollment's path through every
//! kind of outcome, and the visible state for every (state, event) pair.

use std::time::{Duration, Instant};

use super::*;
use crate::api::{FaceQuality, Outcome};

const BUDGETS: Budgets = Budgets {
    result_hold: Duration::from_secs(3),
    capture: Duration::from_secs(10),
    create: Duration::from_secs(20),
    submit: Duration::from_secs(40),
};

/// A machine driven through events, every action it returned kept.
struct Run {
    m: Machine,
    t0: Instant,
    now: Instant,
    actions: Vec<Action>,
}

impl Run {
    fn ready() -> Run {
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

    fn ev(&mut self, e: Event) -> Vec<Action> {
        let a = self.m.handle(e, self.now);
        self.actions.extend(a.iter().cloned());
        a
    }

    fn at(&mut self, after: Duration) -> &mut Run {
        self.now = self.t0 + after;
        self
    }

    fn a(&self) -> u64 {
        self.m.attempt()
    }

    fn press(&mut self, who: Who) -> Vec<Action> {
        self.ev(Event::Press {
            who,
            clock_plausible: true,
        })
    }

    fn bound(&mut self, record: u64, ticket_verification: Option<&str>) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Bound {
            attempt,
            result: Ok(Bound {
                record,
                ticket_verification: ticket_verification.map(str::to_owned),
            }),
        })
    }

    fn captured(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::CaptureDone {
            attempt,
            clock_plausible: true,
        })
    }

    fn verified(&mut self, id: &str) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::VerificationCreated {
            attempt,
            result: Ok(id.to_owned()),
        })
    }

    fn stored(&mut self, ok: bool) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Stored { attempt, ok })
    }

    fn answer(&mut self, outcome: Outcome) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Answered { attempt, outcome })
    }

    fn settled(&mut self) -> Vec<Action> {
        let attempt = self.a();
        self.ev(Event::Settled { attempt })
    }

    /// Press with a template name, bound, captured, verified, stored: the
    /// request is on the wire.
    fn posting(&mut self) {
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

    fn has(&self, pred: impl Fn(&Action) -> bool) -> bool {
        self.actions.iter().any(pred)
    }

    fn conclusion(&self) -> Option<Conclusion> {
        self.actions.iter().rev().find_map(|a| match a {
            Action::Concluded { conclusion, .. } => Some(*conclusion),
            _ => None,
        })
    }

    fn released(&self) -> bool {
        self.has(|a| matches!(a, Action::Release { .. }))
    }

    fn settle_fate(&self) -> Option<Fate> {
        self.actions.iter().find_map(|a| match a {
            Action::Settle { fate, .. } => Some(*fate),
            _ => None,
        })
    }
}

fn registered() -> Outcome {
    Outcome::Registered {
        face_id: "f".into(),
        associated_verification_id: None,
        image_url: None,
        timestamp: None,
    }
}

fn server(status: u16, retry_after_s: Option<u64>) -> Outcome {
    Outcome::ServerError {
        status,
        retry_after_s,
    }
}

#[test]
fn a_press_binds_captures_creates_stores_then_posts_and_settles() {
    let mut r = Run::ready();
    let a = r.press(Who::Ticket);
    assert_eq!(
        a[..2],
        [
            Action::Bind {
                attempt: 1,
                who: Who::Ticket
            },
            Action::StartCapture { attempt: 1 }
        ]
    );
    assert_eq!(r.m.state(), State::Capturing);
    assert!(
        r.bound(7, None)
            .contains(&Action::CreateVerification { attempt: 1 })
    );
    // Captured before the verification came: the store waits for it.
    assert!(
        !r.captured()
            .iter()
            .any(|a| matches!(a, Action::Store { .. }))
    );
    let a = r.verified("v-1");
    assert!(a.contains(&Action::Store {
        attempt: 1,
        record: 7,
        verification_id: Some("v-1".into()),
        to: Destination::Send,
    }));
    assert_eq!(r.m.state(), State::Submitting);
    let a = r.stored(true);
    assert_eq!(
        a,
        [Action::Post {
            attempt: 1,
            record: 7,
            verification_id: "v-1".into()
        }]
    );
    r.answer(registered());
    assert_eq!(r.m.state(), State::Registered);
    assert_eq!(r.settle_fate(), Some(Fate::Registered));
    assert!(!r.released());
    r.settled();
    r.at(Duration::from_secs(4)).ev(Event::TimerExpired);
    assert_eq!(r.m.state(), State::Idle);
    assert!(!r.m.busy());
}

/// Every answer on the live path: what is shown, how the record is settled,
/// whether the name goes back, what the enrollment concludes as.
#[test]
fn every_answer_on_the_live_path_settles_the_record_as_its_fate_says() {
    let retake = Outcome::Retake {
        quality: FaceQuality::NoFace,
    };
    // (answer, state right after, settle fate (None: released), state once settled)
    let table: Vec<(Outcome, State, Option<Fate>, State)> = vec![
        (
            registered(),
            State::Registered,
            Some(Fate::Registered),
            State::Registered,
        ),
        (
            Outcome::AlreadyRegistered {
                message: "m".into(),
            },
            State::AlreadyRegistered,
            Some(Fate::AlreadyRegistered),
            State::AlreadyRegistered,
        ),
        (retake, State::Retake, None, State::Retake),
        (
            Outcome::Rejected {
                status: 422,
                message: "m".into(),
            },
            State::Failed,
            Some(Fate::Failed),
            State::Failed,
        ),
        (
            server(502, None),
            State::Failed,
            Some(Fate::Unknown),
            State::Failed,
        ),
        (
            server(504, None),
            State::Failed,
            Some(Fate::Unknown),
            State::Failed,
        ),
        (
            Outcome::UnknownDelivery { reason: "r".into() },
            State::Failed,
            Some(Fate::Unknown),
            State::Failed,
        ),
        (
            server(503, Some(7)),
            State::Submitting,
            Some(Fate::Queued {
                not_before: Some(Duration::from_secs(7)),
            }),
            State::Queued,
        ),
        (
            Outcome::NotSent { reason: "r".into() },
            State::Submitting,
            Some(Fate::Queued { not_before: None }),
            State::Queued,
        ),
        (
            Outcome::Unauthorized { status: 401 },
            State::Submitting,
            Some(Fate::Paused),
            State::Queued,
        ),
    ];
    for (outcome, shown, settle, after) in table {
        let mut r = Run::ready();
        r.posting();
        r.answer(outcome.clone());
        assert_eq!(r.m.state(), shown, "{outcome:?}");
        assert_eq!(r.settle_fate(), settle, "{outcome:?}");
        assert_eq!(r.released(), settle.is_none(), "{outcome:?}");
        r.settled();
        assert_eq!(r.m.state(), after, "{outcome:?}");
        assert_eq!(
            r.m.paused(),
            settle == Some(Fate::Paused),
            "{outcome:?}: paused"
        );
        assert_eq!(
            r.has(|a| *a == Action::PauseDeliveries),
            settle == Some(Fate::Paused)
        );
        assert!(matches!(r.conclusion(), Some(Conclusion::Sent { .. })));
    }
}

/// Nothing sent: the name is released (ticket back to the front) and the
/// capture's own verification is kept for the next press.
#[test]
fn nothing_sent_releases_the_name_and_keeps_the_verification() {
    let cases: Vec<(Event, State, Conclusion)> = vec![
        (
            Event::CaptureRetake { attempt: 1 },
            State::Retake,
            Conclusion::Retake,
        ),
        (
            Event::CaptureFailed {
                attempt: 1,
                fault: false,
            },
            State::Failed,
            Conclusion::CaptureFailed,
        ),
    ];
    for (event, shown, conclusion) in cases {
        let mut r = Run::ready();
        r.press(Who::Ticket);
        r.bound(7, None);
        r.verified("v-own");
        r.ev(event);
        assert_eq!(r.m.state(), shown);
        assert!(r.actions.contains(&Action::Release {
            attempt: 1,
            record: 7
        }));
        assert_eq!(r.conclusion(), Some(conclusion));
        r.settled();
        // The next press uses the unused verification: no new create.
        r.at(Duration::from_secs(1)).press(Who::Template);
        let a = r.bound(8, None);
        assert!(!a.contains(&Action::CreateVerification { attempt: 2 }));
        r.captured();
        assert!(r.actions.contains(&Action::Store {
            attempt: 2,
            record: 8,
            verification_id: Some("v-own".into()),
            to: Destination::Send
        }));
    }
}

#[test]
fn a_ticket_s_verification_is_used_and_never_kept_as_a_spare() {
    let mut r = Run::ready();
    r.press(Who::Ticket);
    assert!(
        !r.bound(7, Some("v-ticket"))
            .contains(&Action::CreateVerification { attempt: 1 })
    );
    r.ev(Event::CaptureRetake { attempt: 1 });
    r.settled();
    r.press(Who::Template);
    assert!(
        r.bound(8, None)
            .contains(&Action::CreateVerification { attempt: 2 })
    );
}

#[test]
fn clock_or_pause_queues_without_any_request() {
    for (clock_plausible, paused) in [(false, false), (true, true)] {
        let mut r = Run::ready();
        if paused {
            r.ev(Event::DeliveriesPaused);
            assert_eq!(r.m.state(), State::Paused);
            assert_eq!(State::Paused.pattern(), Pattern::Fault);
        }
        r.ev(Event::Press {
            who: Who::Template,
            clock_plausible,
        });
        let a = r.bound(7, None);
        assert!(!a.contains(&Action::CreateVerification { attempt: 1 }));
        r.ev(Event::CaptureDone {
            attempt: 1,
            clock_plausible,
        });
        assert!(r.actions.contains(&Action::Store {
            attempt: 1,
            record: 7,
            verification_id: None,
            to: Destination::Queue { not_before: None }
        }));
        r.stored(true);
        assert_eq!(r.m.state(), State::Queued);
        assert!(!r.has(|a| matches!(a, Action::Post { .. })));
        r.at(Duration::from_secs(4)).ev(Event::TimerExpired);
        assert_eq!(
            r.m.state(),
            if paused { State::Paused } else { State::Idle }
        );
        r.ev(Event::DeliveriesResumed);
        assert_eq!(r.m.state(), State::Idle);
    }
}

#[test]
fn a_failed_create_verification_queues_and_a_refused_token_pauses() {
    for (create, pauses) in [
        (Outcome::UnknownDelivery { reason: "r".into() }, false),
        (Outcome::Unauthorized { status: 401 }, true),
    ] {
        let mut r = Run::ready();
        r.press(Who::Template);
        r.bound(7, None);
        r.captured();
        r.ev(Event::VerificationCreated {
            attempt: 1,
            result: Err(create),
        });
        assert!(r.has(|a| matches!(
            a,
            Action::Store {
                to: Destination::Queue { .. },
                ..
            }
        )));
        assert_eq!(r.m.paused(), pauses);
        r.stored(true);
        assert_eq!(r.m.state(), State::Queued);
    }
}

#[test]
fn a_capture_that_cannot_be_stored_releases_the_name() {
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.bound(7, None);
    r.verified("v");
    r.captured();
    r.stored(false);
    assert_eq!(r.m.state(), State::Failed);
    assert!(r.released());
    assert_eq!(r.conclusion(), Some(Conclusion::NotStored));
    // A binding that failed took nothing: nothing to release.
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.ev(Event::Bound {
        attempt: 1,
        result: Err(()),
    });
    assert_eq!(r.m.state(), State::Failed);
    assert!(!r.released());
    assert!(!r.m.busy());
}

#[test]
fn deadlines_end_every_step_that_overruns() {
    // The capture: a camera fault, the name released.
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.bound(7, None);
    assert_eq!(r.m.deadline(), Some(r.t0 + BUDGETS.capture));
    r.at(BUDGETS.capture).ev(Event::TimerExpired);
    assert!(r.has(|a| *a == Action::CameraStuck { attempt: 1 }));
    assert!(r.released());
    assert_eq!(r.m.state(), State::Fault);
    assert_eq!(r.conclusion(), Some(Conclusion::CameraFault));

    // The request: an unknown delivery, never a release.
    let mut r = Run::ready();
    r.posting();
    let deadline = r.m.deadline().unwrap();
    assert_eq!(deadline, r.now + BUDGETS.submit);
    r.now = deadline;
    r.ev(Event::TimerExpired);
    assert_eq!(r.settle_fate(), Some(Fate::Unknown));
    assert!(!r.released());
    assert_eq!(
        r.conclusion(),
        Some(Conclusion::Sent {
            fate: Fate::Unknown,
            deadline_passed: true
        })
    );
    // Its late answer changes nothing.
    let before = r.actions.len();
    r.answer(registered());
    assert!(matches!(r.actions[before..], [Action::Ignored { .. }]));

    // The binding: the disk never answered; a late binding is released.
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.captured();
    r.at(BUDGETS.capture).ev(Event::TimerExpired);
    assert_eq!(r.conclusion(), Some(Conclusion::NotStored));
    assert!(!r.m.busy());
    let a = r.bound(7, None);
    assert_eq!(
        a,
        [Action::Release {
            attempt: 1,
            record: 7
        }]
    );

    // create-verification: queued without it.
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.captured();
    r.at(BUDGETS.create).ev(Event::TimerExpired);
    assert!(r.has(|a| matches!(
        a,
        Action::Store {
            to: Destination::Queue { .. },
            ..
        }
    )));
}

#[test]
fn stopping_releases_a_capture_and_waits_for_a_request_on_the_wire() {
    // During the capture, bound: released at once, exit once settled.
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.bound(7, None);
    let a = r.ev(Event::Shutdown);
    assert!(a.contains(&Action::Release {
        attempt: 1,
        record: 7
    }));
    assert!(!a.contains(&Action::Exit));
    assert_eq!(r.settled().last(), Some(&Action::Exit));
    assert_eq!(r.conclusion(), Some(Conclusion::Stopped));

    // During the capture, before the binding landed: released when it does.
    let mut r = Run::ready();
    r.press(Who::Ticket);
    assert!(!r.ev(Event::Shutdown).contains(&Action::Exit));
    assert!(r.bound(7, None).contains(&Action::Release {
        attempt: 1,
        record: 7
    }));
    assert_eq!(r.settled().last(), Some(&Action::Exit));

    // Captured, waiting for its verification: queued, not sent.
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.captured();
    r.ev(Event::Shutdown);
    assert!(r.has(|a| matches!(
        a,
        Action::Store {
            to: Destination::Queue { .. },
            ..
        }
    )));
    assert_eq!(r.stored(true).last(), Some(&Action::Exit));

    // Durable as sending, but stopping came first: requeued, no request.
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.verified("v");
    r.captured();
    r.ev(Event::Shutdown);
    r.stored(true);
    assert!(!r.has(|a| matches!(a, Action::Post { .. })));
    assert_eq!(r.settle_fate(), Some(Fate::Queued { not_before: None }));
    assert_eq!(r.settled().last(), Some(&Action::Exit));

    // A request on the wire: waited for, settled, then exit.
    let mut r = Run::ready();
    r.posting();
    assert!(!r.ev(Event::Shutdown).contains(&Action::Exit));
    assert_eq!(r.m.state(), State::Stopping);
    assert!(!r.answer(registered()).contains(&Action::Exit));
    assert_eq!(
        r.m.state(),
        State::Stopping,
        "results are not shown when stopping"
    );
    assert_eq!(r.settled().last(), Some(&Action::Exit));
}

#[test]
fn presses_are_taken_only_at_rest_and_never_while_an_attempt_runs() {
    let mut r = Run::ready();
    r.press(Who::Ticket);
    let a = r.press(Who::Ticket);
    assert!(matches!(a[..], [Action::Ignored { .. }]), "{a:?}");
    let mut r = Run::ready();
    r.press(Who::Nobody);
    assert_eq!(r.m.state(), State::Refused);
    assert!(r.has(|a| *a == Action::RefusePress(Refusal::NobodyToEnroll)));
    assert!(!r.has(|a| matches!(a, Action::Bind { .. })));
    r.ev(Event::FaultRaised(Component::Camera));
    assert_eq!(r.m.state(), State::Fault);
    assert_eq!(r.press(Who::Ticket), [Action::RefusePress(Refusal::Fault)]);
}

#[test]
fn a_fault_during_a_request_shows_after_its_result() {
    let mut r = Run::ready();
    r.posting();
    r.ev(Event::FaultRaised(Component::Gpio));
    assert_eq!(r.m.state(), State::Submitting);
    r.answer(registered());
    assert_eq!(r.m.state(), State::Registered);
    r.settled();
    r.at(Duration::from_secs(4)).ev(Event::TimerExpired);
    assert_eq!(r.m.state(), State::Fault);
    r.ev(Event::FaultCleared(Component::Gpio));
    assert_eq!(r.m.state(), State::Idle);
}

#[test]
fn stale_events_of_an_old_attempt_are_ignored() {
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.ev(Event::CaptureRetake { attempt: 1 });
    r.settled();
    r.press(Who::Template);
    for e in [
        Event::CaptureDone {
            attempt: 1,
            clock_plausible: true,
        },
        Event::Stored {
            attempt: 1,
            ok: true,
        },
        Event::Answered {
            attempt: 1,
            outcome: registered(),
        },
    ] {
        let a = r.ev(e);
        assert!(matches!(a[..], [Action::Ignored { .. }]), "{a:?}");
    }
    assert_eq!(r.m.state(), State::Capturing);
}

/// The visible state after each global event, from each resting or result
/// state. `=` means unchanged.
#[test]
fn global_events_from_every_resting_state() {
    let events: [(&str, Event); 6] = [
        (
            "press",
            Event::Press {
                who: Who::Template,
                clock_plausible: true,
            },
        ),
        ("fault", Event::FaultRaised(Component::Camera)),
        ("paused", Event::DeliveriesPaused),
        ("resumed", Event::DeliveriesResumed),
        ("timer", Event::TimerExpired),
        ("shutdown", Event::Shutdown),
    ];
    // Reached how, then the expected state after each event above.
    let rows: Vec<(State, &[&str; 6])> = vec![
        (
            State::Idle,
            &["capturing", "fault", "paused", "=", "=", "stopping"],
        ),
        (
            State::Paused,
            &["capturing", "fault", "=", "idle", "=", "stopping"],
        ),
        (State::Fault, &["=", "=", "=", "=", "=", "stopping"]),
        (
            State::Refused,
            &["capturing", "fault", "=", "=", "idle", "stopping"],
        ),
        (
            State::Retake,
            &["capturing", "fault", "=", "=", "idle", "stopping"],
        ),
    ];
    for (from, expected) in rows {
        for ((name, event), want) in events.iter().zip(expected.iter()) {
            let mut r = Run::ready();
            match from {
                State::Idle => {}
                State::Paused => drop(r.ev(Event::DeliveriesPaused)),
                State::Fault => drop(r.ev(Event::FaultRaised(Component::Camera))),
                State::Refused => drop(r.press(Who::Nobody)),
                State::Retake => {
                    r.press(Who::Template);
                    r.bound(7, None);
                    r.ev(Event::CaptureRetake { attempt: 1 });
                    r.settled();
                }
                _ => unreachable!(),
            }
            assert_eq!(r.m.state(), from, "setup");
            r.at(Duration::from_secs(4)).ev(event.clone());
            let want = if *want == "=" { from.name() } else { want };
            assert_eq!(r.m.state().name(), want, "{} + {name}", from.name());
        }
    }
}

#[test]
fn state_names_and_patterns_are_stable() {
    let names: Vec<&str> = State::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "starting",
            "idle",
            "capturing",
            "submitting",
            "registered",
            "already_registered",
            "retake",
            "failed",
            "queued",
            "refused",
            "fault",
            "paused",
            "stopping"
        ]
    );
    assert_eq!(State::Fault.pattern(), Pattern::Fault);
    assert_eq!(State::Queued.pattern(), Pattern::Queued);
}
