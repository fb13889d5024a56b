//! What is shown: presses, faults, pauses, stale events, every resting state.

use std::time::Duration;

use super::*;

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
        Event::FramePassed { attempt: 1 },
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
        Event::Abandoned { attempt: 1 },
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
            "see_reception",
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
