//! The stand-in's strict reading of a request: it checks exactly what the
//! real API documents (method, path, the three headers, the JSON body with
//! its data URI) and records what it saw, minus the token.

use std::fmt;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::documented::{
    CREATE_VERIFICATION_FIELDS, CREATE_VERIFICATION_PATH, FINALIZE_VERIFICATION_FIELDS,
    FINALIZE_VERIFICATION_PATH, JPEG_DATA_URI_PREFIX, REGISTRATION_FIELDS, REGISTRATION_PATH,
    REGISTRATION_V3_EXAMPLE, REGISTRATION_V3_PATH,
};
use super::http::Request;

/// Which documented call a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// v1's `biometricsregistration`.
    Register,
    /// v3's `biometrics-detection`.
    RegisterV3,
    CreateVerification,
    FinalizeVerification,
}

impl Endpoint {
    pub fn from_path(path: &str) -> Option<Endpoint> {
        match path {
            REGISTRATION_PATH => Some(Endpoint::Register),
            REGISTRATION_V3_PATH => Some(Endpoint::RegisterV3),
            CREATE_VERIFICATION_PATH => Some(Endpoint::CreateVerification),
            FINALIZE_VERIFICATION_PATH => Some(Endpoint::FinalizeVerification),
            _ => None,
        }
    }

    /// A registration, in either version.
    pub fn is_registration(self) -> bool {
        matches!(self, Endpoint::Register | Endpoint::RegisterV3)
    }

    /// The body's keys, exactly, sorted: v1's from its field list, v3's from its example
    /// (the page's field list is stale, see `documented`).
    fn keys(self) -> Vec<String> {
        let listed: &[&str] = match self {
            Endpoint::Register => &REGISTRATION_FIELDS,
            Endpoint::RegisterV3 => return v3_example_keys(),
            Endpoint::CreateVerification => &CREATE_VERIFICATION_FIELDS,
            Endpoint::FinalizeVerification => &FINALIZE_VERIFICATION_FIELDS,
        };
        listed.iter().map(|k| (*k).to_owned()).collect()
    }

    /// The body field holding the verification the request is about (the trust validation).
    pub fn verification_field(self) -> Option<&'static str> {
        match self {
            Endpoint::Register | Endpoint::FinalizeVerification => Some("verification_id"),
            Endpoint::RegisterV3 => Some("trustValidationId"),
            Endpoint::CreateVerification => None,
        }
    }
}

/// The keys of v3's documented example request, sorted.
fn v3_example_keys() -> Vec<String> {
    let example: Value = serde_json::from_str(REGISTRATION_V3_EXAMPLE).expect("documented JSON");
    let mut keys: Vec<String> = example
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// One request as the stand-in saw it. The token is never recorded, only
/// whether it matched; the image is recorded as its decoded JPEG bytes
/// (in memory only) and replaced by a placeholder in `body`.
#[derive(Clone, Serialize)]
pub struct Record {
    pub seq: u64,
    pub at: String,
    /// When the connection carrying this request was accepted, on
    /// CLOCK_MONOTONIC (0 until the server sets it).
    pub arrived_mono_ns: u64,
    pub method: String,
    pub path: String,
    pub endpoint: Option<Endpoint>,
    /// Lowercase names; the `authorization` value reads `Bearer [redacted]`.
    pub headers: Vec<(String, String)>,
    pub token_ok: bool,
    pub body: Option<Value>,
    /// The body exactly as received (image included), in memory only: for tests that compare
    /// a request byte for byte.
    #[serde(skip)]
    pub raw_body: Vec<u8>,
    #[serde(skip)]
    pub jpeg: Option<Vec<u8>>,
    pub jpeg_len: Option<usize>,
    /// SHA-256 of the decoded JPEG (hex): which capture this was, for a
    /// ledger kept outside the process (a power-cut guest's serial port)
    /// that must tell one capture sent under two names.
    pub jpeg_sha256: Option<String>,
    /// Every way the request differs from the documented one.
    pub problems: Vec<String>,
    /// The behaviour in force when it was answered.
    pub behaviour: String,
}

impl Record {
    /// The single value of a header, if sent exactly once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }

    /// A string field of the JSON body.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.body.as_ref()?.get(key)?.as_str()
    }

    /// The verification (trust validation) the request is about: `verification_id` in v1's
    /// bodies, `trustValidationId` in v3's.
    pub fn verification_id(&self) -> Option<&str> {
        self.field(self.endpoint?.verification_field()?)
    }

    /// The trust flow the request names: v1's `template_id` (a string), v3's `trustFlowId` (an
    /// integer), as text.
    pub fn trust_flow(&self) -> Option<String> {
        let body = self.body.as_ref()?;
        match body.get("trustFlowId") {
            Some(n) => n.as_i64().map(|n| n.to_string()),
            None => body.get("template_id")?.as_str().map(str::to_owned),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("token_ok", &self.token_ok)
            .field("body", &self.body)
            .field("jpeg_len", &self.jpeg_len)
            .field("jpeg_sha256", &self.jpeg_sha256)
            .field("problems", &self.problems)
            .field("behaviour", &self.behaviour)
            .finish()
    }
}

/// What the stand-in expects of a client.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// The bearer token; `None` accepts any non-empty one.
    pub token: Option<String>,
    /// The `template_id`; `None` accepts any non-empty one.
    pub template_id: Option<String>,
}

pub fn inspect(request: &Request, expect: &Expectations, seq: u64, behaviour: String) -> Record {
    let endpoint = Endpoint::from_path(&request.path);
    let mut problems = Vec::new();
    if request.method != "POST" {
        problems.push(format!("method {}, expected POST", request.method));
    }
    let token_ok = check_authorization(request, expect, &mut problems);
    for name in ["accept", "content-type"] {
        match request.header_values(name).as_slice() {
            ["application/json"] => {}
            other => problems.push(format!(
                "{name} is {other:?}, expected [\"application/json\"]"
            )),
        }
    }
    let headers = request
        .headers
        .iter()
        .map(|(n, v)| {
            let v = if n == "authorization" {
                "Bearer [redacted]".to_owned()
            } else {
                v.clone()
            };
            (n.clone(), v)
        })
        .collect();
    let (body, jpeg) = match endpoint {
        Some(e) => check_body(e, &request.body, expect, &mut problems),
        None => (None, None),
    };
    let raw_body = if endpoint.is_some() {
        request.body.clone()
    } else {
        Vec::new()
    };
    Record {
        seq,
        at: crate::clock::now_rfc3339(),
        arrived_mono_ns: 0,
        method: request.method.clone(),
        path: request.path.clone(),
        endpoint,
        headers,
        token_ok,
        body,
        raw_body,
        jpeg_len: jpeg.as_ref().map(Vec::len),
        jpeg_sha256: jpeg.as_deref().map(sha256_hex),
        jpeg,
        problems,
        behaviour,
    }
}

fn check_authorization(
    request: &Request,
    expect: &Expectations,
    problems: &mut Vec<String>,
) -> bool {
    let values = request.header_values("authorization");
    let [value] = values.as_slice() else {
        problems.push(format!(
            "{} authorization headers, expected 1",
            values.len()
        ));
        return false;
    };
    let Some(token) = value.strip_prefix("Bearer ") else {
        problems.push("authorization is not `Bearer <token>`".to_owned());
        return false;
    };
    match &expect.token {
        Some(expected) => token == expected,
        None => !token.is_empty(),
    }
}

/// Parses and checks the JSON body; returns it (image replaced) and the JPEG.
fn check_body(
    endpoint: Endpoint,
    raw: &[u8],
    expect: &Expectations,
    problems: &mut Vec<String>,
) -> (Option<Value>, Option<Vec<u8>>) {
    let mut body: Value = match serde_json::from_slice(raw) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) => {
            problems.push("body is not a JSON object".to_owned());
            return (None, None);
        }
        Err(e) => {
            problems.push(format!("body is not JSON: {e}"));
            return (None, None);
        }
    };
    let map = body.as_object_mut().expect("checked above");
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != endpoint.keys() {
        problems.push(format!(
            "body keys {keys:?}, expected {:?}",
            endpoint.keys()
        ));
    }
    for (key, value) in map.iter() {
        // v3's trustFlowId is an integer (its example's 0); every other field a string.
        if key == "trustFlowId" {
            if !value.is_i64() {
                problems.push(format!("`{key}` is {value}, expected an integer"));
            }
        } else if value.as_str().is_none_or(|s| s.trim().is_empty()) {
            problems.push(format!("`{key}` is not a non-empty string"));
        }
    }
    let named = map
        .get("template_id")
        .or_else(|| map.get("trustFlowId"))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    if let (Some(want), Some(got)) = (&expect.template_id, named)
        && &got != want
    {
        problems.push(format!("trust flow {got}, expected {want:?}"));
    }
    let mut jpeg = None;
    if endpoint.is_registration()
        && let Some(image) = map.get_mut("image")
    {
        let text = image.as_str().unwrap_or_default();
        match text.strip_prefix(JPEG_DATA_URI_PREFIX) {
            None => problems.push(format!("image does not start with {JPEG_DATA_URI_PREFIX}")),
            Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                Err(e) => problems.push(format!("image is not valid base64: {e}")),
                Ok(bytes) if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) => {
                    problems.push("image does not decode to a JPEG (no SOI marker)".to_owned())
                }
                Ok(bytes) => jpeg = Some(bytes),
            },
        }
        *image = Value::String(format!("[{} bytes of base64]", text.len()));
    }
    (Some(body), jpeg)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request to `path` with the documented headers and this JSON body.
    fn request(path: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: path.into(),
            headers: [
                ("authorization", "Bearer 1|t"),
                ("accept", "application/json"),
                ("content-type", "application/json"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .to_vec(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn problems(body: &str) -> Vec<String> {
        let expect = Expectations {
            token: None,
            template_id: Some("129".into()),
        };
        inspect(
            &request(REGISTRATION_V3_PATH, body),
            &expect,
            1,
            "ok".into(),
        )
        .problems
    }

    /// v3's request is checked against its documented example: its three keys, an integer
    /// `trustFlowId` (the expected trust flow), a JPEG data URI; the stale field list's
    /// `username` is a problem, as is v1's shape sent to v3's path.
    #[test]
    fn a_v3_request_is_checked_against_the_documented_example() {
        let image = "data:image/jpeg;base64,/9j/4AAQ";
        let good = format!(r#"{{"image":"{image}","trustFlowId":129,"trustValidationId":"v-1"}}"#);
        assert_eq!(problems(&good), Vec::<String>::new());
        let r = inspect(
            &request(REGISTRATION_V3_PATH, &good),
            &Expectations::default(),
            1,
            "ok".into(),
        );
        assert_eq!(r.endpoint, Some(Endpoint::RegisterV3));
        assert_eq!(r.verification_id(), Some("v-1"));
        assert_eq!(r.trust_flow().as_deref(), Some("129"));
        for (bad, problem) in [
            (
                format!(r#"{{"image":"{image}","trustFlowId":"129","trustValidationId":"v-1"}}"#),
                "`trustFlowId` is \"129\", expected an integer",
            ),
            (
                format!(r#"{{"image":"{image}","trustFlowId":130,"trustValidationId":"v-1"}}"#),
                "trust flow 130, expected \"129\"",
            ),
            (
                format!(
                    r#"{{"image":"{image}","trustFlowId":129,"trustValidationId":"v-1","username":"Ann"}}"#
                ),
                "body keys [\"image\", \"trustFlowId\", \"trustValidationId\", \"username\"]",
            ),
            (
                format!(
                    r#"{{"image":"{image}","template_id":"129","username":"Ann","verification_id":"v-1"}}"#
                ),
                "expected [\"image\", \"trustFlowId\", \"trustValidationId\"]",
            ),
        ] {
            let found = problems(&bad);
            assert!(
                found.iter().any(|p| p.contains(problem)),
                "{bad}: {found:?}"
            );
        }
    }
}
