//! Hostile and broken servers against the real client over real TLS: each
//! gets its documented class, exactly, within the configured timeout, and
//! nothing reaches a host other than the configured one. Each answer is asked
//! in both registration API versions (`common::VERSIONS`); the certificate
//! cases end before a request is written (the transport's, asked once).

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, TOKEN, VERSIONS, client_for, jpeg};
use enrolld::api::{ApiVersion, MAX_RESPONSE_BYTES, Outcome};
use enrolld_standin::{Behaviour, StandInOptions};

const VERIFICATION: &str = "0b6f3c1e-1d2a-4c3b-9e8f-123456789abc";
/// Short, so the silent and trickling servers end the test quickly.
const REQUEST_TIMEOUT_MS: u64 = 1_200;
/// What the timeout may overrun by on a loaded 2-core machine. Not a speed
/// claim: a client without a working timeout would hang for good.
const SLACK: Duration = Duration::from_secs(3);

/// Registers once against `env` with the short timeout; checks the time
/// bound, that the outcome carries no secret, and how many requests the
/// stand-in saw (all well-formed).
fn register(env: &Env, requests_seen: usize) -> Outcome {
    let mut config = env.api_config();
    config.request_timeout_ms = REQUEST_TIMEOUT_MS;
    let started = Instant::now();
    let outcome = client_for(&config, TOKEN).register(&jpeg(), "Ada Lovelace", VERIFICATION);
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(REQUEST_TIMEOUT_MS) + SLACK,
        "{outcome:?} took {took:?}"
    );
    let records = env.server.records();
    assert_eq!(records.len(), requests_seen, "{records:?}");
    assert!(records.iter().all(|r| r.problems.is_empty()), "{records:?}");
    let json = serde_json::to_string(&outcome).unwrap();
    common::assert_no_secret_in(&format!("{outcome:?} {outcome} {json}"));
    outcome
}

/// The outcome of one registration under `behaviour` in each API version.
fn under(behaviour: Behaviour) -> Vec<Outcome> {
    VERSIONS
        .into_iter()
        .map(|v| register(&Env::start_in(v, behaviour.clone()), 1))
        .collect()
}

fn unknown_delivery_reason(o: &Outcome) -> &str {
    match o {
        Outcome::UnknownDelivery { reason } => reason,
        other => panic!("expected unknown_delivery, got {other:?}"),
    }
}

#[test]
fn headers_then_silence_is_unknown_delivery_at_the_timeout() {
    for o in under(Behaviour::HeadersThenSilence) {
        let reason = unknown_delivery_reason(&o);
        assert!(reason.starts_with("HTTP 200 answer cut off"), "{reason}");
    }
}

#[test]
fn one_byte_per_second_forever_is_unknown_delivery_at_the_timeout() {
    for o in under(Behaviour::Trickle) {
        let reason = unknown_delivery_reason(&o);
        assert!(reason.contains("request_timeout_ms"), "{reason}");
    }
}

#[test]
fn a_20_mb_body_is_bad_response_after_reading_only_the_cap() {
    for o in under(Behaviour::HugeBody) {
        assert_eq!(
            o,
            Outcome::BadResponse {
                reason: format!("HTTP 200 answer longer than {MAX_RESPONSE_BYTES} bytes")
            }
        );
    }
}

#[test]
fn invalid_utf8_is_bad_response() {
    for o in under(Behaviour::InvalidUtf8) {
        assert!(
            matches!(&o, Outcome::BadResponse { reason } if reason.starts_with("HTTP 200 answer is not valid JSON")),
            "{o:?}"
        );
    }
}

#[test]
fn a_wrong_content_type_on_the_documented_json_is_still_registered() {
    // The body decides: proxies relabel answers, and a registration that
    // happened must not be reported as failed (nor retried as a duplicate).
    for (version, o) in VERSIONS.into_iter().zip(under(Behaviour::WrongContentType)) {
        let prefix = match version {
            ApiVersion::V1 => "face_",
            ApiVersion::V3 => "5e7a0000-",
        };
        assert!(
            matches!(&o, Outcome::Registered { face_id, .. } if face_id.starts_with(prefix)),
            "{version}: {o:?}"
        );
    }
}

#[test]
fn chunked_encoding_cut_short_with_a_clean_close_is_unknown_delivery() {
    for o in under(Behaviour::ChunkedCutShort) {
        let reason = unknown_delivery_reason(&o);
        assert!(reason.starts_with("HTTP 200 answer cut off"), "{reason}");
    }
}

#[test]
fn an_expired_certificate_is_not_sent() {
    let env = Env::start_options(StandInOptions {
        expired_cert: true,
        ..StandInOptions::default()
    });
    let o = register(&env, 0);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("TLS handshake failed") && reason.contains("certificate expired on") && reason.contains("must renew it")),
        "{o:?}"
    );
}

#[test]
fn a_certificate_for_another_host_is_not_sent() {
    let env = Env::start_with_names(Behaviour::Ok, Some(vec!["idmeta.example".into()]));
    let o = register(&env, 0);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("TLS handshake failed") && reason.contains("certificate is for") && reason.contains("api.base_url")),
        "{o:?}"
    );
}

/// A listener standing for "some other host": it must never see a connection.
fn other_host() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

fn assert_untouched(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the other host was contacted: {other:?}"),
    }
}

fn redirect_is_refused(location: String, listener: &TcpListener) {
    for o in under(Behaviour::RedirectTo(location)) {
        assert_eq!(o, Outcome::WrongEndpoint { status: 302 });
    }
    assert_untouched(listener);
}

#[test]
fn a_redirect_to_plain_http_is_not_followed() {
    let listener = other_host();
    let port = listener.local_addr().unwrap().port();
    let path = "/api/v1/verification/biometricsregistration";
    redirect_is_refused(format!("http://127.0.0.1:{port}{path}"), &listener);
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let listener = other_host();
    let port = listener.local_addr().unwrap().port();
    let path = "/api/v1/verification/biometricsregistration";
    redirect_is_refused(format!("https://localhost:{port}{path}"), &listener);
}

/// Peak resident memory of `enrolld register` against `behaviour`, in KiB,
/// with its class code.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives the peak
fn register_process_peak_kib(
    version: ApiVersion,
    behaviour: Behaviour,
) -> (u64, serde_json::Value) {
    let env = Env::start_in(version, behaviour);
    let config = env.write_cli_config(TOKEN, false, 5_000);
    let image = env.dir.path().join("face.jpg");
    std::fs::write(&image, jpeg()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .arg("--config")
        .arg(&config)
        .args([
            "register",
            "--username",
            "Ada",
            "--verification-id",
            VERIFICATION,
        ])
        .arg("--image")
        .arg(&image)
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    let mut status = 0;
    // SAFETY: plain FFI call on our own child, with valid pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let json = serde_json::from_str(out.trim()).unwrap_or(serde_json::Value::Null);
    (usage.ru_maxrss as u64, json)
}

#[test]
fn a_20_mb_body_does_not_grow_the_process_beyond_the_cap() {
    for version in VERSIONS {
        let (ok_kib, ok) = register_process_peak_kib(version, Behaviour::Ok);
        let (huge_kib, huge) = register_process_peak_kib(version, Behaviour::HugeBody);
        assert_eq!(ok["code"], "registered");
        assert_eq!(huge["code"], "bad_response");
        // Reading the whole 20 MB would add 20 MB; the cap allows 1 MiB plus
        // buffers. Both figures come from this run.
        assert!(
            huge_kib < ok_kib + 4 * 1024,
            "v{version}: peak {huge_kib} KiB against {ok_kib} KiB for a normal answer"
        );
        eprintln!("peak RSS (v{version}): normal answer {ok_kib} KiB, 20 MB answer {huge_kib} KiB");
    }
}
