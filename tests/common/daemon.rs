//! The whole-daemon harness: the real `enrolld run` binary as a child
//! process, simulated camera and recorded LEDs, the HTTPS stand-in in this
//! process, and helpers that read what the daemon exposes (control socket,
//! status file, LED record, queue directory) with deadlines, never with
//! bare sleeps as assertions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use enrolld::api::ApiVersion;
use enrolld_standin::{Behaviour, Endpoint, Expectations, Record, StandIn, StandInOptions};
use serde_json::Value;

use super::{TEMPLATE_ID, TOKEN};

/// How long a daemon may take to answer its first status request.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// Polling interval of the waiting helpers.
const POLL: Duration = Duration::from_millis(20);

/// The configuration knobs the scenarios vary.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub username_template: Option<String>,
    pub max_entries: usize,
    pub max_age_secs: u64,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    /// Appended verbatim to `[terminal]` (to break the file on purpose).
    pub terminal_extra: String,
    /// Appended verbatim to `[camera]`.
    pub camera_extra: String,
    /// Appended verbatim to `[face]` (off unless it says `enabled = true`).
    pub face_extra: String,
    /// Appended verbatim to `[display]` (off unless it says `enabled = true`).
    pub display_extra: String,
    /// `api.token_file` (read before the token in the environment).
    pub token_file: Option<PathBuf>,
    pub paused_probe_secs: Option<u64>,
    /// Appended verbatim to the file (whole sections: `[mqtt]`, `[metrics]`).
    pub extra: String,
    /// `(section, key, value)` set last, over everything above.
    pub paths: Vec<(&'static str, &'static str, PathBuf)>,
    /// `api.version`.
    pub version: ApiVersion,
    /// `terminal.see_reception`.
    pub see_reception: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            username_template: Some("t-{seq}".to_owned()),
            max_entries: 200,
            max_age_secs: 86_400,
            backoff_base_ms: 100,
            backoff_max_ms: 300,
            request_timeout_ms: 5_000,
            terminal_extra: String::new(),
            camera_extra: String::new(),
            face_extra: String::new(),
            display_extra: String::new(),
            token_file: None,
            paused_probe_secs: None,
            extra: String::new(),
            paths: Vec::new(),
            version: ApiVersion::V1,
            see_reception: false,
        }
    }
}

impl Knobs {
    /// These knobs, speaking `version`.
    pub fn speaking(self, version: ApiVersion) -> Knobs {
        Knobs { version, ..self }
    }
}

/// A temp directory holding the config, status file, queue, socket and LED
/// record, plus the stand-in the daemon talks to.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub standin: StandIn,
    spawned: usize,
}

impl Harness {
    pub fn new(behaviour: Behaviour) -> Harness {
        let standin = StandIn::start_with(StandInOptions {
            behaviour,
            expect: Expectations {
                token: Some(TOKEN.to_owned()),
                template_id: Some(TEMPLATE_ID.to_owned()),
            },
            ..StandInOptions::default()
        })
        .expect("stand-in starts");
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("ca.pem"), standin.ca_pem()).unwrap();
        Harness {
            dir,
            standin,
            spawned: 0,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("enrolld.toml")
    }

    pub fn socket(&self) -> PathBuf {
        self.path("control.sock")
    }

    pub fn queue_dir(&self) -> PathBuf {
        self.path("queue")
    }

    /// Writes `enrolld.toml` (atomically, so a daemon reading it on SIGHUP
    /// never sees half a file).
    pub fn write_config(&self, k: &Knobs) {
        use enrolld::demo::config::{add_lines, set, simulated_terminal};
        let dir = self.dir.path();
        let url = self.standin.url();
        let mut doc = simulated_terminal(dir, &url, TEMPLATE_ID, &dir.join("ca.pem"));
        set(&mut doc, "terminal", "id", "test-terminal");
        if let Some(t) = &k.username_template {
            set(&mut doc, "terminal", "username_template", t.as_str());
        }
        add_lines(&mut doc, "terminal", &k.terminal_extra).unwrap();
        set(&mut doc, "terminal", "see_reception", k.see_reception);
        set(&mut doc, "api", "version", i64::from(k.version.number()));
        set(&mut doc, "api", "connect_timeout_ms", 1000);
        set(
            &mut doc,
            "api",
            "request_timeout_ms",
            to_i64(k.request_timeout_ms),
        );
        set(&mut doc, "camera", "width", 640);
        set(&mut doc, "camera", "height", 480);
        add_lines(&mut doc, "camera", &k.camera_extra).unwrap();
        add_lines(&mut doc, "face", &k.face_extra).unwrap();
        add_lines(&mut doc, "display", &k.display_extra).unwrap();
        set(&mut doc, "queue", "max_entries", to_i64(k.max_entries));
        set(&mut doc, "queue", "max_age_secs", to_i64(k.max_age_secs));
        set(
            &mut doc,
            "queue",
            "backoff_base_ms",
            to_i64(k.backoff_base_ms),
        );
        set(
            &mut doc,
            "queue",
            "backoff_max_ms",
            to_i64(k.backoff_max_ms),
        );
        if let Some(f) = &k.token_file {
            set(&mut doc, "api", "token_file", f.display().to_string());
        }
        if let Some(p) = k.paused_probe_secs {
            set(&mut doc, "queue", "paused_probe_secs", to_i64(p));
        }
        for (section, key, path) in &k.paths {
            set(&mut doc, section, key, path.display().to_string());
        }
        let text = doc.to_string() + &k.extra;
        let tmp = self.path("enrolld.toml.tmp");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, self.config_path()).unwrap();
    }

    /// Starts `enrolld run` on the current config, without waiting.
    pub fn spawn(&mut self) -> Daemon {
        self.spawned += 1;
        let stderr_path = self.path(&format!("stderr-{}.log", self.spawned));
        let leds_from = fs::metadata(self.path("leds.jsonl")).map_or(0, |m| m.len());
        let child = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(self.config_path())
            .arg("run")
            .env("ENROLLD_API_TOKEN", TOKEN)
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("enrolld starts");
        Daemon {
            child,
            stderr_path,
            socket: self.socket(),
            status_path: self.path("status.json"),
            leds_path: self.path("leds.jsonl"),
            leds_from,
        }
    }

    /// Starts the daemon and waits until its loop answers on the socket.
    pub fn start(&mut self) -> Daemon {
        let mut d = self.spawn();
        d.wait_ready();
        d
    }

    /// Registration requests the stand-in received (either version), oldest first.
    pub fn registrations(&self) -> Vec<Record> {
        self.standin
            .records()
            .into_iter()
            .filter(|r| r.endpoint.is_some_and(Endpoint::is_registration))
            .collect()
    }

    /// create-verification requests the stand-in received.
    pub fn verifications_created(&self) -> usize {
        self.requests_to(Endpoint::CreateVerification)
    }

    /// finalize-verification requests the stand-in received.
    pub fn verifications_finalized(&self) -> usize {
        self.requests_to(Endpoint::FinalizeVerification)
    }

    fn requests_to(&self, endpoint: Endpoint) -> usize {
        self.standin
            .records()
            .iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .count()
    }

    /// Every request the stand-in received, of any kind (an unknown path included).
    pub fn requests(&self) -> usize {
        self.standin.records().len()
    }

    /// Usernames of the registrations, in arrival order. v1 sends the username; v3 sends only
    /// the verification id, which reads back as a username through [`Harness::enroll`]'s
    /// `v-<username>`, or else through the daemon's own log lines (each names both).
    pub fn registered_names(&self) -> Vec<String> {
        let logs = self.daemon_logs();
        self.registrations()
            .iter()
            .map(|r| match (r.field("username"), r.verification_id()) {
                (Some(name), _) => name.to_owned(),
                (None, Some(vid)) => vid
                    .strip_prefix("v-")
                    .map(str::to_owned)
                    .or_else(|| username_logged_with(&logs, vid))
                    .unwrap_or_else(|| vid.to_owned()),
                (None, None) => "?".to_owned(),
            })
            .collect()
    }

    /// Everything the daemons started by this harness wrote to stderr.
    pub fn daemon_logs(&self) -> String {
        (1..=self.spawned)
            .filter_map(|n| fs::read_to_string(self.path(&format!("stderr-{n}.log"))).ok())
            .collect()
    }

    /// Usernames of the records stored with their capture (queued, or
    /// being sent when the daemon was killed), read with the queue's own
    /// decoder without touching the files.
    pub fn queued_names(&self) -> Vec<String> {
        // The daemon generated the queue's key in the queue directory.
        let config = enrolld::queue::QueueConfig {
            dir: self.queue_dir(),
            ..Default::default()
        };
        let Ok((key, _)) = enrolld::queue::QueueKey::load_from(&config, None) else {
            return Vec::new(); // no key yet: the daemon never opened the queue
        };
        // A running daemon renames a record (entry <-> sending) or deletes it
        // between the listing and the read: list again until one pass reads
        // every record it listed.
        for _ in 0..100 {
            if let Some(names) = self.read_queued_names(&key) {
                return names;
            }
            std::thread::sleep(POLL);
        }
        panic!("the queue directory kept changing under the reader");
    }

    /// One pass over the records; None if one vanished before it was read.
    fn read_queued_names(&self, key: &enrolld::queue::QueueKey) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.queue_dir()).into_iter().flatten() {
            let path = e.unwrap().path();
            if !matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("entry" | "sending")
            ) {
                continue;
            }
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            let decoded = enrolld::queue::entry::decode_prefix(&bytes, bytes.len() as u64, key)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push(decoded.header.username);
        }
        Some(out)
    }

    /// The unknown-delivery records (`queue/unknown/*.json`).
    pub fn unknown_records(&self) -> Vec<enrolld::queue::UnknownDelivery> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.queue_dir().join("unknown"))
            .into_iter()
            .flatten()
        {
            let path = e.unwrap().path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue; // the sealed image kept beside each record
            }
            let text = fs::read_to_string(&path).unwrap();
            out.push(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display())),
            );
        }
        out
    }

    /// The pending tickets' usernames, next first (read from the file).
    pub fn pending_tickets(&self) -> Vec<String> {
        enrolld::tickets::Tickets::open(&self.path("tickets.json"), 1000)
            .map(|t| t.iter().map(|t| t.username.clone()).collect())
            .unwrap_or_default()
    }

    /// Queues a ticket through the running daemon's socket. It brings its
    /// own verification id (`v-<username>`), so the registration is the
    /// only request: a stand-in behaviour then applies to it alone.
    pub fn enroll(&self, username: &str) {
        let vid = format!("v-{}", username.replace(' ', "-"));
        enrolld::control::client::enroll(&self.socket(), username, Some(&vid))
            .unwrap_or_else(|e| panic!("enroll {username}: {e}"));
    }

    /// `enrolld queue <args>` as an operator runs it: (exit status, stdout, stderr).
    pub fn queue_command(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .arg("--config")
            .arg(self.config_path())
            .arg("queue")
            .args(args)
            .output()
            .expect("enrolld queue runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Each unknown delivery's username and the JPEG kept with it for an
    /// operator (opened with the queue's own decoder and key).
    pub fn unknown_images(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let config = enrolld::queue::QueueConfig {
            dir: self.queue_dir(),
            ..Default::default()
        };
        let (key, _) = enrolld::queue::QueueKey::load_from(&config, None).expect("queue key");
        let mut out = std::collections::BTreeMap::new();
        for u in self.unknown_records() {
            let path = self
                .queue_dir()
                .join(format!("unknown/{:020}.entry", u.seq));
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let d = enrolld::queue::entry::decode_prefix(&bytes, bytes.len() as u64, &key)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let jpeg = enrolld::queue::entry::open_jpeg(&key, &d, &bytes[d.jpeg_offset..])
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.insert(u.username, jpeg);
        }
        out
    }

    /// Files moved to `queue/corrupt/`.
    pub fn corrupt_files(&self) -> Vec<PathBuf> {
        fs::read_dir(self.queue_dir().join("corrupt"))
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

/// A running `enrolld run`. Dropping it kills it (a failed test must not
/// leave processes behind).
pub struct Daemon {
    pub child: Child,
    pub stderr_path: PathBuf,
    socket: PathBuf,
    status_path: PathBuf,
    leds_path: PathBuf,
    /// Where this process's LED record starts in the shared file.
    leds_from: u64,
}

impl Daemon {
    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; it is not reaped until
        // `wait`, so the pid cannot have been reused.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    /// SIGKILL and reap.
    pub fn kill9(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Waits for the process to exit; panics after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "enrolld did not exit within {within:?}\n{}",
                self.stderr()
            );
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM, then the exit status, which must be 0 within `within`.
    pub fn terminate(mut self, within: Duration) {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(within);
        assert!(status.success(), "exit {status}\n{}", self.stderr());
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits until the loop answers a status request.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if enrolld::control::client::status(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("enrolld exited ({status}) before ready:\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "enrolld not ready within {READY_WITHIN:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(POLL);
        }
    }

    /// The live status through the control socket.
    pub fn status(&self) -> Value {
        enrolld::control::client::status(&self.socket)
            .unwrap_or_else(|e| panic!("status: {e}\n{}", self.stderr()))
    }

    /// The status file, once it has caught up with the live status (it is
    /// written on a thread of its own, a moment after the state changes),
    /// or as last written when the daemon has stopped.
    pub fn status_file(&self) -> Value {
        let read = || -> Value {
            let bytes = fs::read(&self.status_path).expect("status file exists");
            serde_json::from_slice(&bytes).expect("status file is whole JSON")
        };
        // Stopped: its last document was flushed before it exited.
        let Ok(live) = enrolld::control::client::status(&self.socket) else {
            return read();
        };
        wait_for(Duration::from_secs(5), || {
            let file = read();
            (file["counters"] == live["counters"] && file["last_outcome"] == live["last_outcome"])
                .then_some(file)
        })
        .unwrap_or_else(read)
    }

    /// `enrolld trigger` over the socket: the raw reply or the refusal text.
    pub fn trigger(&self) -> Result<Value, String> {
        enrolld::control::client::request(
            &self.socket,
            &enrolld::control::protocol::Request::Trigger,
        )
        .map(|r| Value::Object(serde_json::from_slice(&r.to_line()).unwrap()))
        .map_err(|e| e.to_string())
    }

    /// Presses and waits until the status counter `code` reaches `count`.
    pub fn press_until(&self, code: &str, count: u64) {
        let reply = self.trigger().expect("trigger accepted");
        assert_eq!(reply["started"], true, "trigger reply {reply}");
        self.wait_counter(code, count, Duration::from_secs(20));
    }

    pub fn counter(status: &Value, code: &str) -> u64 {
        status["counters"][code].as_u64().unwrap_or(0)
    }

    /// Waits until the live status counter `code` is at least `count`.
    pub fn wait_counter(&self, code: &str, count: u64, within: Duration) -> Value {
        self.wait_status(&format!("counters.{code} >= {count}"), within, |s| {
            Self::counter(s, code) >= count
        })
    }

    /// Waits until `pred` holds for the live status.
    pub fn wait_status(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        let found = wait_for(within, || {
            last = self.status();
            pred(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "status never had {what} within {within:?}; last: {last:#}\n{}",
                self.stderr()
            )
        })
    }

    /// This process's LED record: (ms since its LEDs started, first line lit).
    pub fn leds(&self) -> Vec<(u64, bool)> {
        read_leds(&self.leds_path, self.leds_from)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The username of a log line that also names `verification_id` (the stderr logger appends
/// the journal fields as ` key=value`).
fn username_logged_with(logs: &str, verification_id: &str) -> Option<String> {
    let field = format!(" enrolld_verification_id={verification_id}");
    logs.lines()
        .filter(|l| l.contains(&format!("{field} ")) || l.ends_with(&field))
        .find_map(|l| {
            let (_, rest) = l.split_once(" enrolld_username=")?;
            Some(rest.split(" enrolld_").next()?.to_owned())
        })
}

/// Calls `probe` until it returns `Some` or `within` has passed.
pub fn wait_for<T>(within: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Parses the LED record (`{"t_ms":..,"levels":[a,b]}` lines) from `from`.
fn read_leds(path: &Path, from: u64) -> Vec<(u64, bool)> {
    let bytes = fs::read(path).unwrap_or_default();
    let tail = &bytes[(from as usize).min(bytes.len())..];
    String::from_utf8_lossy(tail)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("LED record line {line:?}: {e}"));
            (
                v["t_ms"].as_u64().expect("t_ms"),
                v["levels"][0].as_bool().expect("levels"),
            )
        })
        .collect()
}

/// The lit periods of an LED record: (start ms, duration ms). A period still
/// lit at the end of the record has no duration yet and is left out.
pub fn lit_periods(leds: &[(u64, bool)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut on_since = None;
    for &(t, lit) in leds {
        match (lit, on_since) {
            (true, None) => on_since = Some(t),
            (false, Some(start)) => {
                out.push((start, t - start));
                on_since = None;
            }
            _ => {}
        }
    }
    out
}

/// TOML integers are i64.
fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
