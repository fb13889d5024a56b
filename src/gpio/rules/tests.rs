use super::*;

const MS: u64 = 1_000_000;

/// An edge at a time in nanoseconds.
fn at(at_ns: u64, active: bool) -> Edge {
    Edge { at_ns, active }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Feeds (time in ms, level) edges, ticking at every deadline in
/// between and finally at `end_ms`; returns the decisions in ms.
fn run(rules: &mut TriggerRules, edges: &[(u64, bool)], end_ms: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(t, active) in edges {
        tick_until(rules, t * MS, &mut out);
        rules.edge(at(t * MS, active), &mut out);
    }
    tick_until(rules, end_ms * MS, &mut out);
    out.iter()
        .map(|f| (f.edge_timestamp_ns / MS, f.decided_at_ns / MS))
        .collect()
}

fn tick_until(rules: &mut TriggerRules, until_ns: u64, out: &mut Vec<Fired>) {
    let mut last = None;
    while let Some(d) = rules.deadline().filter(|&d| d <= until_ns) {
        assert_ne!(last, Some(d), "a tick at the deadline must settle it");
        last = Some(d);
        rules.tick(d, out);
    }
    rules.tick(until_ns, out);
}

fn button(debounce: u64, cooldown: u64) -> TriggerRules {
    TriggerRules::new(
        Behaviour::Button {
            cooldown: ms(cooldown),
        },
        ms(debounce),
        false,
        0,
    )
}

fn presence(debounce: u64, hold: u64, rearm: u64) -> TriggerRules {
    TriggerRules::new(
        Behaviour::Presence {
            hold: ms(hold),
            rearm: ms(rearm),
        },
        ms(debounce),
        false,
        0,
    )
}

/// A press with contact bounce: `n` alternations 1 ms apart starting at
/// `t`, ending active.
fn bouncy_press(t: u64, n: u64) -> Vec<(u64, bool)> {
    (0..=2 * n).map(|i| (t + i, i % 2 == 0)).collect()
}

// --- debounce ---

#[test]
fn debounce_reports_a_level_stable_for_the_period_at_the_window_close() {
    let mut d = Debouncer::new(ms(20), false);
    assert_eq!(d.edge(at(100 * MS, true)), None);
    assert_eq!(d.deadline(), Some(120 * MS));
    assert_eq!(d.poll(119 * MS), None);
    assert_eq!(
        d.poll(120 * MS),
        Some(at(120 * MS, true)),
        "held for exactly the period counts as stable"
    );
    assert_eq!(d.deadline(), None);
}

#[test]
fn debounce_restarts_the_window_on_every_edge() {
    let mut d = Debouncer::new(ms(20), false);
    for (i, t) in [0u64, 5, 10, 15, 24, 30].iter().enumerate() {
        assert_eq!(d.edge(at(t * MS, i % 2 == 0)), None);
    }
    // Last edge (30 ms) was inactive: back to the reported level, nothing to report.
    assert_eq!(d.poll(60 * MS), None);
    assert!(!d.level());
}

#[test]
fn debounce_reports_a_stable_level_found_late_at_the_next_edge() {
    let mut d = Debouncer::new(ms(20), false);
    d.edge(at(0, true));
    // No tick happened; the next edge (release at 500 ms) reveals the press.
    assert_eq!(d.edge(at(500 * MS, false)), Some(at(20 * MS, true)));
    assert_eq!(d.poll(520 * MS), Some(at(520 * MS, false)));
}

#[test]
fn an_edge_exactly_at_the_window_close_comes_after_the_confirmation() {
    let mut d = Debouncer::new(ms(20), false);
    d.edge(at(0, true));
    assert_eq!(d.edge(at(20 * MS, false)), Some(at(20 * MS, true)));
}

#[test]
fn zero_debounce_passes_changes_and_drops_repeats() {
    let mut d = Debouncer::new(Duration::ZERO, false);
    assert_eq!(d.edge(at(1, false)), None);
    assert_eq!(d.edge(at(2, true)), Some(at(2, true)));
    assert_eq!(d.edge(at(3, true)), None);
    assert_eq!(d.deadline(), None);
}

// --- button ---

#[test]
fn a_bounce_storm_is_one_press() {
    let mut r = button(20, 0);
    let mut edges = bouncy_press(100, 15);
    edges.extend([(400, false), (401, true), (402, false)]); // bouncy release
    assert_eq!(run(&mut r, &edges, 1_000), vec![(150, 150)]);
}

#[test]
fn two_separate_presses_are_two_events() {
    let mut r = button(20, 0);
    let edges = [(100, true), (200, false), (300, true), (400, false)];
    assert_eq!(run(&mut r, &edges, 1_000), vec![(120, 120), (320, 320)]);
}

#[test]
fn bounce_shorter_than_debounce_between_presses_never_fires() {
    let mut r = button(20, 0);
    let edges = [(100, true), (119, false), (130, true), (149, false)];
    assert_eq!(run(&mut r, &edges, 1_000), vec![]);
}

#[test]
fn holding_does_not_repeat() {
    let mut r = button(20, 0);
    assert_eq!(run(&mut r, &[(100, true)], 3_600_000), vec![(120, 120)]);
    // Duplicate active edges (e.g. a missed release) do not repeat either.
    let mut r = button(0, 0);
    assert_eq!(
        run(&mut r, &[(1, true), (5, true), (9, true)], 100),
        vec![(1, 1)]
    );
}

#[test]
fn a_button_held_at_start_must_be_released_first() {
    let mut r = TriggerRules::new(Behaviour::Button { cooldown: ms(0) }, ms(20), true, 0);
    assert_eq!(
        run(&mut r, &[(500, false), (900, true)], 2_000),
        vec![(920, 920)]
    );
}

#[test]
fn cooldown_swallows_presses_until_it_ends_exactly() {
    let mut r = button(0, 2_000);
    let mut out = Vec::new();
    r.edge(at(100 * MS, true), &mut out);
    r.edge(at(200 * MS, false), &mut out);
    assert_eq!(out.len(), 1);
    r.enrollment_finished(1_000 * MS); // quiet until 3000 ms
    for (t, a) in [(1_500, true), (1_600, false), (2_999, true), (3_000, false)] {
        r.edge(at(t * MS, a), &mut out);
    }
    assert_eq!(out.len(), 1, "presses inside the cooldown fire nothing");
    r.edge(at(3_000 * MS, true), &mut out);
    assert_eq!(
        out.len(),
        2,
        "a press exactly at the end of the cooldown counts"
    );
}

#[test]
fn a_press_held_through_the_end_of_the_cooldown_does_not_fire_late() {
    let mut r = button(0, 1_000);
    r.enrollment_finished(0);
    let edges = [(500, true), (4_000, false)];
    assert_eq!(run(&mut r, &edges, 5_000), vec![]);
}

#[test]
fn cooldown_uses_the_edge_time_not_the_time_it_is_processed() {
    // The finish is known before the press arrives, but the press happened after it.
    let mut r = button(20, 1_000);
    r.enrollment_finished(0);
    // Debounced press confirmed at 1_000 ms: exactly the end, so it fires.
    assert_eq!(run(&mut r, &[(980, true)], 5_000), vec![(1_000, 1_000)]);
}

#[test]
fn zero_cooldown_fires_right_after_finish() {
    let mut r = button(0, 0);
    r.enrollment_finished(50 * MS);
    assert_eq!(run(&mut r, &[(50, true)], 100), vec![(50, 50)]);
}

// --- presence ---

#[test]
fn presence_fires_once_after_hold_with_the_edge_time() {
    let mut r = presence(100, 1_000, 3_000);
    // Present from 200 (confirmed at 300) for 10 s.
    let edges = [(200, true), (10_200, false)];
    assert_eq!(run(&mut r, &edges, 20_000), vec![(300, 1_300)]);
}

#[test]
fn presence_shorter_than_hold_fires_nothing() {
    let mut r = presence(0, 1_000, 3_000);
    let edges = [(0, true), (999, false), (2_000, true), (2_500, false)];
    assert_eq!(run(&mut r, &edges, 10_000), vec![]);
}

#[test]
fn presence_held_exactly_the_hold_time_fires() {
    let mut r = presence(0, 1_000, 0);
    assert_eq!(
        run(&mut r, &[(0, true), (1_000, false)], 5_000),
        vec![(0, 1_000)]
    );
}

#[test]
fn flicker_shorter_than_debounce_is_ignored() {
    let mut r = presence(100, 1_000, 3_000);
    // Present from 0; 50 ms dropouts every 400 ms do not break the hold.
    let mut edges = vec![(0, true)];
    for k in 1..5 {
        edges.push((k * 400, false));
        edges.push((k * 400 + 50, true));
    }
    assert_eq!(run(&mut r, &edges, 5_000), vec![(100, 1_100)]);
    // A lone 50 ms blip of presence never starts an episode.
    let mut r = presence(100, 0, 0);
    assert_eq!(run(&mut r, &[(0, true), (50, false)], 5_000), vec![]);
}

#[test]
fn one_event_per_episode_even_with_short_absences() {
    let mut r = presence(0, 500, 3_000);
    // Fires at 500; absences of 2 s (< rearm) keep the same episode.
    let edges = [
        (0, true),
        (1_000, false),
        (3_000, true),
        (4_000, false),
        (6_999, true),
    ];
    assert_eq!(run(&mut r, &edges, 20_000), vec![(0, 500)]);
}

#[test]
fn absence_of_exactly_rearm_starts_a_new_episode() {
    let mut r = presence(0, 500, 3_000);
    let edges = [(0, true), (1_000, false), (4_000, true), (6_000, false)];
    assert_eq!(run(&mut r, &edges, 20_000), vec![(0, 500), (4_000, 4_500)]);
}

#[test]
fn someone_present_at_start_counts_from_start() {
    let mut r = TriggerRules::new(
        Behaviour::Presence {
            hold: ms(1_000),
            rearm: ms(3_000),
        },
        ms(100),
        true,
        5_000 * MS,
    );
    assert_eq!(r.deadline(), Some(6_000 * MS));
    assert_eq!(run(&mut r, &[], 7_000), vec![(5_000, 6_000)]);
}

#[test]
fn late_ticks_give_the_same_presence_decision() {
    let mut r = presence(0, 1_000, 3_000);
    let mut out = Vec::new();
    r.edge(at(0, true), &mut out);
    // The thread slept through the deadline; the release reveals it.
    r.edge(at(5_000 * MS, false), &mut out);
    assert_eq!(
        out,
        vec![Fired {
            edge_timestamp_ns: 0,
            decided_at_ns: 1_000 * MS
        }]
    );
}

#[test]
fn zero_hold_fires_at_the_debounced_edge() {
    let mut r = presence(0, 0, 0);
    assert_eq!(
        run(&mut r, &[(7, true), (8, false), (9, true)], 10),
        vec![(7, 7), (9, 9)]
    );
}

// --- reopen ---

#[test]
fn a_press_missed_while_the_line_was_closed_counts_at_reopen() {
    let mut r = button(20, 0);
    let mut out = Vec::new();
    r.line_opened(ms(20), true, 1_000 * MS, &mut out);
    assert_eq!(
        out,
        vec![Fired {
            edge_timestamp_ns: 1_000 * MS,
            decided_at_ns: 1_000 * MS
        }]
    );
    out.clear();
    r.line_opened(ms(20), true, 2_000 * MS, &mut out);
    assert_eq!(out, vec![], "the same held press does not repeat on reopen");
}

#[test]
fn a_presence_episode_survives_a_reopen() {
    let mut r = presence(0, 100, 3_000);
    let mut out = Vec::new();
    r.edge(at(0, true), &mut out);
    r.tick(200 * MS, &mut out);
    assert_eq!(out.len(), 1);
    r.line_opened(Duration::ZERO, true, 1_000 * MS, &mut out);
    r.tick(10_000 * MS, &mut out);
    assert_eq!(out.len(), 1, "still the same episode");
}

#[test]
fn finish_does_not_affect_presence() {
    let mut r = presence(0, 0, 0);
    r.enrollment_finished(0);
    assert_eq!(run(&mut r, &[(1, true)], 2), vec![(1, 1)]);
}
