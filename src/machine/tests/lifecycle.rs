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
    // Nothing asks IDMeta before a frame passed.
    r.bound(7, None);
    assert_eq!(r.creates(), 0);
    assert_eq!(r.passed(), [Action::CreateVerification { attempt: 1 }]);
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

/// Nothing sent before a frame passed: the name is released (ticket back to
/// the front) and IDMeta was never asked for anything.
#[test]
fn nothing_sent_before_a_frame_passed_asks_nothing_of_idmeta() {
    for (event, shown, conclusion) in ended_without_a_frame() {
        let mut r = Run::ready();
        r.press(Who::Template);
        r.bound(7, None);
        r.ev(event);
        assert_eq!(r.m.state(), shown);
        assert!(r.actions.contains(&Action::Release {
            attempt: 1,
            record: 7
        }));
        assert_eq!(r.conclusion(), Some(conclusion));
        r.settled();
        assert_eq!(
            (r.creates(), r.abandons().len()),
            (0, 0),
            "{:#?}",
            r.actions
        );
        assert!(!r.m.busy());
        // The next press with a passing frame creates its own.
        r.at(Duration::from_secs(1)).press(Who::Template);
        r.bound(8, None);
        assert_eq!(r.passed(), [Action::CreateVerification { attempt: 2 }]);
    }
}

/// How a capture ends without a JPEG, what is shown, what it concludes as.
fn ended_without_a_frame() -> Vec<(Event, State, Conclusion)> {
    vec![
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
    ]
}

/// A frame passed, so a verification was asked for, but the capture then
/// ended without a JPEG (the encoder failed, the crop could not be made):
/// the verification is finalized, whether it came before the end or after.
#[test]
fn a_verification_the_capture_did_not_use_is_finalized() {
    for created_first in [true, false] {
        for (event, shown, conclusion) in ended_without_a_frame() {
            let mut r = Run::ready();
            r.press(Who::Template);
            r.bound(7, None);
            r.passed();
            if created_first {
                r.verified("v-own");
            }
            r.ev(event);
            assert_eq!(r.m.state(), shown);
            assert_eq!(r.conclusion(), Some(conclusion));
            r.settled();
            if !created_first {
                assert!(r.abandons().is_empty());
                r.verified("v-own");
            }
            assert_eq!(r.abandons(), ["v-own"], "{:#?}", r.actions);
            // The finalize is waited for by a stop, not by the next press.
            r.abandoned();
            assert_eq!(r.m.loose_verifications(), 0);
            r.at(Duration::from_secs(1)).press(Who::Template);
            r.bound(8, None);
            assert_eq!(r.passed(), [Action::CreateVerification { attempt: 2 }]);
        }
    }
}

#[test]
fn a_ticket_s_verification_is_used_as_it_came_never_created_nor_finalized() {
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.bound(7, Some("v-ticket"));
    assert!(r.passed().is_empty());
    r.ev(Event::CaptureRetake { attempt: 1 });
    r.settled();
    assert_eq!((r.creates(), r.abandons().len()), (0, 0));
    r.press(Who::Ticket);
    r.bound(8, Some("v-ticket-2"));
    r.captured();
    assert!(r.actions.contains(&Action::Store {
        attempt: 2,
        record: 8,
        verification_id: Some("v-ticket-2".into()),
        to: Destination::Send,
    }));
    assert_eq!(r.creates(), 0);
}

/// The frame passes before the binding is on disk (a slow card): the
/// verification is asked for once both are there.
#[test]
fn a_frame_that_passes_before_the_binding_creates_once_bound() {
    let mut r = Run::ready();
    r.press(Who::Template);
    assert!(r.passed().is_empty());
    assert_eq!(
        r.bound(7, None),
        [Action::CreateVerification { attempt: 1 }]
    );
    r.captured();
    assert_eq!(r.creates(), 1);
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
        r.bound(7, None);
        r.passed();
        r.ev(Event::CaptureDone {
            attempt: 1,
            clock_plausible,
        });
        assert_eq!(r.creates(), 0);
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
fn a_capture_that_cannot_be_stored_releases_the_name_and_finalizes_its_verification() {
    let mut r = Run::ready();
    r.press(Who::Ticket);
    r.bound(7, None);
    r.passed();
    r.verified("v");
    r.captured();
    r.stored(false);
    assert_eq!(r.m.state(), State::Failed);
    assert!(r.released());
    assert_eq!(r.conclusion(), Some(Conclusion::NotStored));
    assert_eq!(r.abandons(), ["v"]);
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

    // create-verification: queued without it; should it come after all, it
    // is finalized (the queue creates its own when it sends the entry).
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.captured();
    r.at(BUDGETS.create).ev(Event::TimerExpired);
    assert!(r.has(|a| matches!(
        a,
        Action::Store {
            verification_id: None,
            to: Destination::Queue { .. },
            ..
        }
    )));
    r.stored(true);
    assert_eq!(r.m.loose_verifications(), 1);
    r.verified("v-late");
    assert_eq!(r.abandons(), ["v-late"]);
    r.abandoned();
    assert_eq!(r.m.loose_verifications(), 0);
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

    // Captured, waiting for its verification: the create already on the
    // wire is waited for, and the capture queued with it (used when sent).
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.captured();
    r.ev(Event::Shutdown);
    assert!(!r.has(|a| matches!(a, Action::Store { .. })));
    r.verified("v");
    assert!(r.actions.contains(&Action::Store {
        attempt: 1,
        record: 7,
        verification_id: Some("v".into()),
        to: Destination::Queue { not_before: None }
    }));
    assert_eq!(r.stored(true).last(), Some(&Action::Exit));
    assert!(r.abandons().is_empty());

    // A frame passed, its verification on the wire, the capture still
    // encoding: released at once; the verification, once created, finalized;
    // exit once that is done.
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.passed();
    assert!(r.ev(Event::Shutdown).contains(&Action::Release {
        attempt: 1,
        record: 7
    }));
    assert!(!r.settled().contains(&Action::Exit));
    assert!(!r.verified("v").contains(&Action::Exit));
    assert_eq!(r.abandons(), ["v"]);
    assert_eq!(r.abandoned().last(), Some(&Action::Exit));

    // Durable as sending, but stopping came first: requeued, no request.
    let mut r = Run::ready();
    r.press(Who::Template);
    r.bound(7, None);
    r.passed();
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
