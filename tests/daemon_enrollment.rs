//! The whole daemon as a process: a press, tickets, refusals, SIGTERM and
//! SIGHUP, asserted through the control socket, the status file, the LED
//! record and the HTTPS stand-in's records.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::{Daemon, Harness, Knobs, lit_periods, wait_for};
use enrolld_standin::Behaviour;

/// The registered pattern is solid for 3 s; scheduling on a loaded machine
/// stretches it a little, never shortens it much.
const SOLID: std::ops::RangeInclusive<u64> = 2_500..=4_500;

/// Waits until the LED record shows busy blinking, then one solid period,
/// then off, and returns the record.
fn wait_busy_solid_off(d: &Daemon) -> Vec<(u64, bool)> {
    let done = wait_for(Duration::from_secs(15), || {
        let leds = d.leds();
        let solid = lit_periods(&leds).iter().any(|p| SOLID.contains(&p.1));
        (solid && leds.last().is_some_and(|l| !l.1)).then_some(leds)
    });
    let leds = done.unwrap_or_else(|| panic!("LED record never finished: {:?}", d.leds()));
    let periods = lit_periods(&leds);
    let solid = periods.iter().position(|p| SOLID.contains(&p.1)).unwrap();
    let blinks = &periods[..solid];
    assert!(
        blinks.len() >= 2 && blinks.iter().all(|p| (150..=400).contains(&p.1)),
        "busy should blink (250 ms on) before the result: {periods:?}"
    );
    assert_eq!(
        solid,
        periods.len() - 1,
        "nothing lit after the solid period: {periods:?}"
    );
    leds
}

#[test]
fn a_press_registers_and_shows_busy_then_registered_then_off() {
    // Each call takes 300 ms, so the busy pattern has time to blink.
    let mut h = Harness::new(Behaviour::Stall(Duration::from_millis(300)));
    h.write_config(&Knobs::default());
    let d = h.start();
    d.press_until("registered", 1);

    let regs = h.registrations();
    assert_eq!(regs.len(), 1, "{regs:?}");
    let reg = &regs[0];
    assert!(reg.problems.is_empty() && reg.token_ok, "{reg:?}");
    assert_eq!(reg.field("username"), Some("t-1"));
    let jpeg = reg.jpeg.as_ref().expect("the image decoded from base64");
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("the registration carries a decodable JPEG");
    assert!(img.width() > 0 && img.height() > 0);

    let status = d.status_file();
    let last = &status["last_outcome"];
    assert_eq!(last["code"], "registered", "{status:#}");
    assert_eq!(last["username"], "t-1");
    // The verification was created once the frame was in hand, and the
    // registration used it (finalize is off by default).
    assert_eq!(h.verifications_created(), 1);
    assert_eq!(h.verifications_finalized(), 0);
    assert_eq!(
        last["verification_id"].as_str(),
        reg.field("verification_id")
    );
    assert!(
        last["stages_ms"]["create_verification"].is_u64(),
        "{status:#}"
    );
    let face = last["face_id"].as_str().expect("face id");
    assert!(
        face.starts_with(&format!("face_{:06}_", reg.seq)),
        "face id {face} is the stand-in's answer to request {}",
        reg.seq
    );
    assert_eq!(status["state"], "registered", "{status:#}");
    assert_eq!(Daemon::counter(&status, "registered"), 1);

    wait_busy_solid_off(&d);
    d.wait_status("state idle", Duration::from_secs(10), |s| {
        s["state"] == "idle"
    });
    let text = std::fs::read_to_string(h.path("status.json")).unwrap() + &d.stderr();
    common::assert_no_secret_in(&text);
    d.terminate(Duration::from_secs(15));
}

#[test]
fn tickets_survive_a_restart_and_a_press_without_ticket_is_refused() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs {
        username_template: None,
        ..Knobs::default()
    });
    let d = h.start();
    let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .arg("--config")
        .arg(h.config_path())
        .args(["enroll", "--username", "Ann"])
        .output()
        .unwrap();
    assert!(out.status.success(), "enroll: {out:?}");
    assert_eq!(d.status()["tickets_pending"], 1);
    d.terminate(Duration::from_secs(15));

    let d = h.start();
    assert_eq!(
        d.status()["tickets_pending"],
        1,
        "the ticket survived the restart"
    );
    d.press_until("registered", 1);
    assert_eq!(h.registered_names(), ["Ann"]);
    let status = d.status_file();
    assert_eq!(status["last_outcome"]["username"], "Ann");
    assert_eq!(status["tickets_pending"], 0);

    // No ticket left, no template: the press is refused, visibly.
    d.wait_status("state idle", Duration::from_secs(10), |s| {
        s["state"] == "idle"
    });
    let before = d.leds().len();
    let err = d
        .trigger()
        .expect_err("a press with nobody to enroll is refused");
    assert!(err.contains("ticket"), "{err}");
    d.wait_counter("refused_press", 1, Duration::from_secs(5));
    let flashes = wait_for(Duration::from_secs(5), || {
        let leds = d.leds()[before..].to_vec();
        let p = lit_periods(&leds);
        (p.len() >= 3 && leds.last().is_some_and(|l| !l.1)).then_some(p)
    })
    .unwrap_or_else(|| panic!("no refused pattern: {:?}", &d.leds()[before..]));
    assert!(
        flashes.len() == 3 && flashes.iter().all(|p| (20..=200).contains(&p.1)),
        "refused = three short flashes: {flashes:?}"
    );
    assert_eq!(
        h.registrations().len(),
        1,
        "nothing was sent for the refused press"
    );
    d.terminate(Duration::from_secs(15));
}

#[test]
fn sigterm_while_submitting_exits_cleanly_with_the_led_off() {
    // The stand-in holds every request far longer than the daemon waits.
    let mut h = Harness::new(Behaviour::Stall(Duration::from_secs(60)));
    h.write_config(&Knobs {
        request_timeout_ms: 1_500,
        ..Knobs::default()
    });
    let mut d = h.start();
    assert_eq!(d.trigger().unwrap()["started"], true);
    d.wait_status("state submitting", Duration::from_secs(10), |s| {
        s["state"] == "submitting"
    });
    let asked = Instant::now();
    d.signal(libc::SIGTERM);
    // The bound: the request timeout, then the queue write, well inside the grace.
    let exit = d.wait_exit(Duration::from_secs(15));
    assert!(exit.success(), "exit {exit}\n{}", d.stderr());
    let took = asked.elapsed();
    let leds = d.leds();
    assert_eq!(
        leds.last().map(|l| l.1),
        Some(false),
        "LED left lit: {leds:?}"
    );
    // The enrollment was not lost: it never got through, so it was queued.
    let status = d.status_file();
    assert_eq!(status["queue"]["depth"], 1, "{status:#}");
    assert_eq!(h.queued_names(), ["t-1"]);
    eprintln!("SIGTERM while submitting: exited 0 after {took:?}");
    h.standin.stop();
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs::default());
    let mut d = h.start();
    h.write_config(&Knobs {
        username_template: Some("new-{seq}".to_owned()),
        terminal_extra: "bogus_key = 1\n".to_owned(),
        ..Knobs::default()
    });
    d.signal(libc::SIGHUP);
    wait_for(Duration::from_secs(10), || {
        d.stderr().contains("bogus_key").then_some(())
    })
    .unwrap_or_else(|| panic!("stderr does not name the key:\n{}", d.stderr()));
    assert!(d.is_running(), "a broken config must not stop the daemon");
    d.press_until("registered", 1);
    assert_eq!(
        h.registered_names(),
        ["t-1"],
        "the old template is still in force"
    );
    d.terminate(Duration::from_secs(15));
}

#[test]
fn a_retake_before_any_frame_passed_asks_nothing_of_idmeta() {
    let mut h = Harness::new(Behaviour::Ok);
    // An all-black picture: every capture is a local retake ("too dark").
    let black = h.path("black.png");
    image::RgbImage::new(640, 480).save(&black).unwrap();
    h.write_config(&Knobs {
        camera_extra: format!("simulated_image = \"{}\"\n", black.display()),
        ..Knobs::default()
    });
    let d = h.start();
    for n in 1..=3 {
        d.press_until("retake", n);
        d.wait_status("state idle", Duration::from_secs(10), |s| {
            s["state"] == "idle"
        });
    }
    // No frame passed (too dark), so no request of any kind: no create-verification (these
    // presses have no ticket), no registration, no finalize.
    assert_eq!(h.requests(), 0, "{}", d.stderr());
    d.terminate(Duration::from_secs(15));
}
