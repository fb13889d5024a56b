//! v1's answers, each class, through [`ApiVersion::V1`].

use crate::api::outcome::{Answer, Body, FaceQuality, Outcome};
use crate::api::registration::{ApiVersion, Sent};

/// What the documented answer names: its verification and trust flow.
const DOCUMENTED_SENT: Sent<'static> = Sent {
    verification_id: "1234567890abcdef",
    template_id: "129",
};

fn classify(answer: &Answer) -> Outcome {
    ApiVersion::V1.classify(answer, &DOCUMENTED_SENT)
}

fn ok_body(json: &str) -> Answer {
    answer(200, json)
}
fn answer(status: u16, json: &str) -> Answer {
    Answer::complete(status, json)
}

#[test]
fn documented_ok_is_registered() {
    let body = r#"{"status":true,"message":"OK","result":{"status":"success","message":"Biometrics registration successful.","result":{"associatedVerificationId":"1234567890abcdef","faceId":"face_abc123xyz","imageUrl":"https://example.com/faces/face_abc123xyz.jpg","timestamp":"2025-07-30T09:15:00Z"}},"apiRequest":{"id":101,"template_id":129,"api_request_status":"SUCCESS"}}"#;
    assert_eq!(
        classify(&ok_body(body)),
        Outcome::Registered {
            face_id: "face_abc123xyz".into(),
            associated_verification_id: Some("1234567890abcdef".into()),
            image_url: Some("https://example.com/faces/face_abc123xyz.jpg".into()),
            timestamp: Some("2025-07-30T09:15:00Z".into()),
        }
    );
}

#[test]
fn every_retake_message_in_a_failure_is_a_retake() {
    for q in FaceQuality::ALL {
        let body = format!(
            r#"{{"status":false,"message":"Failed","result":{{"status":"failed","message":"{}"}}}}"#,
            q.message().to_uppercase()
        );
        assert_eq!(classify(&ok_body(&body)), Outcome::Retake { quality: q });
    }
}

#[test]
fn retake_in_a_422_is_still_a_retake() {
    let body = r#"{"message":"Face is cropped. Please ensure full face is in frame."}"#;
    assert_eq!(
        classify(&answer(422, body)),
        Outcome::Retake {
            quality: FaceQuality::FaceCropped
        }
    );
}

#[test]
fn status_false_uses_result_message_then_message() {
    let a = r#"{"status":false,"message":"outer","result":{"status":"failed","message":"inner"}}"#;
    let b = r#"{"status":false,"message":"outer"}"#;
    let c = r#"{"status":true,"result":{"status":"FAILED"}}"#;
    let rejected = |m: &str| Outcome::Rejected {
        status: 200,
        message: m.into(),
    };
    assert_eq!(classify(&ok_body(a)), rejected("inner"));
    assert_eq!(classify(&ok_body(b)), rejected("outer"));
    assert_eq!(classify(&ok_body(c)), rejected("failed without a message"));
}

#[test]
fn already_registered_in_both_phrasings() {
    for m in ["User already registered.", "Account already exists"] {
        let body = format!(r#"{{"status":false,"message":"{m}"}}"#);
        assert_eq!(classify(&ok_body(&body)).code(), "already_registered");
        let body = format!(r#"{{"message":"{m}"}}"#);
        assert_eq!(classify(&answer(409, &body)).code(), "already_registered");
    }
}

#[test]
fn statuses_decide_first() {
    let mut a = answer(429, "{}");
    a.retry_after = Some(" 30 ".into());
    assert_eq!(
        classify(&a),
        Outcome::RateLimited {
            retry_after_s: Some(30)
        }
    );
    a.retry_after = Some("Wed, 21 Oct 2015 07:28:00 GMT".into());
    assert_eq!(
        classify(&a),
        Outcome::RateLimited {
            retry_after_s: Some(0)
        }
    );
    a.retry_after = Some("whenever".into());
    assert_eq!(
        classify(&a),
        Outcome::RateLimited {
            retry_after_s: None
        }
    );
    for s in [401, 403] {
        assert_eq!(
            classify(&answer(s, "{}")),
            Outcome::Unauthorized { status: s }
        );
    }
    for s in [500, 502, 503, 504] {
        assert_eq!(
            classify(&answer(s, "<html>")),
            Outcome::ServerError {
                status: s,
                retry_after_s: None
            }
        );
    }
    let mut unavailable = answer(503, "");
    unavailable.retry_after = Some("7".into());
    assert_eq!(
        classify(&unavailable),
        Outcome::ServerError {
            status: 503,
            retry_after_s: Some(7)
        }
    );
    for s in [301, 302, 307, 404] {
        assert_eq!(
            classify(&answer(s, "<html>")),
            Outcome::WrongEndpoint { status: s }
        );
    }
}

#[test]
fn unreadable_2xx_is_bad_response() {
    for body in [
        "",
        "<html><body>Login to the hotel wifi</body></html>",
        r#"{"status":true,"result":{"#,
        "[1,2]",
        r#"{"status":true,"result":{"status":"success","result":{"faceId":""}}}"#,
        r#"{"status":true}"#,
    ] {
        assert_eq!(classify(&ok_body(body)).code(), "bad_response", "{body}");
    }
    let over = Answer {
        status: 200,
        retry_after: None,
        body: Body::OverCap { cap: 1 << 20 },
    };
    assert_eq!(classify(&over).code(), "bad_response");
}

#[test]
fn a_2xx_cut_off_is_unknown_delivery() {
    let a = Answer {
        status: 200,
        retry_after: None,
        body: Body::Broken {
            reason: "connection reset".into(),
        },
    };
    assert_eq!(classify(&a).code(), "unknown_delivery");
}

#[test]
fn server_text_is_cleaned() {
    let body = "{\"status\":false,\"message\":\"bad\\u001b[31m thing\\n\"}";
    assert_eq!(
        classify(&ok_body(body)),
        Outcome::Rejected {
            status: 200,
            message: "bad [31m thing".into()
        }
    );
}

#[test]
fn a_success_for_another_verification_or_trust_flow_is_an_unknown_delivery() {
    let documented = enrolld_standin::documented::REGISTRATION_OK;
    assert_eq!(classify(&ok_body(documented)).code(), "registered");
    for (from, to, field) in [
        (
            r#""associatedVerificationId": "1234567890abcdef""#,
            r#""associatedVerificationId": "ffff""#,
            "result.result.associatedVerificationId is `ffff`",
        ),
        (
            r#""verification_id": "1234567890abcdef""#,
            r#""verification_id": "ffff""#,
            "apiRequest.verification_id is `ffff`",
        ),
        (
            r#""template_id": 129"#,
            r#""template_id": 130"#,
            "apiRequest.template_id is `130`",
        ),
    ] {
        let body = documented.replace(from, to);
        assert_ne!(body, documented);
        match classify(&ok_body(&body)) {
            Outcome::UnknownDelivery { reason } => {
                assert!(reason.contains(field), "{reason}");
                assert!(reason.contains("check in IDMeta"), "{reason}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // Left out, or blank: nothing to compare.
    let body = documented
        .replace(r#""associatedVerificationId": "1234567890abcdef","#, "")
        .replace(
            r#""verification_id": "1234567890abcdef","#,
            r#""verification_id": " ","#,
        );
    assert_eq!(classify(&ok_body(&body)).code(), "registered");
}

#[test]
fn a_v3_envelope_to_a_v1_request_is_a_bad_response_naming_v1s() {
    let documented = enrolld_standin::documented::REGISTRATION_V3_OK;
    match classify(&ok_body(documented)) {
        Outcome::BadResponse { reason } => assert!(
            reason.contains("has v3's envelope (`success`, `data`), not the v1's envelope")
                && reason.contains("api.version = 1"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let failure = r#"{"success":false,"message":"Face is too small. Please move face closer to the camera."}"#;
    assert_eq!(classify(&ok_body(failure)).code(), "bad_response");
}
