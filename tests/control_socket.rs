//! The control socket over a real Unix socket in a temp dir: the CLI client
//! functions against the real server, a handler backed by real persisted
//! tickets, malformed and oversized input, stale and live socket files,
//! permissions and graceful shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use enrolld::control::server::{BindError, Handler, bind, run};
use enrolld::control::{Command, ControlConfig, Reply, client};
use enrolld::status::Status;
use enrolld::tickets::{Pushed, Tickets};

/// A daemon stand-in: tickets on disk, a press counter, a status document, the screen's
/// events for `watch`.
struct TestDaemon {
    tickets: Mutex<Tickets>,
    presses: AtomicUsize,
    events: tokio::sync::watch::Sender<Arc<str>>,
}

impl Handler for TestDaemon {
    async fn handle(&self, command: Command) -> Reply {
        match command {
            Command::Enroll(ticket) => match self.tickets.lock().unwrap().push(ticket) {
                Ok(Pushed::Queued(position)) => Reply::ok().with("position", position),
                Ok(Pushed::Repeated) => Reply::ok().with("repeated", true),
                Err(e) => Reply::error(e.to_string()),
            },
            Command::Trigger => {
                self.presses.fetch_add(1, Ordering::SeqCst);
                Reply::ok()
            }
            Command::Status => {
                let mut status = Status::starting("lobby-1", 1_800_000_000);
                status.tickets_pending = self.tickets.lock().unwrap().pending();
                Reply::ok().with("status", status)
            }
            Command::Queue(_) => Reply::error("no queue in this test"),
            Command::Display(_) => Reply::ok(),
            Command::Watch => Reply::error("watch reached the handler"),
        }
    }

    fn watch(&self) -> Option<tokio::sync::watch::Receiver<Arc<str>>> {
        Some(self.events.subscribe())
    }
}

struct Server {
    tmp: tempfile::TempDir,
    config: ControlConfig,
    daemon: Arc<TestDaemon>,
    stop: enrolld::shutdown::Stopper,
    task: tokio::task::JoinHandle<()>,
}

fn config(dir: &Path) -> ControlConfig {
    ControlConfig {
        socket: dir.join("run/control.sock"),
        tickets_file: dir.join("state/tickets.json"),
        max_tickets: 2,
        ..ControlConfig::default()
    }
}

fn start_in(tmp: tempfile::TempDir, config: ControlConfig) -> Server {
    let tickets = Tickets::open(&config.tickets_file, config.max_tickets).unwrap();
    let daemon = Arc::new(TestDaemon {
        tickets: Mutex::new(tickets),
        presses: AtomicUsize::new(0),
        events: tokio::sync::watch::channel(Arc::from(r#"{"state":"idle"}"#)).0,
    });
    let listener = bind(&config).unwrap();
    let (stop, stopped) = enrolld::shutdown::channel();
    let task = tokio::spawn(run(listener, daemon.clone(), stopped));
    Server {
        tmp,
        config,
        daemon,
        stop,
        task,
    }
}

fn start() -> Server {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    start_in(tmp, config)
}

impl Server {
    fn socket(&self) -> PathBuf {
        self.config.socket.clone()
    }

    async fn stop(self) -> (tempfile::TempDir, ControlConfig) {
        self.stop.stop();
        self.task.await.unwrap();
        (self.tmp, self.config)
    }
}

/// Runs blocking client code (the CLI's) off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Sends raw bytes and collects every reply line until the server closes.
async fn raw(socket: PathBuf, bytes: Vec<u8>) -> Vec<String> {
    blocking(move || {
        let mut s = UnixStream::connect(socket).unwrap();
        s.write_all(&bytes).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        BufReader::new(s).lines().map(Result::unwrap).collect()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_work_and_tickets_survive_a_restart() {
    let server = start();
    let sock = server.socket();
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o660
    );
    let s = sock.clone();
    let positions = blocking(move || {
        (
            client::enroll(&s, "Ann Lee", Some("3f1c-0001")).unwrap(),
            client::enroll(&s, "Bob", None).unwrap(),
            client::enroll(&s, "Cy", None).unwrap_err(),
        )
    })
    .await;
    assert_eq!(positions.0, 1);
    assert_eq!(positions.1, 2);
    assert_eq!(
        positions.2.to_string(),
        "enrolld: ticket queue full (2 pending): wait for presses or raise control.max_tickets"
    );
    let s = sock.clone();
    let (status, refused) = blocking(move || {
        client::trigger(&s).unwrap();
        (
            client::status(&s).unwrap(),
            client::enroll(&s, "bad\u{1b}name", None).unwrap_err(),
        )
    })
    .await;
    assert_eq!(server.daemon.presses.load(Ordering::SeqCst), 1);
    assert_eq!(status["schema"], 1);
    assert_eq!(status["tickets_pending"], 2);
    assert_eq!(
        refused.to_string(),
        "enrolld: username: contains a control character (U+001B)"
    );

    // Restart: the socket file left behind is replaced, the tickets are back.
    let (tmp, config) = server.stop().await;
    assert!(
        config.socket.exists(),
        "socket file remains, as after a crash"
    );
    // A child another test is spawning right now may still hold a copy of
    // the closed listener until its exec (CLOEXEC): wait until nobody answers,
    // as after a real crash, so the restart sees a dead socket.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while UnixStream::connect(&config.socket).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stopped server's socket still answers"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let server = start_in(tmp, config);
    let s = server.socket();
    let status = blocking(move || client::status(&s).unwrap()).await;
    assert_eq!(status["tickets_pending"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_clear_errors_then_the_door() {
    let server = start();
    let replies = raw(
        server.socket(),
        b"hello\n\n{\"cmd\":\"trigger\"}\n{\"cmd\":\"dance\"}\n[]\n{\"cmd\":\"status\"}\n".to_vec(),
    )
    .await;
    assert_eq!(replies.len(), 4, "{replies:?}");
    assert!(replies[0].contains("malformed request"), "{}", replies[0]);
    assert_eq!(replies[1], r#"{"ok":true}"#);
    assert!(
        replies[2].contains("unknown command `dance`"),
        "{}",
        replies[2]
    );
    assert!(
        replies[3].contains("too many malformed requests, closing the connection"),
        "{}",
        replies[3]
    );
    assert_eq!(server.daemon.presses.load(Ordering::SeqCst), 1);

    // An oversized line is refused at once and the connection closed.
    let mut long = vec![b'x'; 10_000];
    long.extend_from_slice(b"\n{\"cmd\":\"trigger\"}\n");
    let replies = raw(server.socket(), long).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("longer than 4096 bytes"));
    assert_eq!(server.daemon.presses.load(Ordering::SeqCst), 1);

    // A last request without newline is still answered.
    let replies = raw(server.socket(), b"{\"cmd\":\"trigger\"}".to_vec()).await;
    assert_eq!(replies, [r#"{"ok":true}"#]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_socket_is_not_stolen_and_a_foreign_file_not_replaced() {
    let server = start();
    let err = bind(&server.config).unwrap_err();
    assert!(matches!(err, BindError::InUse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another enrolld is already listening")
    );
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    std::fs::create_dir_all(cfg.socket.parent().unwrap()).unwrap();
    std::fs::write(&cfg.socket, b"precious").unwrap();
    assert!(matches!(bind(&cfg), Err(BindError::NotASocket { .. })));
    assert_eq!(std::fs::read(&cfg.socket).unwrap(), b"precious");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_gets_the_configured_group() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        group: Some("daemon".into()),
        ..config(tmp.path())
    };
    let _listener = bind(&cfg).unwrap();
    // Debian's `daemon` group has gid 1.
    assert_eq!(std::fs::metadata(&cfg.socket).unwrap().gid(), 1);
    let other = tempfile::tempdir().unwrap();
    let cfg = ControlConfig {
        group: Some("enrolld-no-such-group".into()),
        ..config(other.path())
    };
    assert_eq!(
        bind(&cfg).unwrap_err(),
        BindError::NoSuchGroup("enrolld-no-such-group".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_returns() {
    let server = start();
    let sock = server.socket();
    // A client that connects and says nothing must not hold shutdown up.
    let idle = blocking(move || UnixStream::connect(sock).unwrap()).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    server.stop().await;
    let eof = blocking(move || {
        let mut buf = Vec::new();
        (&idle).read_to_end(&mut buf).unwrap();
        buf.len()
    })
    .await;
    assert_eq!(eof, 0);
}

/// Runs `enrolld status --socket` as `uid`:`gid` (no supplementary groups):
/// exit status and stderr.
fn status_as(uid: u32, gid: u32, socket: &Path) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .args([
            "--config",
            "/nonexistent/enrolld.toml",
            "status",
            "--socket",
        ])
        .arg(socket)
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_socket_group_gets_in() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        panic!("this test switches users: run the suite as root (CI does)");
    }
    let tmp = tempfile::tempdir().unwrap();
    // The directories are open to all, so the socket's own mode decides.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = ControlConfig {
        group: Some("daemon".into()), // gid 1 on Debian
        ..config(tmp.path())
    };
    let server = start_in(tmp, cfg);
    let sock = server.socket();
    let (nobody, nogroup) = (65534, 65534);
    let s = sock.clone();
    let (refused, allowed) =
        blocking(move || (status_as(nobody, nogroup, &s), status_as(nobody, 1, &s))).await;
    assert_eq!(refused.0, 1, "{refused:?}");
    assert!(
        refused.1.contains("cannot connect (permission denied"),
        "{}",
        refused.1
    );
    assert_eq!(allowed.0, 0, "member of the socket's group: {allowed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_lines_are_refused_and_the_server_keeps_serving() {
    let server = start();
    // 8 MB without a newline: cut off at the cap, not buffered.
    let sock = server.socket();
    let replies = blocking(move || {
        let mut s = UnixStream::connect(sock).unwrap();
        let chunk = vec![b'{'; 64 * 1024];
        for _ in 0..128 {
            if s.write_all(&chunk).is_err() {
                break; // the server closed after refusing: expected
            }
        }
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    })
    .await;
    assert!(replies.contains("longer than 4096 bytes"), "{replies}");
    let cases: [(&[u8], &str); 8] = [
        (
            b"{\"cmd\":\"enroll\",\"username\":\"\xff\xfe\"}\n",
            "request is not valid UTF-8",
        ),
        (b"\x00\x01\x02\n", "malformed request"),
        (
            b"{\"cmd\":\"enroll\",\"username\":\"\\udcff\"}\n",
            "malformed request",
        ),
        (
            b"{\"cmd\":\"enroll\",\"username\":7}\n",
            "username: must be a string of 1 to 128 characters",
        ),
        (
            b"{\"cmd\":\"enroll\",\"username\":\"a\",\"admin\":true}\n",
            "unknown field",
        ),
        (
            b"{\"cmd\":\"enroll\",\"username\":\"\"}\n",
            "username: must not be empty",
        ),
        (
            b"{\"cmd\":\"enroll\",\"username\":\"a\\u0007b\"}\n",
            "username: contains a control character (U+0007)",
        ),
        (
            b"{\"cmd\":\"enroll\",\"username\":\" padded\"}\n",
            "username: must not start or end with spaces",
        ),
    ];
    for (line, reason) in cases {
        let replies = raw(server.socket(), line.to_vec()).await;
        assert_eq!(replies.len(), 1, "{replies:?}");
        let reply = Reply::from_line(replies[0].as_bytes()).unwrap();
        assert!(
            reply.error_message().is_some_and(|m| m.contains(reason)),
            "{line:?}: {replies:?}"
        );
    }
    // A 3 kB username fits the line but not the ticket rules.
    let long = format!(
        "{{\"cmd\":\"enroll\",\"username\":\"{}\"}}\n",
        "n".repeat(3000)
    );
    let replies = raw(server.socket(), long.into_bytes()).await;
    assert!(replies[0].contains("username: too long: 3000 characters (at most 128)"));
    assert_eq!(server.daemon.tickets.lock().unwrap().pending(), 0);
    let s = server.socket();
    assert!(blocking(move || client::status(&s)).await.is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_usernames_from_the_cli_are_refused_with_the_reason() {
    use std::os::unix::ffi::OsStrExt;
    let server = start();
    let enroll = |name: &std::ffi::OsStr, socket: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_enrolld"))
            .args([
                "--config",
                "/nonexistent/enrolld.toml",
                "enroll",
                "--socket",
            ])
            .arg(socket)
            .arg("--username")
            .arg(name)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let sock = server.socket();
    let results = blocking(move || {
        let ten_kb = "x".repeat(10 * 1024);
        [
            enroll("".as_ref(), &sock),
            enroll(ten_kb.as_ref(), &sock),
            enroll("bell\u{7}".as_ref(), &sock),
            enroll(std::ffi::OsStr::from_bytes(b"caf\xe9"), &sock),
        ]
    })
    .await;
    let expected = [
        (1, "username: must not be empty"),
        (1, "username: too long: 10240 characters (at most 128)"),
        (1, "username: contains a control character (U+0007)"),
        (2, "invalid UTF-8"),
    ];
    for ((code, stderr), (want_code, want)) in results.iter().zip(expected) {
        assert_eq!(*code, want_code, "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
    assert_eq!(server.daemon.tickets.lock().unwrap().pending(), 0);
    server.stop().await;
}

/// A watcher on a raw connection: the reply line, then the stream.
fn watcher(socket: &Path) -> BufReader<UnixStream> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(b"{\"cmd\":\"watch\"}\n").unwrap();
    BufReader::new(s)
}

fn next_line(r: &mut BufReader<UnixStream>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_every_change_holds_no_request_slot_and_is_bounded() {
    let server = start();
    let sock = server.socket();
    let (first, mut streams) = blocking({
        let sock = sock.clone();
        move || {
            let mut streams: Vec<_> = (0..enrolld::control::MAX_WATCHERS)
                .map(|_| watcher(&sock))
                .collect();
            let first: Vec<String> = (0..2).map(|_| next_line(&mut streams[0])).collect();
            for s in &mut streams[1..] {
                assert_eq!(next_line(s), r#"{"ok":true,"watching":true}"#);
                assert_eq!(next_line(s), r#"{"state":"idle"}"#);
            }
            (first, streams)
        }
    })
    .await;
    assert_eq!(
        first,
        [r#"{"ok":true,"watching":true}"#, r#"{"state":"idle"}"#]
    );

    // One more watcher is refused in words; requests are still served (the streams hold
    // no request slot, so all MAX_CONNECTIONS are free).
    let extra = blocking({
        let sock = sock.clone();
        move || {
            let mut extra = watcher(&sock);
            let refused = next_line(&mut extra);
            let statuses: Vec<_> = (0..enrolld::control::server::MAX_CONNECTIONS)
                .map(|_| client::status(&sock).unwrap())
                .collect();
            (refused, statuses.len())
        }
    })
    .await;
    assert!(extra.0.contains("already 4 watch streams"), "{}", extra.0);
    assert_eq!(extra.1, enrolld::control::server::MAX_CONNECTIONS);

    // Each change reaches every watcher.
    server
        .daemon
        .events
        .send_replace(Arc::from(r#"{"state":"capturing","prompt":"step_closer"}"#));
    let streams_back = blocking(move || {
        for s in &mut streams {
            assert_eq!(
                next_line(s),
                r#"{"state":"capturing","prompt":"step_closer"}"#
            );
        }
        // A watcher that leaves frees its place.
        drop(streams.pop());
        streams
    })
    .await;
    let sock2 = sock.clone();
    let again = blocking(move || {
        // The server notices the close when it next reads: poll until a place is free.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let mut w = watcher(&sock2);
            let reply = next_line(&mut w);
            if reply.contains("\"watching\":true") || std::time::Instant::now() > deadline {
                return reply;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .await;
    assert_eq!(again, r#"{"ok":true,"watching":true}"#);

    // The daemon stops: every stream ends.
    server.stop().await;
    let ended = blocking(move || {
        let mut streams = streams_back;
        streams.iter_mut().all(|s| {
            let mut rest = String::new();
            s.read_to_string(&mut rest).is_ok()
        })
    })
    .await;
    assert!(ended);
}
