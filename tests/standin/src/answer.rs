//! The stand-in's answers: documented bodies for the happy path, and one
//! answer per behaviour for everything else.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use serde_json::{Value, json};

use super::behaviour::Behaviour;
use super::documented::REGISTRATION_OK;
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

pub fn reply(behaviour: &Behaviour, record: &Record) -> Reply {
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
    let refusal = |text: &str| {
        if endpoint == Endpoint::Register {
            Response::json(
                200,
                &json!({"status": false, "message": "Biometrics registration failed.",
                        "result": {"status": "failed", "message": text}}),
            )
        } else {
            ok()
        }
    };
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
                Endpoint::CreateVerification => body["verification"]["template_id"] = json!(1),
                Endpoint::FinalizeVerification => body["verification"]["id"] = other,
            }
            Response::json(200, &body)
        }
        // Answered from the raw request by the connection handler.
        Behaviour::EchoRequest { .. } => return Reply::Hangup,
    })
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

/// The documented 200 body of each call.
fn ok_body(endpoint: Endpoint, record: &Record) -> Value {
    let template = record.field("template_id").unwrap_or("0");
    // The documented drift: template_id comes back as an integer.
    let template_number: Value = template
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(template));
    match endpoint {
        Endpoint::Register => {
            let verification = record.field("verification_id").unwrap_or_default();
            let face_id = format!("face_{:06}_{:08x}", record.seq, random_u64() as u32);
            // The documented body, with this request's values filled in.
            let mut body: Value = serde_json::from_str(REGISTRATION_OK).expect("documented JSON");
            let face = &mut body["result"]["result"];
            face["associatedVerificationId"] = json!(verification);
            face["faceId"] = json!(face_id);
            face["imageUrl"] = json!(format!("https://standin.invalid/faces/{face_id}.jpg"));
            face["timestamp"] = json!(record.at);
            let info = &mut body["apiRequest"];
            info["id"] = json!(record.seq);
            info["template_id"] = template_number.clone();
            info["verification_id"] = json!(verification);
            info["date"] = json!(record.at);
            info["key"] = json!(format!("breg_standin_{}", record.seq));
            body
        }
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
