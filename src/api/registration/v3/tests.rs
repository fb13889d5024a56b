//! v3's answers, each class (the table in `v3.rs`), through [`ApiVersion::V3`].

use enrolld_standin::documented::{FACE_QUALITY, REGISTRATION_OK, REGISTRATION_V3_OK};
use serde_json::{Value, json};

use crate::api::outcome::{Answer, Outcome};
use crate::api::registration::{ApiVersion, Sent};

/// What the documented v3 answer names: its trust validation and trust flow.
const DOCUMENTED_V3: Sent<'static> = Sent {
    verification_id: "{your_trust_validation_id}",
    template_id: "0",
};

fn v3(status: u16, body: &str) -> Outcome {
    ApiVersion::V3.classify(&answer(status, body), &DOCUMENTED_V3)
}

fn answer(status: u16, body: &str) -> Answer {
    Answer::complete(status, body)
}

/// The documented answer with `change` applied.
fn documented_with(change: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(REGISTRATION_V3_OK).unwrap();
    change(&mut v);
    v.to_string()
}

#[test]
fn the_documented_answer_is_registered_and_flagged_by_its_watchlist_match() {
    let o = v3(200, REGISTRATION_V3_OK);
    let Outcome::RegisteredReview {
        face_id,
        associated_verification_id,
        timestamp,
        screening,
    } = &o
    else {
        panic!("{o:?}");
    };
    assert_eq!(face_id, "455bc762-7b72-490f-8d6d-65ed0d9317f0");
    assert_eq!(
        associated_verification_id.as_deref(),
        Some("{your_trust_validation_id}")
    );
    assert_eq!(
        timestamp.as_deref(),
        Some("2026-05-28T20:41:29.029854+08:00")
    );
    assert_eq!(screening.matches, 1);
    assert_eq!(
        screening.verification_status.as_deref(),
        Some("REVIEW_NEEDED")
    );
    let m = &screening.details[0];
    assert_eq!(
        (
            m.watchlist_id.as_deref(),
            m.record_id.as_deref(),
            m.similarity_score.as_deref(),
            m.name.as_deref()
        ),
        (Some("0"), Some("1"), Some("99"), None)
    );
    assert_eq!(o.code(), "registered_review");
    assert!(o.is_success() && o.exit_code() == 0);
    // The words name the count, never whom.
    let text = o.to_string();
    assert!(text.contains("matched 1 record(s)"), "{text}");
    assert!(!text.contains("455bc762") || text.contains("face id 455bc762"));
}

#[test]
fn a_clear_screening_is_registered_whatever_the_validation_status() {
    for (code, status) in [
        (3, "VERIFIED"),
        (2, "REVIEW_NEEDED"),
        (4, "INCOMPLETE"),
        (5, "IN_PROGRESS"),
    ] {
        let body = documented_with(|v| {
            v["data"]["screen"]["watchlists"][0]["hasMatches"] = json!(false);
            v["data"]["screen"]["watchlists"][0]["matches"] = json!([]);
            v["verificationStatus"] = json!(status);
            v["verificationStatusCode"] = json!(code);
        });
        let o = v3(200, &body);
        assert!(
            matches!(&o, Outcome::Registered { face_id, image_url: None, .. } if face_id.starts_with("455bc762")),
            "{status}: {o:?}"
        );
    }
    // No screen at all (a trust flow without watchlists): registered.
    let body = documented_with(|v| {
        v["data"]
            .as_object_mut()
            .unwrap()
            .remove("screen")
            .map(drop)
            .unwrap()
    });
    assert_eq!(v3(200, &body).code(), "registered");
}

#[test]
fn a_rejected_trust_validation_is_rejected_saying_whether_the_screening_matched() {
    let body = documented_with(|v| {
        v["verificationStatus"] = json!("REJECTED");
        v["verificationStatusCode"] = json!(1);
    });
    match v3(200, &body) {
        Outcome::Rejected { status, message } => {
            assert_eq!(status, 200);
            assert!(
                message.starts_with("IDMeta rejected the trust validation (REJECTED); its watchlist screening matched 1 record(s)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn success_false_with_each_face_quality_message_is_a_retake() {
    for q in FACE_QUALITY {
        let body = json!({"success": false, "message": q.message}).to_string();
        match v3(200, &body) {
            Outcome::Retake { quality } => assert_eq!(quality.code(), q.code),
            other => panic!("{}: {other:?}", q.message),
        }
        // The same in a 422.
        assert_eq!(v3(422, &body).code(), "retake");
    }
}

#[test]
fn success_false_otherwise_is_rejected_or_already_registered() {
    let o = v3(
        200,
        r#"{"success":false,"message":"Trust flow not found."}"#,
    );
    assert_eq!(
        o,
        Outcome::Rejected {
            status: 200,
            message: "Trust flow not found.".into()
        }
    );
    assert_eq!(
        v3(200, r#"{"success":false}"#),
        Outcome::Rejected {
            status: 200,
            message: "failed without a message".into()
        }
    );
    for m in ["This face is already registered.", "Account already exists"] {
        let body = json!({"success": false, "message": m}).to_string();
        assert_eq!(v3(200, &body).code(), "already_registered", "{m}");
        assert_eq!(v3(409, &body).code(), "already_registered", "{m}");
    }
    // A success that enrolled nothing but says the face is known.
    let body = json!({"success": true, "message": "User already registered."}).to_string();
    assert_eq!(v3(200, &body).code(), "already_registered");
    let body = json!({"success": true, "message": "done"}).to_string();
    assert!(
        matches!(v3(200, &body), Outcome::BadResponse { reason } if reason.contains("no data.enroll.referenceId"))
    );
}

#[test]
fn an_answer_asking_for_a_field_the_documented_request_lacks_is_a_refusal_naming_it() {
    let laravel = r#"{"success":false,"message":"The username field is required.","errors":{"username":["The username field is required."]}}"#;
    let message_only = r#"{"message":"The username field is required."}"#;
    for (status, body) in [(422, laravel), (422, message_only), (200, laravel)] {
        match v3(status, body) {
            Outcome::Rejected { status: s, message } => {
                assert_eq!(s, status);
                assert!(
                    message.starts_with(
                        "IDMeta asks for `username`, which its documented v3 request does not have"
                    ),
                    "{message}"
                );
                assert!(message.contains("api.version = 1"), "{message}");
            }
            other => panic!("{status} {body}: {other:?}"),
        }
    }
}

#[test]
fn a_success_for_another_trust_validation_or_trust_flow_is_an_unknown_delivery() {
    for (field, value, named) in [
        (
            "trustValidationId",
            json!("ffff"),
            "trustValidationId is `ffff`",
        ),
        ("trustFlowId", json!(130), "trustFlowId is `130`"),
    ] {
        let body = documented_with(|v| v[field] = value);
        match v3(200, &body) {
            Outcome::UnknownDelivery { reason } => {
                assert!(reason.contains(named), "{reason}");
                assert!(reason.contains("check in IDMeta"), "{reason}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // Left out or blank: nothing to compare.
    let body = documented_with(|v| {
        v.as_object_mut().unwrap().remove("trustValidationId");
        v["trustFlowId"] = json!(" ");
    });
    assert_eq!(v3(200, &body).code(), "registered_review");
}

#[test]
fn each_versions_envelope_answering_the_other_is_a_bad_response_naming_what_was_expected() {
    match v3(200, REGISTRATION_OK) {
        Outcome::BadResponse { reason } => assert!(
            reason.contains("has v1's envelope (`status`, `result`), not the v3's envelope (`success`, `data`) expected for api.version = 3"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let v1 = Sent {
        verification_id: "1234567890abcdef",
        template_id: "129",
    };
    match ApiVersion::V1.classify(&answer(200, REGISTRATION_V3_OK), &v1) {
        Outcome::BadResponse { reason } => {
            assert!(reason.contains("expected for api.version = 1"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Neither envelope.
    assert!(matches!(
        v3(200, r#"{"ok":1}"#),
        Outcome::BadResponse { reason } if reason == "HTTP 200 answer has no `success`"
    ));
}

#[test]
fn unknown_and_mistyped_fields_never_break_reading() {
    let body = documented_with(|v| {
        v["extra"] = json!({"nested": [1, 2]});
        v["success"] = json!("true");
        v["verificationStatusCode"] = json!("3");
        v["data"]["enroll"]["referenceId"] = json!(12345);
        v["data"]["screen"]["watchlists"] = json!([
            "not an object",
            {"hasMatches": "false", "matches": "none"},
        ]);
    });
    assert!(
        matches!(v3(200, &body), Outcome::Registered { face_id, .. } if face_id == "12345"),
        "{body}"
    );
}

#[test]
fn the_screening_counts_every_match_and_keeps_a_bounded_list() {
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"recordId": i, "name": format!("n{i}"), "similarityScore": 90}))
        .collect();
    let body = documented_with(|v| {
        v["data"]["screen"]["watchlists"] = json!([
            {"hasMatches": true, "watchlistId": 1, "matches": many},
            // Says it has matches, lists none: one.
            {"hasMatches": true, "watchlistId": 2},
            // Lists one, leaves `hasMatches` out: believed.
            {"watchlistId": 3, "matches": [{"recordId": 9}]},
            {"hasMatches": false, "watchlistId": 4, "matches": [{"recordId": 10}]},
        ]);
    });
    let o = v3(200, &body);
    let s = o.screening().unwrap_or_else(|| panic!("{o:?}"));
    assert_eq!(s.matches, 42);
    assert_eq!(s.details.len(), crate::api::screening::MAX_KEPT_MATCHES);
}

/// Found by the fuzzer: a refusal naming long fields and quoting a long message grew past
/// what an outcome may carry (400 characters, shown in logs and the status file).
#[test]
fn a_refusal_naming_fields_stays_short_whatever_the_server_says() {
    let long = "x".repeat(60);
    let errors: serde_json::Map<String, Value> = (0..6)
        .map(|i| (format!("{i}{}", "f".repeat(31)), json!(["required"])))
        .collect();
    let body = json!({
        "message": format!("The {long} field is required. {}", "y".repeat(300)),
        "errors": errors,
    })
    .to_string();
    let outcome = v3(422, &body);
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    let shown = outcome.to_string();
    assert!(
        shown.chars().count() <= 400,
        "{} characters: {shown}",
        shown.chars().count()
    );
    let crash = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz/corpus/api_response/v3-fields-and-long-message"
    ))
    .unwrap();
    let shown = v3(422, std::str::from_utf8(&crash[3..]).unwrap()).to_string();
    assert!(
        shown.chars().count() <= 400,
        "{} characters: {shown}",
        shown.chars().count()
    );
}
