//! The stand-in's answers: documented bodies for the happy path (v1's or v3's, by the path
//! asked), and one answer per behaviour for everything else.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use serde_json::{Value, json};

use super::behaviour::Behaviour;
use super::documented::{
    REGISTRATION_OK, REGISTRATION_V3_EXAMPLE, REGISTRATION_V3_LISTED_FIELDS, REGISTRATION_V3_OK,
};
use super::http::{Request, Response};
use super::inspect::{Endpoint, Record};

/// The padding of an `Oversized` answer: past the 1 MiB the enrolld client
/// reads of an answer at most (its own choice; the API documents no size).
const OVERSIZED_BYTES: usize = (1 << 20) + 1024;

/// How to answer one request.
#[derive(Debug)]
pub enum Reply {
    Send(Response),
    /// Wait, then send (unless the stand-in is stopped meanwhile).
    Stall(Duration, Response),
    /// Send the head and half the body, then drop the connection.
    CutOff(Response),
    /// Drop the connection without a word.
    Hangup,
    /// Send the head, then hold the connection open and silent.
    HeadThenSilence(Response),
    /// Send the response one byte per second.
    Trickle(Response),
    /// Send the head, then `len` bytes of filler, streamed.
    Flood(Response, usize),
    /// Send the head and the first half of the body in chunked encoding,
    /// then close cleanly without the last chunk.
    ChunkedCutShort(Response),
}

/// The blocklist entry a [`Behaviour::WatchlistMatch`] answer names when the image was not
/// registered before: personal data of someone else, which a client must never log.
pub const BLOCKLISTED_NAME: &str = "Watchlist Person Seven";
pub const BLOCKLISTED_REFERENCE: &str = "b10c1157-0000-4000-8000-000000000007";
pub const BLOCKLISTED_SCORE: u64 = 97;

/// The body [`Behaviour::HugeBody`] announces and sends.
pub const HUGE_BODY_BYTES: usize = 20 * 1024 * 1024;

/// [`Behaviour::EchoRequest`]'s answer: the request as received, quoted in
/// a 400 message after `filler` characters of `a a a ...`.
pub fn echo(request: &Request, filler: usize) -> Response {
    let mut text = "a ".repeat(filler / 2);
    // Authorization first, so the filler alone decides where the token lands.
    let (auth, rest): (Vec<_>, Vec<_>) = request
        .headers
        .iter()
        .partition(|(name, _)| name == "authorization");
    for (name, value) in auth.into_iter().chain(rest) {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&String::from_utf8_lossy(&request.body));
    Response::json(400, &json!({ "status": false, "message": text }))
}

/// The reply to `record` under `behaviour`; `earlier` are the requests seen before it (for
/// duplicate detection).
pub fn reply(behaviour: &Behaviour, record: &Record, earlier: &[Record]) -> Reply {
    let Some(endpoint) = record.endpoint else {
        return Reply::Send(message(404, "Not Found"));
    };
    if record.method != "POST" {
        return Reply::Send(message(405, "Method Not Allowed"));
    }
    if !record.token_ok {
        return Reply::Send(message(401, "Unauthenticated."));
    }
    if !record.problems.is_empty() {
        let text = format!("stand-in: {}", record.problems.join("; "));
        return Reply::Send(Response::json(
            400,
            &json!({"status": false, "message": text}),
        ));
    }
    let ok = || Response::json(200, &ok_body(endpoint, record));
    let refusal = |text: &str| match endpoint {
        Endpoint::Register => Response::json(
            200,
            &json!({"status": false, "message": "Biometrics registration failed.",
                    "result": {"status": "failed", "message": text}}),
        ),
        // v3 documents no failure body beyond `success: false` with `message`.
        Endpoint::RegisterV3 => Response::json(200, &json!({"success": false, "message": text})),
        Endpoint::CreateVerification | Endpoint::FinalizeVerification => ok(),
    };
    let v3 = endpoint == Endpoint::RegisterV3;
    Reply::Send(match behaviour {
        Behaviour::Ok => ok(),
        Behaviour::Stall(d) => return Reply::Stall(*d, ok()),
        Behaviour::CloseMidResponse => return Reply::CutOff(ok()),
        // Handled before the handshake; here only if switched mid-request.
        Behaviour::Hangup | Behaviour::Refuse | Behaviour::StallHandshake => return Reply::Hangup,
        Behaviour::Unauthorized => message(401, "Unauthenticated."),
        Behaviour::RateLimited { retry_after_s } => message(429, "Too Many Attempts.")
            .with_header("Retry-After", &retry_after_s.to_string()),
        Behaviour::Status(code) => message(*code, "Server Error"),
        Behaviour::Unavailable { retry_after_s } => message(503, "Service Unavailable")
            .with_header("Retry-After", &retry_after_s.to_string()),
        Behaviour::HtmlPage(code) => Response::new(
            *code,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Error</title></head>\
             <body><h1>Something went wrong</h1></body></html>",
        ),
        Behaviour::TruncatedJson => {
            let mut body = ok().body;
            body.truncate(body.len() / 2);
            Response::new(200, "application/json", body)
        }
        Behaviour::StatusFalse => refusal("Template not found for this company."),
        Behaviour::Retake(q) => refusal(q.message),
        Behaviour::AlreadyRegistered => refusal("This face is already registered."),
        Behaviour::Oversized => {
            let padding = " ".repeat(OVERSIZED_BYTES);
            let mut body = ok().body;
            body.extend_from_slice(padding.as_bytes());
            Response::new(200, "application/json", body)
        }
        Behaviour::Redirect => message(302, "Found").with_header(
            "Location",
            "https://elsewhere.invalid/api/v1/verification/biometricsregistration",
        ),
        Behaviour::RedirectTo(url) => message(302, "Found").with_header("Location", url),
        Behaviour::HeadersThenSilence => return Reply::HeadThenSilence(ok()),
        Behaviour::Trickle => return Reply::Trickle(ok()),
        Behaviour::HugeBody => {
            let head = Response::new(200, "application/json", Vec::new());
            return Reply::Flood(head, HUGE_BODY_BYTES);
        }
        Behaviour::InvalidUtf8 => {
            // Valid JSON structure; the strings hold bytes that are not UTF-8.
            let body = [
                &br#"{"status":true,"message":"OK "#[..],
                &[0xff, 0xfe],
                br#"","result":{"status":"success","result":{"faceId":"face_"#,
                &[0xc3, 0x28],
                br#""}}}"#,
            ]
            .concat();
            Response::new(200, "application/json", body)
        }
        Behaviour::WrongContentType => {
            let mut r = ok();
            r.headers = vec![("Content-Type".to_owned(), "text/html".to_owned())];
            r
        }
        Behaviour::ChunkedCutShort => return Reply::ChunkedCutShort(ok()),
        Behaviour::OtherVerification => {
            let mut body = ok_body(endpoint, record);
            let other = json!("00000000-0000-4000-8000-000000000000");
            match endpoint {
                Endpoint::Register => {
                    body["result"]["result"]["associatedVerificationId"] = other.clone();
                    body["apiRequest"]["verification_id"] = other;
                }
                Endpoint::RegisterV3 => body["trustValidationId"] = other,
                Endpoint::CreateVerification => body["verification"]["template_id"] = json!(1),
                Endpoint::FinalizeVerification => body["verification"]["id"] = other,
            }
            Response::json(200, &body)
        }
        Behaviour::WatchlistMatch if v3 => {
            let mut body = v3_body(record);
            flag(&mut body, matched(record, earlier), (2, "REVIEW_NEEDED"));
            Response::json(200, &body)
        }
        Behaviour::StaleDocs if v3 => stale_docs_refusal(),
        Behaviour::ValidationRejected if v3 => {
            let mut body = v3_body(record);
            flag(&mut body, matched(record, earlier), (1, "REJECTED"));
            Response::json(200, &body)
        }
        Behaviour::ValidationRejected => refusal("Verification rejected."),
        Behaviour::OtherEnvelope => match endpoint {
            Endpoint::Register => Response::json(200, &v3_body(record)),
            Endpoint::RegisterV3 => Response::json(200, &v1_body(record)),
            Endpoint::CreateVerification | Endpoint::FinalizeVerification => ok(),
        },
        // v1 has no screening, and sends the username: documented success.
        Behaviour::WatchlistMatch | Behaviour::StaleDocs => ok(),
        // Answered from the raw request by the connection handler.
        Behaviour::EchoRequest { .. } => return Reply::Hangup,
    })
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

/// The trust flow the request named, as the answers give it back: an integer when it is one
/// (v1's documented drift: `template_id` comes back as an integer).
fn trust_flow_number(record: &Record) -> Value {
    let template = record.trust_flow().unwrap_or_else(|| "0".to_owned());
    template
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(template))
}

/// v1's documented registration answer, with this request's values filled in (a v3 request's
/// too, for [`Behaviour::OtherEnvelope`]).
fn v1_body(record: &Record) -> Value {
    let verification = record.verification_id().unwrap_or_default();
    let face_id = format!("face_{:06}_{:08x}", record.seq, random_u64() as u32);
    let mut body: Value = serde_json::from_str(REGISTRATION_OK).expect("documented JSON");
    let face = &mut body["result"]["result"];
    face["associatedVerificationId"] = json!(verification);
    face["faceId"] = json!(face_id);
    face["imageUrl"] = json!(format!("https://standin.invalid/faces/{face_id}.jpg"));
    face["timestamp"] = json!(record.at);
    let info = &mut body["apiRequest"];
    info["id"] = json!(record.seq);
    info["template_id"] = trust_flow_number(record);
    info["verification_id"] = json!(verification);
    info["date"] = json!(record.at);
    info["key"] = json!(format!("breg_standin_{}", record.seq));
    body
}

/// The reference id the stand-in gives the face registered by request `seq`.
pub fn reference_of(seq: u64) -> String {
    format!("5e7a0000-0000-4000-8000-{seq:012x}")
}

/// v3's documented registration answer, with this request's values filled in and the
/// screening clear (no watchlist matched: verified).
fn v3_body(record: &Record) -> Value {
    let mut body: Value = serde_json::from_str(REGISTRATION_V3_OK).expect("documented JSON");
    body["trustFlowId"] = trust_flow_number(record);
    body["trustValidationId"] = json!(record.verification_id().unwrap_or_default());
    body["verificationStatus"] = json!("VERIFIED");
    body["verificationStatusCode"] = json!(3);
    let enroll = &mut body["data"]["enroll"];
    enroll["recordId"] = json!(record.seq);
    enroll["referenceId"] = json!(reference_of(record.seq));
    enroll["enrolledAt"] = json!(record.at);
    let list = &mut body["data"]["screen"]["watchlists"][0];
    list["hasMatches"] = json!(false);
    list["matches"] = json!([]);
    body
}

/// What a server enforcing v3's stale field list answers (Laravel's validation refusal): the
/// fields the page lists that its example, and so a client, leaves out.
fn stale_docs_refusal() -> Response {
    let example: Value = serde_json::from_str(REGISTRATION_V3_EXAMPLE).expect("documented JSON");
    let missing: Vec<&str> = REGISTRATION_V3_LISTED_FIELDS
        .into_iter()
        .filter(|f| example.get(f).is_none())
        .collect();
    let said = |f: &str| format!("The {f} field is required.");
    let errors: serde_json::Map<String, Value> = missing
        .iter()
        .map(|f| ((*f).to_owned(), json!([said(f)])))
        .collect();
    let message = missing.first().map(|f| said(f)).unwrap_or_default();
    Response::json(
        422,
        &json!({"success": false, "message": message, "errors": errors}),
    )
}

/// A v3 answer's screening set to one match, with the trust validation's status.
fn flag(body: &mut Value, one: Value, (code, status): (u8, &str)) {
    let list = &mut body["data"]["screen"]["watchlists"][0];
    list["hasMatches"] = json!(true);
    list["matches"] = json!([one]);
    body["verificationStatus"] = json!(status);
    body["verificationStatusCode"] = json!(code);
}

/// What the screening matched: the latest earlier registration of the same image (duplicate
/// detection), else the blocklist entry.
fn matched(record: &Record, earlier: &[Record]) -> Value {
    let same = earlier.iter().rev().find(|r| {
        r.endpoint.is_some_and(Endpoint::is_registration)
            && r.jpeg_sha256.is_some()
            && r.jpeg_sha256 == record.jpeg_sha256
    });
    match same {
        Some(r) => json!({"enrolledAt": r.at, "imageType": 0, "name": null, "recordId": r.seq,
                          "referenceId": reference_of(r.seq), "similarityScore": 99}),
        None => json!({"enrolledAt": "2026-05-28T20:38:23.845620+08:00", "imageType": 0,
                       "name": BLOCKLISTED_NAME, "recordId": 7,
                       "referenceId": BLOCKLISTED_REFERENCE,
                       "similarityScore": BLOCKLISTED_SCORE}),
    }
}

/// The documented 200 body of each call.
fn ok_body(endpoint: Endpoint, record: &Record) -> Value {
    let template_number = trust_flow_number(record);
    match endpoint {
        Endpoint::Register => v1_body(record),
        Endpoint::RegisterV3 => v3_body(record),
        Endpoint::CreateVerification => json!({
            "message": "Verification created successfully",
            "verification": {
                "id": uuid_like(), "status": 99, "template_id": template_number,
                "user_id": 5, "company_id": 2,
            },
            "template": {}, "tool_settings": {}, "plans": ["biometrics_registration"],
        }),
        Endpoint::FinalizeVerification => json!({
            "message": "Verification finalized",
            "verification": { "id": record.field("verification_id"), "status": 2 },
            "missing_plans": [],
            "status": 2,
            "status_message": "REVIEW_NEEDED",
            "finalized": true,
        }),
    }
}

/// Random bits from the standard library's per-process hash keys: plenty
/// for test ids, and no extra dependency.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A version-4-shaped UUID string.
fn uuid_like() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_shape() {
        let u = super::uuid_like();
        let parts: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{u}");
        assert_ne!(u, super::uuid_like());
    }
}
