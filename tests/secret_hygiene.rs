//! Secret hygiene: a token and image bytes unique to this run go through
//! `enrolld register` (the real binary) and through the library's queue,
//! client and status file, under every stand-in behaviour (a server that
//! quotes the request back included); the library's path in both API
//! versions (v3's review records among the files scanned). Neither the token nor the image, in
//! any form (see `common::leaks`), may appear in stdout, stderr, outcomes,
//! what the daemon would log, the status file, queue files, unknown-delivery
//! records, or panic messages.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use common::leaks::Secrets;
use common::{Env, client_for, unique_jpeg, unique_token};
use enrolld::api::ApiVersion;
use enrolld::machine::fate::{self, QueueFate};
use enrolld::queue::SentFate;
use enrolld::queue::{NewEntry, Now, Queue, QueueConfig};
use enrolld::status::{LastOutcome, QueueStatus, Status, StatusConfig, StatusWriter};
use enrolld_standin::{Behaviour, StandInOptions};

const VERIFICATION: &str = "0b6f3c1e-1d2a-4c3b-9e8f-123456789abc";
/// The smallest `api.request_timeout_ms` the configuration accepts.
const REQUEST_TIMEOUT_MS: u64 = 1_000;

/// Every behaviour the stand-in has. The extra echo fillers put the
/// quoted `Authorization` header just before the client's 200-character
/// message cap, and across it (the token cut in two, so a redaction applied
/// after the cut would miss it: this found a real leak, fixed in the client).
fn behaviours() -> Vec<Behaviour> {
    let mut all = Behaviour::one_of_each();
    all.extend([
        Behaviour::Status(503),
        Behaviour::EchoRequest { filler: 158 },
        Behaviour::EchoRequest { filler: 178 },
    ]);
    all
}

/// Everything one `enrolld register` run printed, and whether the stand-in
/// really received the token and the image (so the scan is not vacuous).
struct CliRun {
    label: String,
    output: Vec<u8>,
    delivered: bool,
}

fn run_cli(behaviour: &Behaviour, with_id: bool, token: &str, image: &[u8]) -> CliRun {
    let options = StandInOptions {
        behaviour: behaviour.clone(),
        ..StandInOptions::default()
    };
    let env = Env::start_for_token(options, token);
    let config = env.write_cli_config(token, true, REQUEST_TIMEOUT_MS);
    let image_path = env.dir.path().join("face.jpg");
    std::fs::write(&image_path, image).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_enrolld"));
    cmd.arg("--config")
        .arg(&config)
        .args(["register", "--username", "Hygiene Test", "--image"])
        .arg(&image_path)
        .env("RUST_BACKTRACE", "1")
        .env_remove("CREDENTIALS_DIRECTORY");
    if with_id {
        cmd.args(["--verification-id", VERIFICATION]);
    }
    let out = cmd.output().unwrap();
    let label = format!("enrolld register ({behaviour}, verification id given: {with_id})");
    assert_ne!(out.status.code(), Some(101), "{label} panicked");
    let delivered = env
        .server
        .records()
        .iter()
        .any(|r| r.token_ok && r.jpeg.as_deref() == Some(image));
    CliRun {
        label,
        output: [out.stdout, out.stderr].concat(),
        delivered,
    }
}

#[test]
fn enrolld_register_leaks_nothing_under_any_behaviour() {
    let (token, image) = (unique_token(), unique_jpeg());
    let secrets = Secrets::new(&token, &image);
    let cases: Vec<(Behaviour, bool)> = behaviours()
        .into_iter()
        .flat_map(|b| [(b.clone(), true), (b, false)])
        .collect();
    let mut delivered = 0;
    for chunk in cases.chunks(12) {
        let runs: Vec<CliRun> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(b, with_id)| s.spawn(|| run_cli(b, *with_id, &token, &image)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for run in runs {
            secrets.assert_absent(&run.output, &run.label);
            delivered += usize::from(run.delivered);
        }
    }
    // Every behaviour that reads the registration received both secrets.
    assert!(delivered >= 40, "only {delivered} runs delivered the image");
}

/// Panic messages of this process, collected by a hook.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn collect_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.lock().unwrap().push(info.to_string());
        previous(info);
    }));
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn scan_dir(secrets: &Secrets, dir: &Path) -> usize {
    let files = files_under(dir);
    for (name, bytes) in &files {
        secrets.assert_absent(bytes, name);
    }
    files.len()
}

fn queue_client_and_status_leak_nothing_under_any_behaviour(version: ApiVersion) {
    collect_panics();
    let (token, image) = (unique_token(), unique_jpeg());
    let secrets = Secrets::new(&token, &image);
    let env = Env::start_for_token(StandInOptions::default(), &token).speaking(version);
    let mut api = env.api_config();
    api.request_timeout_ms = REQUEST_TIMEOUT_MS;
    let client = client_for(&api, &token);
    let tmp = tempfile::tempdir().unwrap();
    let queue_config = QueueConfig {
        dir: tmp.path().join("queue"),
        ..QueueConfig::default()
    };
    let mut queue = Queue::open(&queue_config).unwrap();
    let mut writer = StatusWriter::new(&StatusConfig {
        path: tmp.path().join("status.json"),
    });
    let mut status = Status::starting("lobby-1", enrolld::time::unix_now());
    // What the daemon would log: every outcome and queue record, in full.
    let mut log = String::new();
    let mut files_scanned = 0;

    for (n, behaviour) in behaviours().into_iter().enumerate() {
        env.server.set_behaviour(behaviour.clone());
        let given = (n % 2 == 0).then(|| VERIFICATION.to_owned());
        let new = NewEntry {
            username: "Hygiene Test".to_owned(),
            verification_id: given.clone(),
            jpeg: image.clone(),
        };
        let now = Now::read();
        let id = queue.push(new, &now).unwrap();
        let stored = queue_config.dir.join(format!("{:020}.entry", id.0));
        secrets.assert_absent(&std::fs::read(&stored).unwrap(), "a new queue entry");
        files_scanned += 1;
        let entry = queue.begin(id).unwrap();
        assert_eq!(entry.jpeg, image, "the sealed entry opens to the image");
        let (outcome, used) = match given {
            Some(v) => (client.register(&entry.jpeg, &entry.username, &v), v),
            None => match client.create_verification() {
                Ok(v) => (client.register(&entry.jpeg, &entry.username, &v), v),
                Err(o) => (o, String::new()),
            },
        };
        let used = (!used.is_empty()).then_some(used);
        log.push_str(&format!(
            "{behaviour}: {outcome} | {outcome:?} | {} | {entry:?}\n",
            serde_json::to_string(&outcome).unwrap()
        ));
        // Settled as the delivery worker settles it.
        let settle = match fate::queued(&outcome, false) {
            QueueFate::Unknown => SentFate::Unknown {
                verification_id: used.clone(),
                reason: outcome.code().to_owned(),
            },
            QueueFate::Retry { .. } | QueueFate::Pause => SentFate::Requeue {
                verification_id: used.clone(),
                not_before: None,
                answer: outcome.code().to_owned(),
            },
            QueueFate::Delivered { review: true, .. } => SentFate::Review {
                verification_id: used.clone(),
                answer: serde_json::to_value(&outcome).unwrap(),
            },
            QueueFate::Delivered { .. } | QueueFate::Refused => SentFate::Delete,
        };
        if let Some(record) = queue.settle(id, settle).unwrap() {
            log.push_str(&format!("{record:?}\n"));
        }
        status.count(outcome.code());
        status.last_outcome = Some(LastOutcome {
            code: outcome.code().to_owned(),
            message: outcome.to_string(),
            face_id: outcome.face_id().map(str::to_owned),
            username: entry.username.clone(),
            verification_id: used,
            at: enrolld::time::rfc3339(now.unix),
            stages_ms: Default::default(),
        });
        let snapshot = enrolld::store::Snapshot {
            depth: queue.depth(),
            bytes: queue.bytes(),
            oldest_age_secs: queue.oldest_age(&now).map(|a| a.as_secs()),
            unknown_deliveries: queue.unknown_count(),
            review: queue.review_count(),
            tickets_pending: 0,
        };
        status.queue = QueueStatus::of(&snapshot, false);
        writer.write(&status).unwrap();
        let written = std::fs::read(writer.path()).unwrap();
        secrets.assert_absent(&written, &format!("status file after {behaviour}"));
    }
    files_scanned += scan_dir(&secrets, &queue_config.dir);
    // A damaged entry, reported at the next open: the report is logged too.
    let waiting = queue
        .next_ready(std::time::Instant::now())
        .expect("resendable entries are still queued");
    drop(queue);
    let path = queue_config.dir.join(format!("{:020}.entry", waiting.0));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let mut queue = Queue::open(&queue_config).unwrap();
    let err = queue.begin(waiting).unwrap_err();
    log.push_str(&format!("{err} {err:?} {:?}\n", queue.report()));
    files_scanned += scan_dir(&secrets, &queue_config.dir);
    files_scanned += scan_dir(&secrets, tmp.path());

    secrets.assert_absent(log.as_bytes(), "outcomes and queue records");
    let panics = PANICS.lock().unwrap().join("\n");
    secrets.assert_absent(panics.as_bytes(), "panic messages");
    assert!(log.contains("registered"), "{log}");
    assert!(files_scanned > 60, "{files_scanned} files scanned");
    if version == ApiVersion::V3 {
        assert!(log.contains("registered_review"), "{log}");
    }
}

for_each_version!(queue_client_and_status_leak_nothing_under_any_behaviour);

#[test]
fn the_scanner_finds_each_form_of_leak() {
    use base64::Engine;
    let (token, image) = (unique_token(), unique_jpeg());
    let secrets = Secrets::new(&token, &image);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&image);
    let hex: String = image.iter().map(|b| format!("{b:02x}")).collect();
    let leaks: Vec<Vec<u8>> = vec![
        format!("Authorization: Bearer {token}").into_bytes(),
        format!("message: Bearer {}...", &token[..token.len() / 2 + 2]).into_bytes(),
        [b"raw ".as_slice(), &image[100..140]].concat(),
        format!("data:image/jpeg;base64,{}", &b64[..40]).into_bytes(),
        format!("cut: {}", &b64[501..540]).into_bytes(),
        format!("hex {}", &hex[64..120]).into_bytes(),
        format!("{:?}", &image[10..40]).into_bytes(),
    ];
    for leak in &leaks {
        assert!(
            secrets.find(leak).is_some(),
            "missed: {}",
            String::from_utf8_lossy(leak)
        );
    }
    let clean = format!(
        "registered: face id face_000001 token [redacted] {}",
        image.len()
    );
    assert_eq!(secrets.find(clean.as_bytes()), None);
}
