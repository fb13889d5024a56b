//! `enrolld probe --watch`: the wiring check. In process on simulated
//! hardware (a press prints an event and lights the LED; stopping leaves it
//! off), and as a real process with real signals.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use enrolld::gpio::sim;
use enrolld::gpio::{Layout, TriggerConfig, watch::watch};
use tokio::sync::oneshot;

const API: &str = "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"1\"\n";

#[tokio::test]
async fn a_press_is_printed_and_lit_and_stopping_leaves_the_leds_off() {
    let cfg: TriggerConfig =
        toml::from_str("kind = \"button\"\nline = \"b\"\ndebounce_ms = 10\n").unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (line, trigger) = sim::start_trigger(&cfg, tx).unwrap();
    let (leds, view) = sim::start_indicator(Layout::Single);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let mut out = Vec::new();
    let watching = async {
        watch(rx, &trigger, leds, &mut out, async {
            let _ = stop_rx.await;
        })
        .await;
    };
    let pressing = async {
        tokio::task::spawn_blocking(move || line.press(Duration::from_millis(50)))
            .await
            .unwrap();
        // The event lights the LED ("registered", 3 s).
        for _ in 0..500 {
            if view.current() == [true, false] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(view.current(), [true, false], "LED lit by the event");
        stop_tx.send(()).unwrap();
    };
    tokio::join!(watching, pressing);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "trigger: ready, debounced in software");
    assert!(lines[1].starts_with("event: press edge_ns="), "{text}");
    assert_eq!(lines.last(), Some(&"stopped: LEDs off"));
    assert_eq!(view.current(), [false, false], "LED off after stop");
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, format!("{API}{text}").as_bytes()).unwrap();
    f
}

fn enrolld(config: &tempfile::NamedTempFile) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_enrolld"));
    c.arg("--config")
        .arg(config.path())
        .args(["probe", "--watch"]);
    c
}

#[test]
fn a_wrong_chip_fails_with_the_chips_that_exist() {
    let cfg = config_file("[trigger]\nkind = \"button\"\nchip = \"/dev/gpiochip999\"\nline = 1\n");
    let out = enrolld(&cfg).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("GPIO chip `/dev/gpiochip999` not found; chips: "),
        "{stderr}"
    );
}

#[test]
fn a_broken_config_is_a_config_error() {
    let cfg = config_file("[trigger]\nkind = \"button\"\n");
    let out = enrolld(&cfg).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("trigger.line: is required when kind = \"button\""),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_the_watch_cleanly() {
    let cfg = config_file("");
    let mut child = enrolld(&cfg).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "exited before watching"
        );
        if line.starts_with("trigger: ") {
            break;
        }
    }
    assert_eq!(line, "trigger: disabled (kind = \"none\")\n");
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert_eq!(rest, "stopped: LEDs off\n");
}
