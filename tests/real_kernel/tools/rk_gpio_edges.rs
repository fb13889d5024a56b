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
//!
//!     rk-gpio-edges burst <gpio-sim pull attribute> <edges>
//!
//! Bounce: `<edges>` writes alternating pull-up / pull-down (starting with
//! pull-up, so an odd count ends high) in one tight loop, each costing
//! microseconds, so the burst is shorter than any debounce period whatever
//! the guest's speed. Prints `BURST edges=N max_gap_us=G total_us=T`: the
//! real gaps, for the scenario to check and report beside its verdict.
//!
//!     rk-gpio-edges hold <gpio-sim pull attribute> <ms>
//!
//! A presence of a given length: pull-up, sleep, pull-down. Prints
//! `HELD us=N`, the time between the two writes as it really was.
//!
//!     rk-gpio-edges watch <gpio-sim value attribute> <ms> [<stop file>]
//!
//! Reads a line's level every millisecond for `<ms>` (or until the stop file
//! exists) and prints `RUNS level:ms level:ms ...`, the run lengths as
//! measured (the first and last runs are cut by the window). A shell loop
//! sampling the same attribute measures its own speed as much as the LED's.
//!
//!     rk-gpio-edges holder <line name> <gpio-sim value attribute>
//!
//! Prints `used=<consumer> value=<0|1>` or `free value=<0|1>`: the level
//! read between two line-info reads that agree, so it was that holder's
//! level (gpio-sim resets a released line to its pull, so a level read after
//! the holder let go says nothing about what the holder drove).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use gpiocdev::line::{EdgeDetection, EdgeKind, Value};
use gpiocdev::request::Request;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let done = |what: &str, result: Result<(), String>| match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rk-gpio-edges {what}: {e}");
            ExitCode::FAILURE
        }
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [_, "pull", attr, pull] => return done("pull", pull_timed(attr, pull)),
        [_, "burst", attr, edges] => return done("burst", burst(attr, edges)),
        [_, "hold", attr, ms] => return done("hold", hold(attr, ms)),
        [_, "watch", attr, ms] => return done("watch", watch(attr, ms, None)),
        [_, "watch", attr, ms, stop] => return done("watch", watch(attr, ms, Some(stop))),
        [_, "holder", name, attr] => return done("holder", holder(name, attr)),
        _ => {}
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
    let at = monotonic_ns();
    file.write_all(pull.as_bytes())
        .map_err(|e| format!("{attr}: {e}"))?;
    println!("{at}");
    Ok(())
}

/// CLOCK_MONOTONIC in nanoseconds: the clock the stand-in stamps requests with.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn number(what: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{what} must be a whole number, not {text:?}"))
}

/// The pull attribute, opened once: each write is then one syscall.
fn open_pull(attr: &str) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(attr)
        .map_err(|e| format!("{attr}: {e}"))
}

fn set_pull(file: &mut std::fs::File, attr: &str, up: bool) -> Result<(), String> {
    let pull: &[u8] = if up { b"pull-up" } else { b"pull-down" };
    file.write_all(pull).map_err(|e| format!("{attr}: {e}"))
}

fn burst(attr: &str, edges: &str) -> Result<(), String> {
    let edges = number("<edges>", edges)?;
    let mut file = open_pull(attr)?;
    let start = std::time::Instant::now();
    let mut last = start;
    let mut max_gap = Duration::ZERO;
    for i in 0..edges {
        set_pull(&mut file, attr, i % 2 == 0)?;
        let now = std::time::Instant::now();
        if i > 0 {
            max_gap = max_gap.max(now - last);
        }
        last = now;
    }
    println!(
        "BURST edges={edges} max_gap_us={} total_us={}",
        max_gap.as_micros(),
        (last - start).as_micros()
    );
    Ok(())
}

fn hold(attr: &str, ms: &str) -> Result<(), String> {
    let ms = number("<ms>", ms)?;
    let mut file = open_pull(attr)?;
    set_pull(&mut file, attr, true)?;
    let start = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(ms));
    set_pull(&mut file, attr, false)?;
    println!("HELD us={}", start.elapsed().as_micros());
    Ok(())
}

fn watch(attr: &str, ms: &str, stop: Option<&str>) -> Result<(), String> {
    use std::io::{Read, Seek};
    let window = Duration::from_millis(number("<ms>", ms)?);
    let mut file = std::fs::File::open(attr).map_err(|e| format!("{attr}: {e}"))?;
    let mut read_level = || -> Result<u8, String> {
        let mut buf = [0u8; 4];
        file.rewind().map_err(|e| format!("{attr}: {e}"))?;
        let n = file.read(&mut buf).map_err(|e| format!("{attr}: {e}"))?;
        match buf[..n].first() {
            Some(b'0') => Ok(0),
            Some(b'1') => Ok(1),
            _ => Err(format!("{attr}: unexpected content {:?}", &buf[..n])),
        }
    };
    let start = std::time::Instant::now();
    let (mut level, mut since) = (read_level()?, start);
    let mut runs = Vec::new();
    let mut checked_stop = start;
    loop {
        let now = std::time::Instant::now();
        if now - start >= window {
            break;
        }
        if let Some(stop) = stop
            && now - checked_stop >= Duration::from_millis(20)
        {
            checked_stop = now;
            if std::path::Path::new(stop).exists() {
                break;
            }
        }
        let current = read_level()?;
        if current != level {
            runs.push(format!("{level}:{}", (now - since).as_millis()));
            (level, since) = (current, now);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    runs.push(format!("{level}:{}", since.elapsed().as_millis()));
    println!("RUNS {}", runs.join(" "));
    Ok(())
}

fn holder(name: &str, attr: &str) -> Result<(), String> {
    let info = || -> Result<(bool, String), String> {
        let found =
            gpiocdev::find_named_line(name).ok_or_else(|| format!("no GPIO line named {name}"))?;
        Ok((found.info.used, found.info.consumer))
    };
    for _ in 0..100 {
        let before = info()?;
        let value = std::fs::read_to_string(attr).map_err(|e| format!("{attr}: {e}"))?;
        if info()? == before {
            let value = value.trim();
            match before {
                (true, consumer) => println!("used={consumer} value={value}"),
                (false, _) => println!("free value={value}"),
            }
            return Ok(());
        }
    }
    Err(format!("{name} changed holder on every read"))
}
