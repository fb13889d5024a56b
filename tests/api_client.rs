//! The IDMeta client against the real stand-in over real TLS on 127.0.0.1:
//! the stand-in checks every request exactly, each test asserts the class.
//!
//! Every answer class is asked in both registration API versions (`common::VERSIONS`): v1's
//! `biometricsregistration` and v3's `biometrics-detection`, each request checked by the
//! stand-in against its own copy of the documentation. The cases decided before a request is
//! written (TLS, DNS, the connection) are the transport's, the same for both: asked once.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Env, TEMPLATE_ID, TOKEN, VERSIONS, client_for, jpeg};
use enrolld::api::{ApiVersion, Outcome};
use enrolld::machine::fate::{self, Fate};
use enrolld_standin::answer::{BLOCKLISTED_NAME, BLOCKLISTED_REFERENCE};
use enrolld_standin::documented::{FACE_QUALITY, REGISTRATION_V3_EXAMPLE};
use enrolld_standin::{Behaviour, Endpoint};

const VERIFICATION: &str = "0b6f3c1e-1d2a-4c3b-9e8f-123456789abc";

fn register(env: &Env) -> Outcome {
    env.client().register(&jpeg(), "Ada Lovelace", VERIFICATION)
}

/// Registers under `behaviour` in each API version, checking the stand-in saw exactly one
/// well-formed request each time; the outcomes, in the order of [`VERSIONS`].
fn register_under(behaviour: Behaviour) -> Vec<Outcome> {
    VERSIONS
        .into_iter()
        .map(|version| {
            let env = Env::start_in(version, behaviour.clone());
            let outcome = register(&env);
            let records = env.server.records();
            assert_eq!(records.len(), 1, "{version}: {records:?}");
            assert!(
                records[0].problems.is_empty(),
                "{version}: {:?}",
                records[0].problems
            );
            assert_no_secret(&outcome);
            outcome
        })
        .collect()
}

/// The documented method and headers, the token accepted (and never recorded).
fn assert_documented_headers(r: &enrolld_standin::Record) {
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.method, "POST");
    assert!(r.token_ok);
    assert_eq!(r.header("authorization"), Some("Bearer [redacted]"));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

fn assert_no_secret(outcome: &Outcome) {
    let json = serde_json::to_string(outcome).unwrap();
    common::assert_no_secret_in(&format!("{outcome:?} {outcome} {json}"));
}

#[test]
fn documented_200_is_registered_and_the_request_is_exact() {
    let env = Env::start(Behaviour::Ok);
    let image = jpeg();
    let client = env.client();
    common::assert_no_secret_in(&format!("{client:?}"));
    let outcome = client.register(&image, "Ada Lovelace", VERIFICATION);
    let Outcome::Registered {
        face_id,
        associated_verification_id,
        image_url,
        timestamp,
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(face_id.starts_with("face_"), "{face_id}");
    assert_eq!(associated_verification_id.as_deref(), Some(VERIFICATION));
    assert!(image_url.as_deref().unwrap().contains(face_id.as_str()));
    assert!(timestamp.is_some());
    assert!(outcome.is_success() && outcome.exit_code() == 0);

    let records = env.server.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_documented_headers(r);
    assert_eq!(r.path, "/api/v1/verification/biometricsregistration");
    assert_eq!(r.endpoint, Some(Endpoint::Register));
    assert_eq!(r.field("username"), Some("Ada Lovelace"));
    assert_eq!(r.field("template_id"), Some(TEMPLATE_ID));
    assert_eq!(r.field("verification_id"), Some(VERIFICATION));
    // The data URI decoded by the server is byte for byte the JPEG sent.
    assert_eq!(r.jpeg.as_deref(), Some(&image[..]));
    assert_no_secret(&outcome);

    // A second registration gets its own face id.
    let again = register(&env);
    assert!(matches!(&again, Outcome::Registered { face_id: f, .. } if f != face_id));
}

/// v3: the request is the documented example byte for byte (its keys in its order,
/// `trustFlowId` an integer, no `username`), on v3's path with the same headers; the answer
/// with a clear screening is `registered`, under the reference id the stand-in enrolled.
#[test]
fn v3_request_is_the_documented_example_byte_for_byte_and_a_clear_answer_is_registered() {
    let env = Env::start_in(ApiVersion::V3, Behaviour::Ok);
    let image = jpeg();
    let outcome = register(&env);
    let records = env.server.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_documented_headers(r);
    assert_eq!(r.path, "/api/v3/verifications/biometrics-detection");
    assert_eq!(r.endpoint, Some(Endpoint::RegisterV3));
    // The documented example with this request's values, compact: what the client must send.
    let mut example: serde_json::Value = serde_json::from_str(REGISTRATION_V3_EXAMPLE).unwrap();
    example["image"] = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&image)
    )
    .into();
    example["trustFlowId"] = TEMPLATE_ID.parse::<i64>().unwrap().into();
    example["trustValidationId"] = VERIFICATION.into();
    let expected = format!(
        r#"{{"image":{},"trustFlowId":{},"trustValidationId":{}}}"#,
        example["image"], example["trustFlowId"], example["trustValidationId"]
    );
    assert!(
        r.raw_body == expected.as_bytes(),
        "the body is not the documented example: {}",
        String::from_utf8_lossy(&r.raw_body)
            .chars()
            .take(120)
            .collect::<String>()
    );
    assert_eq!(r.jpeg.as_deref(), Some(&image[..]));
    assert_eq!(r.field("username"), None);
    match &outcome {
        Outcome::Registered {
            face_id,
            associated_verification_id,
            ..
        } => {
            assert_eq!(face_id, &enrolld_standin::answer::reference_of(r.seq));
            assert_eq!(associated_verification_id.as_deref(), Some(VERIFICATION));
        }
        other => panic!("{other:?}"),
    }
    assert_no_secret(&outcome);
}

/// v3: a watchlist match is registered and flagged; the match's details come with the outcome
/// (for the operator's record), never in its words. A second send of the same image matches the
/// first (duplicate detection).
#[test]
fn v3_a_watchlist_match_is_registered_review_with_the_match_for_the_operator() {
    let env = Env::start_in(ApiVersion::V3, Behaviour::WatchlistMatch);
    let o = register(&env);
    let Outcome::RegisteredReview { screening, .. } = &o else {
        panic!("{o:?}");
    };
    assert_eq!(screening.matches, 1);
    assert_eq!(
        screening.verification_status.as_deref(),
        Some("REVIEW_NEEDED")
    );
    assert_eq!(screening.details[0].name.as_deref(), Some(BLOCKLISTED_NAME));
    assert_eq!(
        screening.details[0].reference_id.as_deref(),
        Some(BLOCKLISTED_REFERENCE)
    );
    assert!(o.is_success() && o.exit_code() == 0);
    for shown in [o.to_string(), format!("{o:?}")] {
        assert!(
            !shown.contains(BLOCKLISTED_NAME) && !shown.contains(BLOCKLISTED_REFERENCE),
            "{shown}"
        );
    }
    let again = register(&env);
    let first = env.server.records()[0].seq;
    let s = again.screening().unwrap_or_else(|| panic!("{again:?}"));
    assert_eq!(
        s.details[0].reference_id.as_deref(),
        Some(enrolld_standin::answer::reference_of(first).as_str()),
        "the second send matches the first"
    );
    // v1 has no screening: the same behaviour is a plain registration there.
    let env = Env::start_in(ApiVersion::V1, Behaviour::WatchlistMatch);
    assert_eq!(register(&env).code(), "registered");
}

/// v3: the page's stale field list (`username` required) as a server would enforce it: a
/// refusal naming the field, never registered, never sent again.
#[test]
fn v3_an_answer_asking_for_username_is_a_refusal_naming_it() {
    let [v1, v3] = register_under(Behaviour::StaleDocs).try_into().unwrap();
    assert_eq!(v1.code(), "registered", "v1 sends the username");
    match &v3 {
        Outcome::Rejected {
            status: 422,
            message,
        } => {
            assert!(message.contains("IDMeta asks for `username`"), "{message}");
            assert!(message.contains("api.version = 1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fate::live(&v3), Fate::Failed);
}

/// Each version's answer in the other's envelope: a bad response naming what was expected.
#[test]
fn an_answer_in_the_other_versions_envelope_is_a_bad_response_never_registered() {
    for (version, o) in VERSIONS
        .into_iter()
        .zip(register_under(Behaviour::OtherEnvelope))
    {
        match &o {
            Outcome::BadResponse { reason } => assert!(
                reason.contains(&format!("expected for api.version = {version}")),
                "{reason}"
            ),
            other => panic!("{version}: {other:?}"),
        }
        assert_eq!(fate::live(&o), Fate::Failed);
    }
}

/// v3 `verificationStatusCode` 1 (v1: a failure message): refused for good.
#[test]
fn a_rejected_validation_is_rejected() {
    let [v1, v3] = register_under(Behaviour::ValidationRejected)
        .try_into()
        .unwrap();
    assert_eq!(
        v1,
        Outcome::Rejected {
            status: 200,
            message: "Verification rejected.".into()
        }
    );
    assert!(
        matches!(&v3, Outcome::Rejected { message, .. } if message.starts_with("IDMeta rejected the trust validation (REJECTED); its watchlist screening matched 1 record(s)")),
        "{v3:?}"
    );
    assert!(!v3.to_string().contains(BLOCKLISTED_NAME));
}

/// A success naming another verification (v1) or trust validation (v3): unknown delivery.
#[test]
fn a_success_for_another_verification_is_an_unknown_delivery() {
    for (version, o) in VERSIONS
        .into_iter()
        .zip(register_under(Behaviour::OtherVerification))
    {
        let field = match version {
            ApiVersion::V1 => "result.result.associatedVerificationId",
            ApiVersion::V3 => "trustValidationId",
        };
        assert!(
            matches!(&o, Outcome::UnknownDelivery { reason } if reason.contains(field)),
            "{version}: {o:?}"
        );
        assert_eq!(fate::live(&o), Fate::Unknown);
    }
}

#[test]
fn unauthorized_by_behaviour_and_by_a_wrong_token() {
    for o in register_under(Behaviour::Unauthorized) {
        assert_eq!(o, Outcome::Unauthorized { status: 401 });
    }
    for version in VERSIONS {
        let env = Env::start_in(version, Behaviour::Ok);
        let outcome =
            client_for(&env.api_config(), "41|wrong").register(&jpeg(), "u", VERIFICATION);
        assert_eq!(outcome, Outcome::Unauthorized { status: 401 });
        assert!(!env.server.records()[0].token_ok);
        assert_eq!(outcome.exit_code(), 12);
    }
}

#[test]
fn rate_limited_carries_retry_after_and_may_be_resent() {
    for outcome in register_under(Behaviour::RateLimited { retry_after_s: 7 }) {
        assert_eq!(
            outcome,
            Outcome::RateLimited {
                retry_after_s: Some(7)
            }
        );
        assert_eq!(
            fate::live(&outcome),
            Fate::Queued {
                not_before: Some(Duration::from_secs(7))
            }
        );
    }
}

#[test]
fn server_errors_500_502_503() {
    let server = |status| Outcome::ServerError {
        status,
        retry_after_s: None,
    };
    for o in register_under(Behaviour::Status(500)) {
        assert_eq!(o, server(500));
        assert_eq!(fate::live(&o), Fate::Failed, "the server says it failed");
    }
    // A gateway may have passed the request on: never sent again.
    for o in register_under(Behaviour::Status(502)) {
        assert_eq!(o, server(502));
        assert_eq!(fate::live(&o), Fate::Unknown);
    }
    // Unavailable: not processed, sent again later.
    for o in register_under(Behaviour::Status(503)) {
        assert_eq!(o, server(503));
        assert_eq!(fate::live(&o), Fate::Queued { not_before: None });
    }
}

#[test]
fn html_error_pages() {
    // A proxy's 502 page is a server error; a captive portal's 200 page is
    // not a registration.
    for o in register_under(Behaviour::HtmlPage(502)) {
        assert_eq!(
            o,
            Outcome::ServerError {
                status: 502,
                retry_after_s: None
            }
        );
    }
    for o in register_under(Behaviour::HtmlPage(200)) {
        assert!(
            matches!(&o, Outcome::BadResponse { reason } if reason.contains("HTML")),
            "{o:?}"
        );
    }
}

#[test]
fn truncated_json_is_a_bad_response() {
    for o in register_under(Behaviour::TruncatedJson) {
        assert!(
            matches!(&o, Outcome::BadResponse { reason } if reason.contains("not valid JSON")),
            "{o:?}"
        );
        assert_eq!(fate::live(&o), Fate::Failed);
    }
}

#[test]
fn status_false_is_rejected_with_the_result_message() {
    for o in register_under(Behaviour::StatusFalse) {
        assert_eq!(
            o,
            Outcome::Rejected {
                status: 200,
                message: "Template not found for this company.".into()
            }
        );
    }
}

#[test]
fn each_of_the_seven_retake_messages() {
    for version in VERSIONS {
        let env = Env::start_in(version, Behaviour::Ok);
        for answered in FACE_QUALITY {
            env.server.set_behaviour(Behaviour::Retake(answered));
            let o = register(&env);
            match &o {
                Outcome::Retake { quality } => assert_eq!(quality.code(), answered.code, "{o:?}"),
                _ => panic!("{version}: {} classified as {o:?}", answered.message),
            }
            assert_eq!(o.exit_code(), 10);
        }
        assert_eq!(env.server.records().len(), 7);
    }
}

#[test]
fn already_registered_counts_as_success() {
    for o in register_under(Behaviour::AlreadyRegistered) {
        assert!(matches!(o, Outcome::AlreadyRegistered { .. }), "{o:?}");
        assert!(o.is_success());
    }
}

#[test]
fn a_body_over_the_cap_is_a_bad_response() {
    for o in register_under(Behaviour::Oversized) {
        assert!(
            matches!(&o, Outcome::BadResponse { reason } if reason.contains("longer than 1048576")),
            "{o:?}"
        );
    }
}

#[test]
fn a_stall_past_the_timeout_is_unknown_delivery() {
    for version in VERSIONS {
        let env = Env::start_in(version, Behaviour::Stall(Duration::from_secs(30)));
        let mut config = env.api_config();
        config.request_timeout_ms = 500;
        let started = Instant::now();
        let o = client_for(&config, TOKEN).register(&jpeg(), "u", VERIFICATION);
        let waited = started.elapsed();
        assert!(
            matches!(&o, Outcome::UnknownDelivery { reason } if reason.contains("request_timeout_ms")),
            "{o:?}"
        );
        assert_eq!(fate::live(&o), Fate::Unknown, "never sent again by itself");
        assert!(
            waited < Duration::from_secs(10),
            "the timeout must bound the wait: {waited:?}"
        );
        // The server did receive it: exactly why it must not be re-sent blindly.
        assert_eq!(env.server.records().len(), 1);
    }
}

#[test]
fn a_connection_closed_mid_response_is_unknown_delivery() {
    for o in register_under(Behaviour::CloseMidResponse) {
        assert!(
            matches!(&o, Outcome::UnknownDelivery { reason } if reason.contains("cut off")),
            "{o:?}"
        );
    }
    for o in register_under(Behaviour::Hangup) {
        assert!(matches!(o, Outcome::UnknownDelivery { .. }), "{o:?}");
    }
}

#[test]
fn a_certificate_for_another_host_name_is_not_sent() {
    let env = Env::start_with_names(Behaviour::Ok, Some(vec!["idmeta.example".to_owned()]));
    let o = register(&env);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("TLS handshake failed") && reason.contains("certificate")),
        "{o:?}"
    );
    assert_eq!(fate::live(&o), Fate::Queued { not_before: None });
    assert!(
        env.server.records().is_empty(),
        "nothing may reach the server"
    );
}

#[test]
fn an_untrusted_ca_is_not_sent() {
    // Bundled public roots only: the stand-in's private CA is not among them.
    let env = Env::start(Behaviour::Ok);
    let mut config = env.api_config();
    config.ca_file = None;
    config.ca_file_only = false;
    let o = client_for(&config, TOKEN).register(&jpeg(), "u", VERIFICATION);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("not signed by a CA enrolld trusts") && reason.contains("api.ca_file")),
        "{o:?}"
    );
    assert!(env.server.records().is_empty());
}

#[test]
fn nothing_listening_is_not_sent_and_the_port_comes_back() {
    let env = Env::start(Behaviour::Refuse);
    let o = register(&env);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("refused")),
        "{o:?}"
    );
    assert_eq!(o.exit_code(), 16);

    env.server.set_behaviour(Behaviour::Ok);
    assert!(matches!(register(&env), Outcome::Registered { .. }));
    env.server.stop();
    assert!(matches!(register(&env), Outcome::NotSent { .. }));
    env.server.restart();
    assert!(matches!(register(&env), Outcome::Registered { .. }));
    assert_eq!(env.server.records().len(), 2);
}

#[test]
fn a_host_that_does_not_resolve_is_not_sent() {
    let env = Env::start(Behaviour::Ok);
    let mut config = env.api_config();
    config.base_url = "https://no-such-host.invalid".to_owned();
    let o = client_for(&config, TOKEN).register(&jpeg(), "u", VERIFICATION);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("DNS")),
        "{o:?}"
    );
}

#[test]
fn a_redirect_is_not_followed() {
    for o in register_under(Behaviour::Redirect) {
        assert_eq!(o, Outcome::WrongEndpoint { status: 302 });
        // Not processed, and the URL must be fixed: deliveries pause.
        assert_eq!(fate::live(&o), Fate::Paused);
    }
}

#[test]
fn create_and_finalize_verification() {
    let env = Env::start(Behaviour::Ok);
    let client = env.client();
    let id = client.create_verification().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let finalized = client.finalize_verification(&id).unwrap();
    assert_eq!(finalized.finalized, Some(true));
    assert_eq!(finalized.status_message.as_deref(), Some("REVIEW_NEEDED"));
    let records = env.server.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].endpoint, Some(Endpoint::CreateVerification));
    assert_eq!(records[1].endpoint, Some(Endpoint::FinalizeVerification));
    assert_eq!(records[1].field("verification_id"), Some(id.as_str()));
    assert!(records.iter().all(|r| r.problems.is_empty() && r.token_ok));

    env.server.set_behaviour(Behaviour::Status(503));
    assert_eq!(
        client.create_verification(),
        Err(Outcome::ServerError {
            status: 503,
            retry_after_s: None
        })
    );
    env.server.set_behaviour(Behaviour::TruncatedJson);
    assert!(matches!(
        client.create_verification(),
        Err(Outcome::BadResponse { .. })
    ));
}

#[test]
fn plain_http_to_loopback_works_and_is_tracked_the_same_way() {
    let env = Env::start_plain(Behaviour::Ok);
    assert!(env.server.url().starts_with("http://127.0.0.1:"));
    assert!(matches!(register(&env), Outcome::Registered { .. }));
    assert!(env.server.records()[0].problems.is_empty());
    env.server.set_behaviour(Behaviour::Hangup);
    assert!(matches!(register(&env), Outcome::UnknownDelivery { .. }));
    env.server.set_behaviour(Behaviour::Refuse);
    assert!(matches!(register(&env), Outcome::NotSent { .. }));
}

#[test]
fn https_client_to_a_plain_http_server_is_not_sent() {
    // A TLS handshake answered by an HTTP server fails before any request.
    let env = Env::start_plain(Behaviour::Ok);
    let mut config = env.api_config();
    config.base_url = env.server.url().replace("http://", "https://");
    let o = client_for(&config, TOKEN).register(&jpeg(), "u", VERIFICATION);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("TLS")),
        "{o:?}"
    );
}

#[test]
fn the_client_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<enrolld::api::Client>();
    let env = Env::start(Behaviour::Ok);
    let client = env.client();
    std::thread::scope(|s| {
        let a = s.spawn(|| client.register(&jpeg(), "a", VERIFICATION));
        let b = s.spawn(|| client.register(&jpeg(), "b", VERIFICATION));
        assert!(matches!(a.join().unwrap(), Outcome::Registered { .. }));
        assert!(matches!(b.join().unwrap(), Outcome::Registered { .. }));
    });
    assert_eq!(env.server.records().len(), 2);
}

#[test]
fn a_tls_handshake_that_never_completes_is_a_connect_timeout_not_sent() {
    let env = Env::start(Behaviour::StallHandshake);
    let mut config = env.api_config();
    config.connect_timeout_ms = 300;
    let started = Instant::now();
    let o = client_for(&config, TOKEN).register(&jpeg(), "u", VERIFICATION);
    assert!(
        matches!(&o, Outcome::NotSent { reason } if reason.contains("connect_timeout_ms")),
        "{o:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(env.server.records().is_empty());
}
