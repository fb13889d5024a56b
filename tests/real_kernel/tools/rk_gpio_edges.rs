//! Guest tool for the real-kernel tests (not part of enrolld): proves the
//! GPIO character device paths enrolld relies on, in the guest, before the
//! daemon exists: lines found by name, an output driven by a consumer (read
//! back by the scenario through gpio-sim's sysfs), and edge events on an
//! input, which in Debian's kernel go through the out-of-tree irq_sim change.
//!
//!     rk-gpio-edges <input-line> <output-line> <edges>
//!
//! Prints `READY <chip> <input-offset> <output-offset>` once both lines are
//! requested (output driven active), then one `EDGE rising|falling` per event,
//! then `DONE` after `<edges>` events; exits 1 with `TIMEOUT` if 20 s pass
//! without an event.
//!
//!     rk-gpio-edges pull <gpio-sim pull attribute> pull-up|pull-down
//!
//! For the latency benchmarks: prints the CLOCK_MONOTONIC time in ns, then
//! writes the pull (the simulated outside world moving the line). That is the
//! press's start for every contender, whatever debounce its reader applies
//! (the kernel timestamps a debounced event when the debounce ends).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use gpiocdev::line::{EdgeDetection, EdgeKind, Value};
use gpiocdev::request::Request;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, cmd, attr, pull] = args.as_slice()
        && cmd == "pull"
    {
        return match pull_timed(attr, pull) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rk-gpio-edges pull: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let [_, input, output, edges] = args.as_slice() else {
        eprintln!("usage: rk-gpio-edges <input-line> <output-line> <edges>");
        return ExitCode::from(2);
    };
    let edges: usize = edges.parse().expect("<edges> is a number");
    match run(input, output, edges) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("ERROR {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str, edges: usize) -> Result<(), String> {
    let find = |name: &str| {
        gpiocdev::find_named_line(name).ok_or_else(|| format!("no GPIO line named {name}"))
    };
    let (inp, out) = (find(input)?, find(output)?);
    if inp.chip != out.chip {
        return Err(format!("{input} and {output} are on different chips"));
    }
    let request = Request::builder()
        .with_consumer("rk-gpio-edges")
        .with_found_line(&inp)
        .as_input()
        .with_edge_detection(EdgeDetection::BothEdges)
        .with_found_line(&out)
        .as_output(Value::Active)
        .request()
        .map_err(|e| format!("request: {e}"))?;
    let mut stdout = std::io::stdout();
    let say = |stdout: &mut std::io::Stdout, line: String| {
        writeln!(stdout, "{line}").and_then(|_| stdout.flush()).ok();
    };
    say(
        &mut stdout,
        format!(
            "READY {} {} {}",
            inp.chip.display(),
            inp.info.offset,
            out.info.offset
        ),
    );
    for seen in 0..edges {
        let ready = request
            .wait_edge_event(Duration::from_secs(20))
            .map_err(|e| format!("wait: {e}"))?;
        if !ready {
            say(&mut stdout, format!("TIMEOUT after {seen} edges"));
            return Err("timeout".into());
        }
        let event = request
            .read_edge_event()
            .map_err(|e| format!("read: {e}"))?;
        let kind = match event.kind {
            EdgeKind::Rising => "rising",
            EdgeKind::Falling => "falling",
        };
        say(&mut stdout, format!("EDGE {kind}"));
    }
    say(&mut stdout, "DONE".into());
    Ok(())
}

fn pull_timed(attr: &str, pull: &str) -> Result<(), String> {
    if pull != "pull-up" && pull != "pull-down" {
        return Err(format!("pull must be pull-up or pull-down, not {pull:?}"));
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(attr)
        .map_err(|e| format!("{attr}: {e}"))?;
    // Opened first, so only the write itself lies between the time and the edge.
    let at = enrolld::time::monotonic_ns();
    file.write_all(pull.as_bytes())
        .map_err(|e| format!("{attr}: {e}"))?;
    println!("{at}");
    Ok(())
}
