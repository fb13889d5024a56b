//! Any HTTP answer (status, Retry-After, body) through every classifier the
//! client uses: the registration's in both API versions (v1's
//! biometricsregistration, v3's biometrics-detection with its watchlist
//! screening), create and finalize. Beyond "no panic": whatever the server
//! sends, the texts an outcome carries (a screening's matches included) are
//! short and free of control characters, because they go to logs, the status
//! file, a review record and the LED owner's terminal; and a screening's
//! kept list stays bounded.
#![no_main]

use enrolld::api::client::{read_created_verification, read_finalized};
use enrolld::api::outcome::{Answer, Body, classify_other};
use enrolld::api::registration::Sent;
use enrolld::api::screening::MAX_KEPT_MATCHES;
use enrolld::api::{ApiVersion, Outcome};
use enrolld::api::retry_after::parse_retry_after;
use enrolld::machine::fate;
use libfuzzer_sys::fuzz_target;

/// Longest text an outcome may carry (cleaned messages are capped at 200).
const MAX_TEXT: usize = 400;

fn check_text(what: &str, text: &str) {
    assert!(
        text.chars().count() <= MAX_TEXT,
        "{what}: {} characters",
        text.chars().count()
    );
    assert!(
        !text.chars().any(char::is_control),
        "{what}: control character in {text:?}"
    );
}

fn check(outcome: &Outcome) {
    check_text("display", &outcome.to_string());
    if let Some(s) = outcome.screening() {
        assert!(s.matches >= 1, "flagged without a match");
        assert!(s.details.len() <= MAX_KEPT_MATCHES, "{} matches kept", s.details.len());
        for m in &s.details {
            for text in [
                &m.watchlist_id,
                &m.name,
                &m.reference_id,
                &m.record_id,
                &m.similarity_score,
                &m.enrolled_at,
            ] {
                check_text("match", text.as_deref().unwrap_or(""));
            }
        }
    }
    let _ = (outcome.code(), outcome.exit_code(), outcome.is_success());
    // Whatever the answer, deciding its fate (live or queued, first send or resend) never panics.
    let _ = (
        fate::live(outcome),
        fate::queued(outcome, false),
        fate::queued(outcome, true),
        fate::proves_access(outcome),
        fate::after_failed_create(outcome),
    );
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    // Byte 0-1: status; byte 2: body shape and Retry-After length.
    let status = u16::from_be_bytes([data[0], data[1]]) % 700;
    let shape = data[2];
    let rest = &data[3..];
    let ra_len = usize::from(shape >> 2).min(rest.len());
    let (retry_after, body) = rest.split_at(ra_len);
    let retry_after = (ra_len > 0).then(|| String::from_utf8_lossy(retry_after).into_owned());
    if let Some(v) = &retry_after {
        let _ = parse_retry_after(v, 1_800_000_000);
    }
    let body = match shape & 3 {
        0 | 1 => Body::Complete(body.to_vec()),
        2 => Body::OverCap { cap: body.len() },
        _ => Body::Broken {
            reason: "connection reset".to_owned(),
        },
    };
    let answer = Answer {
        status,
        retry_after,
        body,
    };
    let sent = Sent {
        verification_id: "1234567890abcdef",
        template_id: "129",
    };
    for version in [ApiVersion::V1, ApiVersion::V3] {
        check(&version.classify(&answer, &sent));
    }
    match classify_other(&answer) {
        Ok(bytes) => {
            match read_created_verification(bytes, "129") {
                Ok(id) => check_text("verification id", &id),
                Err(reason) => check_text("create reason", &reason),
            }
            match read_finalized(bytes, "1234567890abcdef") {
                Ok(f) => {
                    check_text("finalize status", f.status.as_deref().unwrap_or(""));
                    check_text(
                        "finalize message",
                        f.status_message.as_deref().unwrap_or(""),
                    );
                }
                Err(reason) => check_text("finalize reason", &reason),
            }
        }
        Err(outcome) => check(&outcome),
    }
});
