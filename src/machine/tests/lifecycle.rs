//! One enrollment's path through every kind of outcome.

use std::time::Duration;

use super::*;
use crate::api::{FaceQuality, Outcome};

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
    // Captured before the verification came: the store waits for it, and
    // the person sees "submitting" (they may step away).
    assert!(
        !r.captured()
            .iter()
            .any(|a| matches!(a, Action::Store { .. }))
    );
    assert_eq!(r.m.state(), State::Submitting);
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

/// A registration the screening flagged asks the person to see reception only when the
/// operator turned `terminal.see_reception` on (a match may be the same person enrolling
/// twice); either way it is settled as flagged, so the operator sees it.
#[test]
fn a_flagged_registration_sends_to_reception_only_when_the_operator_says_so() {
    for (on, shown) in [(false, State::Registered), (true, State::SeeReception)] {
        let mut r = Run::ready();
        r.m.set_see_reception(on);
        r.posting();
        r.answer(registered_review());
        assert_eq!(r.m.state(), shown, "see_reception = {on}");
        assert_eq!(r.settle_fate(), Some(Fate::RegisteredReview));
        assert!(!r.released());
        r.settled();
        r.at(Duration::from_secs(4)).ev(Event::TimerExpired);
        assert_eq!(r.m.state(), State::Idle);
    }
    let mut r = Run::ready();
    r.m.set_see_reception(true);
    r.posting();
    r.answer(registered());
    assert_eq!(
        r.m.state(),
        State::Registered,
        "only a flagged registration"
    );
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
        // Someone walked past the presence sensor: straight back to rest, nothing shown.
        (
            Event::CaptureNobody { attempt: 1 },
            State::Idle,
            Conclusion::Nobody,
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
