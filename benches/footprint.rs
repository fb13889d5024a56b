//! Footprint of a running `enrolld run` on the host: the shipped amd64 binary (the board
//! build of .ci/release-builds.sh, face check on and its model loaded), simulated hardware
//! (camera `simulated` at 1920x1080 showing a person, no GPIO trigger, simulated LED) against
//! `enrolld-standin` on loopback over TLS:
//!
//! - time from spawning the process to its `READY=1` (read from a Unix
//!   datagram socket this bench passes as `NOTIFY_SOCKET`, as systemd does);
//! - resident memory once idle (VmRSS) and the peak over a 1920x1080 capture
//!   and registration (VmHWM after it);
//! - CPU time (utime + stime from /proc/<pid>/stat) over an idle period with
//!   the watchdog on (`WATCHDOG_USEC`, 20 s as in the shipped unit);
//! - CPU time while a press looks for a face that never comes, for the whole
//!   `face.deadline_ms` (what a presence sensor's passer-by costs; it includes the
//!   simulated camera making its frames, so it is an upper bound);
//! - the same terminal with its screen (800x480, written to a PNG file: the host has no
//!   panel): the time from `READY=1` to the first picture, and the resident memory once idle,
//!   against the run without a screen;
//! - stripped binary sizes per target, from target/ship/report.txt if the
//!   ship check wrote it.
//!
//! The budgets of issue 18 are printed beside the figures they bound: READY within 150 ms and
//! idle RSS within 16 MiB with the model loaded, the face search within half a core; those of
//! issue 28: the first screen within 200 ms of READY, at most 4 MiB more idle RSS with an
//! 800x480 screen (a difference of two resident sizes of the same run, so .ci/ship-check.sh
//! fails when it says OVER; the others are printed). These are
//! absolute figures of this machine (printed with the date and the CPU); no reference process
//! makes a ratio meaningful here. Ratios live in the encoder, face and latency benches.
//!
//! Run: `cargo bench --bench footprint` after `bash .ci/release-builds.sh board guests`
//! (`FOOTPRINT_ENROLLD` and `FOOTPRINT_STANDIN` name other binaries). `FOOTPRINT_IDLE_SECS`
//! shortens the idle period (default 60).

#[path = "common/process.rs"]
mod process;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::{Running, shipped, until_listening};

const TEMPLATE: &str = "footprint-bench";
/// How long a press looks for a face (the shipped default).
const FACE_DEADLINE_MS: u64 = 3_000;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let idle_secs: u64 = std::env::var("FOOTPRINT_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let enrolld = shipped("FOOTPRINT_ENROLLD", "enrolld");
    let standin_bin = shipped("FOOTPRINT_STANDIN", "enrolld-standin");
    let dir = tempfile::tempdir().expect("temporary directory");
    let dir = dir.path();

    let token = dir.join("token");
    fs::write(&token, "footprint-bench-token-0123456789\n").unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    let (standin, url) = start_standin(&standin_bin, dir, &token);
    let records = dir.join("records.jsonl");

    // A person in front of the camera, as JPEG (board builds decode no PNG), and an empty
    // corridor for the face search that finds nobody.
    let person = dir.join("person.jpg");
    let corridor = dir.join("corridor.jpg");
    write_scenes(&person, &corridor);
    let config = dir.join("enrolld.toml");
    fs::write(&config, daemon_config(dir, &url, &token, &person, None)).unwrap();

    let (daemon, ready, _) = start_daemon(&enrolld, &config, dir);
    let pid = daemon.0.id();

    // Let start-up allocations settle before calling it idle.
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = status_kib(pid, "VmRSS");
    let hwm_start = status_kib(pid, "VmHWM");

    let cpu_before = cpu_ticks(pid);
    let idle_started = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let idle_wall = idle_started.elapsed();
    let cpu_idle = ticks_to_duration(cpu_ticks(pid) - cpu_before);

    let press = Instant::now();
    trigger(&enrolld, &config);
    wait_registration(&records, &dir.join("daemon.log"));
    let press_to_registered = press.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let rss_peak = status_kib(pid, "VmHWM");
    let rss_after = status_kib(pid, "VmRSS");

    // Nobody there: the press looks for the whole deadline (the result state and the button's
    // cooldown pass first).
    std::thread::sleep(Duration::from_secs(4));
    // A rename: the camera never reads half a picture.
    fs::rename(&corridor, &person).unwrap();
    let searching = cpu_ticks(pid);
    let search_started = Instant::now();
    trigger(&enrolld, &config);
    wait_counter(&dir.join("status.json"), "retake", &dir.join("daemon.log"));
    let search_wall = search_started.elapsed();
    let cpu_search = ticks_to_duration(cpu_ticks(pid) - searching);
    drop(daemon);

    // The same terminal with an 800x480 screen.
    let screen = dir.join("screen.png");
    let screen_config = dir.join("enrolld-screen.toml");
    fs::write(
        &screen_config,
        daemon_config(dir, &url, &token, &person, Some(&screen)),
    )
    .unwrap();
    let (daemon, _, ready_at) = start_daemon(&enrolld, &screen_config, dir);
    // An upper bound: the first look may find the picture already there.
    let first_screen = wait_file(&screen, &dir.join("daemon.log")).duration_since(ready_at);
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle_screen = status_kib(daemon.0.id(), "VmRSS");
    drop(daemon);
    drop(standin);

    println!(
        "footprint of `enrolld run` (simulated camera 1920x1080, stand-in over TLS on loopback)"
    );
    println!(
        "date:    {}",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    );
    println!("machine: {}", machine());
    println!();
    println!("{:<44} {:>14}   budget", "measure", "value");
    budget_row(
        "start to READY=1 (face model loaded)",
        format!("{:.1} ms", ms(ready)),
        ms(ready) <= 150.0,
        "150 ms",
    );
    budget_row(
        "resident memory, idle (VmRSS, model loaded)",
        format!("{:.1} MiB", mib(rss_idle)),
        mib(rss_idle) <= 16.0,
        "16 MiB",
    );
    budget_row(
        "READY=1 to the first screen (800x480 PNG)",
        format!("{:.1} ms", ms(first_screen)),
        ms(first_screen) <= 200.0,
        "200 ms",
    );
    let screen_costs = mib(rss_idle_screen) - mib(rss_idle);
    budget_row(
        "idle RSS with the screen, more than without",
        format!("{screen_costs:+.2} MiB"),
        screen_costs <= 4.0,
        "4 MiB",
    );
    let search_share = cpu_search.as_secs_f64() / search_wall.as_secs_f64();
    budget_row(
        &format!("CPU looking for a face, {:.1} s", search_wall.as_secs_f64()),
        format!("{:.1} % core", 100.0 * search_share),
        search_share <= 0.5,
        "50 %",
    );
    for (what, bytes) in [
        ("resident memory, idle (VmRSS)", rss_idle),
        ("peak before the capture (VmHWM)", hwm_start),
        ("peak over a 1920x1080 capture (VmHWM)", rss_peak),
        ("resident after the capture (VmRSS)", rss_after),
    ] {
        row(what, format!("{:.1} MiB", mib(bytes)));
    }
    row(
        &format!(
            "CPU time over {:.0} s idle (utime+stime)",
            idle_wall.as_secs_f64()
        ),
        format!("{:.0} ms", ms(cpu_idle)),
    );
    row(
        "  as a share of one core",
        format!(
            "{:.3} %",
            100.0 * cpu_idle.as_secs_f64() / idle_wall.as_secs_f64()
        ),
    );
    row(
        "trigger to registration at the stand-in",
        format!("{:.0} ms", ms(press_to_registered)),
    );
    for (target, bytes) in shipped_sizes() {
        row(
            &format!("stripped binary, {target}"),
            format!("{:.2} MB", bytes as f64 / 1e6),
        );
    }
    let own = fs::metadata(&enrolld).map(|m| m.len()).unwrap_or(0);
    row(
        "the measured enrolld (amd64 board build)",
        format!("{:.2} MB", own as f64 / 1e6),
    );
}

fn row(what: &str, value: String) {
    println!("{what:<44} {value:>14}");
}

/// A figure with the budget it must keep, and whether it does.
fn budget_row(what: &str, value: String, within: bool, budget: &str) {
    let verdict = if within { "within" } else { "OVER" };
    println!("{what:<44} {value:>14}   {verdict} {budget}");
}

fn trigger(enrolld: &Path, config: &Path) {
    let out = Command::new(enrolld)
        .arg("--config")
        .arg(config)
        .arg("trigger")
        .output()
        .expect("enrolld trigger");
    assert!(
        out.status.success(),
        "enrolld trigger: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The two pictures the simulated camera shows, 1920x1080 JPEG.
fn write_scenes(person: &Path, corridor: &Path) {
    use enrolld::demo::scene;
    let photo = scene::load_photo("astronaut.png").unwrap_or_else(|e| panic!("{e}"));
    let view = scene::frame(
        &photo,
        scene::ASTRONAUT_FACE,
        1920,
        1080,
        scene::Placement::well_placed(),
    );
    view.save_with_format(person, image::ImageFormat::Jpeg)
        .unwrap();
    let empty = scene::load_photo("coffee.png").unwrap_or_else(|e| panic!("{e}"));
    image::imageops::resize(&empty, 1920, 1080, image::imageops::FilterType::Triangle)
        .save_with_format(corridor, image::ImageFormat::Jpeg)
        .unwrap();
}

/// Waits until the status file counts one `code`.
fn wait_counter(status: &Path, code: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let seen: serde_json::Value = fs::read(status)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if seen["counters"][code].as_u64().unwrap_or(0) >= 1 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "no {code} within 60 s; daemon log: {}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A free loopback port: bound, read and released (the stand-in takes it a
/// moment later; nothing else on a bench host races for it).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn start_standin(standin: &Path, dir: &Path, token: &Path) -> (Running, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(standin)
        .args(["--listen", &addr])
        .arg("--ca-out")
        .arg(dir.join("ca.pem"))
        .arg("--records")
        .arg(dir.join("records.jsonl"))
        .arg("--token-file")
        .arg(token)
        .args(["--template-id", TEMPLATE])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn enrolld-standin");
    let running = until_listening(child);
    (running, format!("https://{addr}"))
}

/// Spawns `enrolld run` on `config` and waits for its `READY=1`; returns it, the time that
/// took and when it came.
fn start_daemon(enrolld: &Path, config: &Path, dir: &Path) -> (Running, Duration, Instant) {
    let notify_path = dir.join("notify.sock");
    let _ = fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let daemon = Running(
        Command::new(enrolld)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "20000000")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("daemon.log")).unwrap())
            .spawn()
            .expect("spawn enrolld run"),
    );
    let ready = wait_ready(&notify, started, &dir.join("daemon.log"));
    (daemon, ready, started + ready)
}

/// When `path` appeared (polled every millisecond).
fn wait_file(path: &Path, log: &Path) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if path.exists() {
            return Instant::now();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!(
        "no {} within 10 s; daemon log: {}",
        path.display(),
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// The bench's terminal; with `screen`, its screen (800x480) written there.
fn daemon_config(
    dir: &Path,
    url: &str,
    token: &Path,
    picture: &Path,
    screen: Option<&Path>,
) -> String {
    use enrolld::demo::config::{set, simulated_terminal};
    let mut doc = simulated_terminal(dir, url, TEMPLATE, &dir.join("ca.pem"));
    set(&mut doc, "terminal", "id", "bench");
    set(&mut doc, "terminal", "username_template", "bench-{seq}");
    set(&mut doc, "api", "token_file", token.display().to_string());
    set(&mut doc, "api", "ca_file_only", true);
    set(&mut doc, "camera", "width", 1920);
    set(&mut doc, "camera", "height", 1080);
    set(
        &mut doc,
        "camera",
        "simulated_image",
        picture.display().to_string(),
    );
    set(&mut doc, "face", "enabled", true);
    set(&mut doc, "face", "deadline_ms", FACE_DEADLINE_MS as i64);
    if let Some(screen) = screen {
        set(&mut doc, "display", "enabled", true);
        set(
            &mut doc,
            "display",
            "png_file",
            screen.display().to_string(),
        );
    }
    doc.to_string()
}

fn wait_ready(notify: &UnixDatagram, started: Instant, log: &Path) -> Duration {
    let mut buf = [0u8; 4096];
    loop {
        let n = notify.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no READY=1 from enrolld run ({e}); its log: {}",
                fs::read_to_string(log).unwrap_or_default()
            )
        });
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            return started.elapsed();
        }
    }
}

fn wait_registration(records: &Path, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let seen = fs::read_to_string(records).unwrap_or_default();
        if seen.contains("\"endpoint\":\"register\"") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "no registration within 60 s; daemon log: {}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// A `Vm*:` line of /proc/<pid>/status, in KiB.
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// utime + stime of /proc/<pid>/stat, in clock ticks. Fields counted after
/// the `)` closing the command name, which may itself hold spaces.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_to_duration(ticks: u64) -> Duration {
    let hz = command_line("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100u64);
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", command_line("uname", &["-sr"]))
}

/// `(target, bytes)` pairs from target/ship/report.txt (written by
/// .ci/ship-check.sh); empty when the ship check has not run here.
fn shipped_sizes() -> Vec<(String, u64)> {
    let report = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ship/report.txt");
    let Ok(text) = fs::read_to_string(&report) else {
        println!(
            "(no {}: run .ci/ship-check.sh for per-target sizes)",
            report.display()
        );
        return Vec::new();
    };
    // Lines `size <target>: <bytes> bytes (...)` (the release profile strips).
    text.lines()
        .filter_map(|l| {
            let (target, rest) = l.strip_prefix("size ")?.split_once(": ")?;
            let bytes = rest.split_whitespace().next()?.parse().ok()?;
            Some((target.to_string(), bytes))
        })
        .collect()
}
