//! Soak: thousands of enrollments through `enrolld run` as a process (the shipped amd64 board
//! binary, face check on) against `enrolld-standin` over TLS on loopback, with a mix of what a
//! terminal meets in months on a wall: registrations, IDMeta's retakes, people already
//! registered, tickets from the reception desk, and outages whose enrollments queue and drain
//! once the service is back. At the start (after a warm-up), every 1000 enrollments and at the
//! end, each time after 11 s idle, it looks at what must stay flat for a terminal that runs for
//! months: resident memory, open file descriptors, threads, files in the state directory, and
//! the CPU time each enrollment costs.
//!
//! Goal (issue 22): RSS within 1 MiB, the same descriptors and threads, no stray files.
//! Figures: docs/benchmarks.md. Not part of `cargo test`.
//!
//! Run: `cargo bench --bench soak` after `bash .ci/release-builds.sh` (the binaries it runs;
//! `SOAK_ENROLLD`, `SOAK_STANDIN` name others). `SOAK_ENROLLMENTS` (default 5000) sets the
//! length; CI runs a short one.

#[path = "common/process.rs"]
mod process;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enrolld::control::client;
use process::{Running, shipped, until_listening};

const TEMPLATE: &str = "soak-bench";
/// Enrollments before the first snapshot: caches, pools and the TLS session are warm by then.
const WARM_UP: u64 = 100;
/// One block of the mix, repeated: what happens to enrollment `i % BLOCK`.
const BLOCK: u64 = 50;
/// A look at the process every this many enrollments, for the trend between start and end.
const LOOK_EVERY: u64 = 1000;
/// Idle before each look: longer than the keep-alive of tokio's blocking pool (10 s), whose
/// threads (a capture, a request) end once idle that long, so every look sees the process at
/// rest rather than however many threads the last enrollments left waiting.
const SETTLE: Duration = Duration::from_secs(11);

/// What the stand-in does for one enrollment of a block, and whether it comes with a ticket.
fn plan(i: u64) -> (&'static str, bool) {
    let behaviour = match i % BLOCK {
        // An outage: these are queued (create-verification fails), then drained.
        40..=44 => "refuse",
        45 | 46 => "retake:no_face",
        47 | 48 => "already-registered",
        _ => "ok",
    };
    (behaviour, i.is_multiple_of(5))
}

/// The outcome counters an enrollment's conclusion adds one to.
const CONCLUSIONS: [&str; 13] = [
    "registered",
    "already_registered",
    "retake",
    "rejected",
    "server_error",
    "bad_response",
    "queued",
    "unknown_delivery",
    "capture_failed",
    "camera_fault",
    "queue_full",
    "stopped",
    "nobody",
];

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    enrollments: u64,
    rss_kib: u64,
    fds: usize,
    threads: usize,
    state_files: usize,
    cpu_ticks: u64,
}

fn main() {
    let total: u64 = std::env::var("SOAK_ENROLLMENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000)
        .max(WARM_UP + BLOCK);
    let enrolld = shipped("SOAK_ENROLLD", "enrolld");
    let standin_bin = shipped("SOAK_STANDIN", "enrolld-standin");
    let dir = tempfile::tempdir().expect("temporary directory");
    let dir = dir.path();
    let token = dir.join("token");
    fs::write(&token, "soak-bench-token-0123456789\n").unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    let behaviour_file = dir.join("behaviour");
    fs::write(&behaviour_file, "ok").unwrap();
    let (_standin, url) = start_standin(&standin_bin, dir, &token, &behaviour_file);

    let person = dir.join("person.jpg");
    let photo = enrolld::demo::scene::load_photo("astronaut.png").unwrap_or_else(|e| panic!("{e}"));
    enrolld::demo::scene::frame(
        &photo,
        enrolld::demo::scene::ASTRONAUT_FACE,
        640,
        480,
        enrolld::demo::scene::Placement::well_placed(),
    )
    .save_with_format(&person, image::ImageFormat::Jpeg)
    .unwrap();
    let config = dir.join("enrolld.toml");
    fs::write(&config, daemon_config(dir, &url, &token, &person)).unwrap();
    let log = dir.join("daemon.log");
    let daemon = Running(
        Command::new(&enrolld)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn enrolld run"),
    );
    let pid = daemon.0.id();
    let socket = dir.join("control.sock");
    let status_file = dir.join("status.json");
    wait(&log, || client::status(&socket).ok());

    let started = Instant::now();
    // The looks, the first (after the warm-up) being the start the goals compare with.
    let mut trend: Vec<Snapshot> = Vec::new();
    let mut behaviour = "ok";
    for i in 0..total {
        let (wanted, ticket) = plan(i);
        if wanted != behaviour {
            if behaviour == "refuse" {
                drain(&status_file, &behaviour_file, &log);
            }
            fs::write(&behaviour_file, wanted).unwrap();
            behaviour = wanted;
            // The stand-in follows its file every 100 ms.
            std::thread::sleep(Duration::from_millis(250));
        }
        if ticket {
            client::enroll(&socket, &format!("desk-{i}"), None).expect("enroll a ticket");
        }
        let before = concluded(&status_file);
        client::trigger(&socket).expect("trigger");
        wait(&log, || (concluded(&status_file) > before).then_some(()));
        let done = i + 1;
        // Looks fall at the end of a block (WARM_UP and LOOK_EVERY are multiples of BLOCK),
        // where nothing is queued.
        if done == WARM_UP || (done % LOOK_EVERY == 0 && done < total) {
            std::thread::sleep(SETTLE);
            trend.push(snapshot(pid, dir, done));
        }
    }
    if behaviour == "refuse" {
        drain(&status_file, &behaviour_file, &log);
    }
    std::thread::sleep(SETTLE);
    let last = snapshot(pid, dir, total);
    trend.push(last);
    let first = trend[0];
    let status = read_status(&status_file);
    drop(daemon);

    println!(
        "soak of `enrolld run` ({total} enrollments, {:.0} s; simulated camera 640x480 with a \
         face, stand-in over TLS)",
        started.elapsed().as_secs_f64()
    );
    println!("outcomes: {}", status["counters"]);
    println!();
    println!("{:<38} {:>12} {:>12}   goal", "measure", "start", "end");
    let per = |s: &Snapshot, from: &Snapshot| {
        let n = (s.enrollments - from.enrollments).max(1);
        ticks_to_ms(s.cpu_ticks - from.cpu_ticks) / n as f64
    };
    let rss_growth = last.rss_kib as i64 - first.rss_kib as i64;
    row(
        "resident memory (VmRSS)",
        format!("{:.2} MiB", first.rss_kib as f64 / 1024.0),
        format!("{:.2} MiB", last.rss_kib as f64 / 1024.0),
        verdict(rss_growth.abs() <= 1024, "within 1 MiB"),
    );
    row(
        "open file descriptors",
        first.fds.to_string(),
        last.fds.to_string(),
        verdict(last.fds == first.fds, "the same"),
    );
    row(
        "threads",
        first.threads.to_string(),
        last.threads.to_string(),
        verdict(last.threads == first.threads, "the same"),
    );
    row(
        "files in the state directory",
        first.state_files.to_string(),
        last.state_files.to_string(),
        verdict(last.state_files == first.state_files, "no stray files"),
    );
    println!(
        "{:<38} {}",
        "trend (enrollments: RSS MiB, threads)",
        trend
            .iter()
            .map(|t| format!(
                "{}: {:.2}, {}",
                t.enrollments,
                t.rss_kib as f64 / 1024.0,
                t.threads
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let zero = Snapshot {
        enrollments: 0,
        cpu_ticks: 0,
        ..first
    };
    row(
        "CPU per enrollment (utime+stime)",
        format!("{:.1} ms", per(&first, &zero)),
        format!("{:.1} ms", per(&last, &first)),
        "(start: the warm-up's)".to_owned(),
    );
}

fn verdict(ok: bool, goal: &str) -> String {
    format!("{} {goal}", if ok { "met:" } else { "MISSED:" })
}

fn row(what: &str, start: String, end: String, goal: String) {
    println!("{what:<38} {start:>12} {end:>12}   {goal}");
}

/// Enrollments concluded so far, from the status file's counters.
fn concluded(status: &Path) -> u64 {
    let s = read_status(status);
    CONCLUSIONS
        .iter()
        .map(|c| s["counters"][c].as_u64().unwrap_or(0))
        .sum()
}

fn read_status(status: &Path) -> serde_json::Value {
    fs::read(status)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Ends an outage and waits until the queue has drained.
fn drain(status: &Path, behaviour_file: &Path, log: &Path) {
    fs::write(behaviour_file, "ok").unwrap();
    wait(log, || {
        (read_status(status)["queue"]["depth"].as_u64() == Some(0)).then_some(())
    });
}

/// Polls `probe` for up to a minute; a stuck daemon fails the bench with its log.
fn wait<T>(log: &Path, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "enrolld did not get there within 60 s; its log ends: {}",
            tail(log)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn snapshot(pid: u32, dir: &Path, enrollments: u64) -> Snapshot {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
    };
    let count = |path: String| fs::read_dir(path).map_or(0, |d| d.count());
    Snapshot {
        enrollments,
        rss_kib: field("VmRSS"),
        fds: count(format!("/proc/{pid}/fd")),
        threads: field("Threads") as usize,
        state_files: files_under(&dir.join("queue")),
        cpu_ticks: cpu_ticks(pid),
    }
}

fn files_under(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
    })
}

/// utime + stime of /proc/<pid>/stat, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_to_ms(ticks: u64) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 * 1000.0 / hz
}

fn start_standin(standin: &Path, dir: &Path, token: &Path, behaviour: &Path) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(standin)
        .args(["--listen", &addr, "--template-id", TEMPLATE])
        .arg("--ca-out")
        .arg(dir.join("ca.pem"))
        .arg("--token-file")
        .arg(token)
        .arg("--behaviour-file")
        .arg(behaviour)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enrolld-standin");
    let running = until_listening(child);
    (running, format!("https://{addr}"))
}

fn daemon_config(dir: &Path, url: &str, token: &Path, picture: &Path) -> String {
    use enrolld::demo::config::{set, simulated_terminal};
    let mut doc = simulated_terminal(dir, url, TEMPLATE, &dir.join("ca.pem"));
    set(&mut doc, "terminal", "id", "soak");
    set(&mut doc, "terminal", "username_template", "soak-{seq}");
    set(&mut doc, "api", "token_file", token.display().to_string());
    set(&mut doc, "api", "ca_file_only", true);
    set(&mut doc, "camera", "width", 640);
    set(&mut doc, "camera", "height", 480);
    set(&mut doc, "camera", "warmup_frames", 1);
    set(
        &mut doc,
        "camera",
        "simulated_image",
        picture.display().to_string(),
    );
    set(&mut doc, "face", "enabled", true);
    set(&mut doc, "queue", "backoff_base_ms", 100);
    set(&mut doc, "queue", "backoff_max_ms", 300);
    doc.to_string()
}
