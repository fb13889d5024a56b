//! What became of one registration, as one enum with stable codes.
//!
//! The code (`registered`, `retake`, `not_sent`, ...) is what logs, the
//! status file and `enrolld register` print, and each failure class has its
//! own process exit status. Both are part of the interface: never renumber.
//!
//! The split that matters most is `not_sent` vs `unknown_delivery`.
//! Registration is not idempotent (a repeat may be flagged as a duplicate
//! face), so only a request that provably never left the device may be sent
//! again as is. See `transport.rs` for how that is decided.

use std::fmt;

use serde::Serialize;

use super::retry_after::parse_retry_after;
use super::sanitize::clean_server_text;
use super::screening::Screening;
use super::wire::RegistrationResponse;

/// The seven documented face-quality answers: the face was not usable, take
/// another picture. Matched case-insensitively on their first sentence, so
/// trailing punctuation, extra hints or a prefix do not hide them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceQuality {
    NoFace,
    FaceTooSmall,
    MultipleFaces,
    FaceObscured,
    FaceCropped,
    FaceAngle,
    FaceNearBorder,
}

impl FaceQuality {
    pub const ALL: [FaceQuality; 7] = [
        FaceQuality::NoFace,
        FaceQuality::FaceTooSmall,
        FaceQuality::MultipleFaces,
        FaceQuality::FaceObscured,
        FaceQuality::FaceCropped,
        FaceQuality::FaceAngle,
        FaceQuality::FaceNearBorder,
    ];

    /// Stable code, e.g. `no_face`.
    pub fn code(self) -> &'static str {
        match self {
            FaceQuality::NoFace => "no_face",
            FaceQuality::FaceTooSmall => "face_too_small",
            FaceQuality::MultipleFaces => "multiple_faces",
            FaceQuality::FaceObscured => "face_obscured",
            FaceQuality::FaceCropped => "face_cropped",
            FaceQuality::FaceAngle => "face_angle",
            FaceQuality::FaceNearBorder => "face_near_border",
        }
    }

    /// The message as IDMeta documents it.
    pub fn message(self) -> &'static str {
        match self {
            FaceQuality::NoFace => {
                "No face detected in the image. Please ensure face is clearly visible."
            }
            FaceQuality::FaceTooSmall => {
                "Face is too small. Please move face closer to the camera."
            }
            FaceQuality::MultipleFaces => {
                "Multiple faces detected in the image. Please ensure only one face is visible."
            }
            FaceQuality::FaceObscured => {
                "Face is partially hidden or obscured. Please ensure full face is clearly visible."
            }
            FaceQuality::FaceCropped => "Face is cropped. Please ensure full face is in frame.",
            FaceQuality::FaceAngle => {
                "Face angle is too large. Please ensure face is clearly visible."
            }
            FaceQuality::FaceNearBorder => {
                "Face is too close to the border. Please ensure face is clearly visible."
            }
        }
    }

    /// Recognises a server message as one of the seven.
    pub fn from_message(message: &str) -> Option<FaceQuality> {
        let text = normalize(message);
        FaceQuality::ALL.into_iter().find(|q| {
            let first_sentence = q.message().split('.').next().unwrap_or_default();
            text.contains(&normalize(first_sentence))
        })
    }
}

/// Lowercase, whitespace collapsed, trailing punctuation dropped.
fn normalize(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    words
        .join(" ")
        .to_lowercase()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_owned()
}

/// "already registered" / "Account already exists": the official SDK treats
/// these as success, and so does the terminal.
pub(crate) fn means_already_registered(message: &str) -> bool {
    let text = normalize(message);
    text.contains("already registered") || text.contains("account already exists")
}

/// The outcome of one registration (or of the calls around it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Outcome {
    /// Registered: IDMeta returned a face id.
    Registered {
        face_id: String,
        associated_verification_id: Option<String>,
        image_url: Option<String>,
        timestamp: Option<String>,
    },
    /// Registered (v3), and IDMeta's watchlist screening matched: a blocklist entry, or the
    /// same face enrolled before (the same person under another name, or a resend whose first
    /// send had got through). Counts as registered; flagged for an operator's review.
    RegisteredReview {
        face_id: String,
        associated_verification_id: Option<String>,
        timestamp: Option<String>,
        /// Boxed: the other outcomes are small, and most calls never hold this one.
        screening: Box<Screening>,
    },
    /// The face or user is already enrolled; counts as success.
    AlreadyRegistered { message: String },
    /// The picture was not usable: take another.
    Retake { quality: FaceQuality },
    /// Refused for any other reason the server gave.
    Rejected { status: u16, message: String },
    /// HTTP 401 or 403: the token is wrong, expired or lacks rights.
    Unauthorized { status: u16 },
    /// HTTP 429; `retry_after_s` from `Retry-After` (seconds, or an HTTP-date
    /// counted from now).
    RateLimited { retry_after_s: Option<u64> },
    /// HTTP 5xx; `retry_after_s` from `Retry-After` (503 sends it).
    ServerError {
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
    /// HTTP 404, or a redirect (never followed): `api.base_url` does not
    /// lead to IDMeta's API. Nothing was processed.
    WrongEndpoint { status: u16 },
    /// A 2xx we cannot read as a registration.
    BadResponse { reason: String },
    /// The request provably never left the device: safe to send again.
    NotSent { reason: String },
    /// The request may have reached IDMeta but no usable answer came back:
    /// must not be re-sent blindly.
    UnknownDelivery { reason: String },
}

impl Outcome {
    /// The stable code used in logs, the status file and output.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Registered { .. } => "registered",
            Outcome::RegisteredReview { .. } => "registered_review",
            Outcome::AlreadyRegistered { .. } => "already_registered",
            Outcome::Retake { .. } => "retake",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Unauthorized { .. } => "unauthorized",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::ServerError { .. } => "server_error",
            Outcome::WrongEndpoint { .. } => "wrong_endpoint",
            Outcome::BadResponse { .. } => "bad_response",
            Outcome::NotSent { .. } => "not_sent",
            Outcome::UnknownDelivery { .. } => "unknown_delivery",
        }
    }

    /// Process exit status for `enrolld register`; see [`crate::exit::outcome`].
    pub fn exit_code(&self) -> i32 {
        use crate::exit::outcome::*;
        match self {
            Outcome::Registered { .. }
            | Outcome::RegisteredReview { .. }
            | Outcome::AlreadyRegistered { .. } => crate::exit::OK,
            Outcome::Retake { .. } => RETAKE,
            Outcome::Rejected { .. } => REJECTED,
            Outcome::Unauthorized { .. } => UNAUTHORIZED,
            Outcome::RateLimited { .. } => RATE_LIMITED,
            Outcome::ServerError { .. } => SERVER_ERROR,
            Outcome::WrongEndpoint { .. } => WRONG_ENDPOINT,
            Outcome::BadResponse { .. } => BAD_RESPONSE,
            Outcome::NotSent { .. } => NOT_SENT,
            Outcome::UnknownDelivery { .. } => UNKNOWN_DELIVERY,
        }
    }

    /// Registered (flagged or not), or already registered.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Registered { .. }
                | Outcome::RegisteredReview { .. }
                | Outcome::AlreadyRegistered { .. }
        )
    }

    /// The face id of a registration this answer made (none for "already registered").
    pub fn face_id(&self) -> Option<&str> {
        match self {
            Outcome::Registered { face_id, .. } | Outcome::RegisteredReview { face_id, .. } => {
                Some(face_id)
            }
            _ => None,
        }
    }

    /// The watchlist screening of a flagged registration.
    pub fn screening(&self) -> Option<&Screening> {
        match self {
            Outcome::RegisteredReview { screening, .. } => Some(screening),
            _ => None,
        }
    }

    /// The answer a non-2xx status alone decides, or `None` for the 2xx and
    /// other 4xx whose body must be read.
    pub(crate) fn from_status(status: u16, retry_after: Option<&str>) -> Option<Outcome> {
        let retry_after_s = retry_after.and_then(|v| parse_retry_after(v, crate::time::unix_now()));
        match status {
            200..=299 => None,
            // A redirect is never followed (the token would go wherever it
            // points); like a 404 it means the URL is not IDMeta's API.
            300..=399 | 404 => Some(Outcome::WrongEndpoint { status }),
            401 | 403 => Some(Outcome::Unauthorized { status }),
            429 => Some(Outcome::RateLimited { retry_after_s }),
            400..=499 => None,
            500..=599 => Some(Outcome::ServerError {
                status,
                retry_after_s,
            }),
            _ => Some(Outcome::BadResponse {
                reason: format!("unexpected HTTP status {status}"),
            }),
        }
    }
}

impl Outcome {
    /// Replaces every occurrence of `secret` in the outcome's texts. The
    /// client applies it with the token, in case a server echoes it back.
    pub(crate) fn redact(self, secret: &str) -> Outcome {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| s.replace(secret, "[redacted]");
        match self {
            Outcome::Registered {
                face_id,
                associated_verification_id,
                image_url,
                timestamp,
            } => Outcome::Registered {
                face_id: r(face_id),
                associated_verification_id: associated_verification_id.map(r),
                image_url: image_url.map(r),
                timestamp: timestamp.map(r),
            },
            Outcome::RegisteredReview {
                face_id,
                associated_verification_id,
                timestamp,
                screening,
            } => Outcome::RegisteredReview {
                face_id: r(face_id),
                associated_verification_id: associated_verification_id.map(r),
                timestamp: timestamp.map(r),
                screening: Box::new(screening.redact(secret)),
            },
            Outcome::AlreadyRegistered { message } => Outcome::AlreadyRegistered {
                message: r(message),
            },
            Outcome::Rejected { status, message } => Outcome::Rejected {
                status,
                message: r(message),
            },
            Outcome::BadResponse { reason } => Outcome::BadResponse { reason: r(reason) },
            Outcome::NotSent { reason } => Outcome::NotSent { reason: r(reason) },
            Outcome::UnknownDelivery { reason } => Outcome::UnknownDelivery { reason: r(reason) },
            other @ (Outcome::Retake { .. }
            | Outcome::Unauthorized { .. }
            | Outcome::RateLimited { .. }
            | Outcome::ServerError { .. }
            | Outcome::WrongEndpoint { .. }) => other,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code();
        match self {
            Outcome::Registered { face_id, .. } => write!(f, "{code}: face id {face_id}"),
            Outcome::RegisteredReview {
                face_id, screening, ..
            } => write!(
                f,
                "{code}: face id {face_id}; IDMeta's watchlist screening matched {} record(s) \
                 (`enrolld queue list --json` shows them)",
                screening.matches
            ),
            Outcome::AlreadyRegistered { message } => write!(f, "{code}: {message}"),
            Outcome::Retake { quality } => write!(f, "{code}: {}", quality.message()),
            Outcome::Rejected { status, message } => write!(f, "{code} (HTTP {status}): {message}"),
            Outcome::Unauthorized { status } => {
                write!(f, "{code}: HTTP {status}, check the API token")
            }
            Outcome::RateLimited {
                retry_after_s: Some(s),
            } => write!(f, "{code}: retry after {s} s"),
            Outcome::RateLimited {
                retry_after_s: None,
            } => write!(f, "{code}"),
            Outcome::ServerError {
                status,
                retry_after_s: Some(s),
            } => write!(f, "{code}: HTTP {status}, retry after {s} s"),
            Outcome::ServerError { status, .. } => write!(f, "{code}: HTTP {status}"),
            Outcome::WrongEndpoint { status } => write!(
                f,
                "{code}: HTTP {status}: api.base_url does not lead to the IDMeta API; check it"
            ),
            Outcome::BadResponse { reason }
            | Outcome::NotSent { reason }
            | Outcome::UnknownDelivery { reason } => write!(f, "{code}: {reason}"),
        }
    }
}

/// The part of an HTTP answer classification needs. Built by the client;
/// classification itself does no I/O, so it is unit-tested directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Body,
}

impl Answer {
    /// A whole answer with this status and body, no `Retry-After` (tests).
    #[cfg(test)]
    pub(crate) fn complete(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: Body::Complete(body.as_bytes().to_vec()),
        }
    }
}

/// The response body as read under the size cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Complete(Vec<u8>),
    /// Longer than the cap; the rest was not read.
    OverCap {
        cap: usize,
    },
    /// The connection failed or timed out while reading it.
    Broken {
        reason: String,
    },
}

/// The reason of an [`Outcome::UnknownDelivery`] for a success answer whose fields name
/// another request than the one sent: the first of `checks` (field, what the answer named, what
/// was sent) that differs. A success naming another verification or trust flow is an answer to
/// another request (a proxy or gateway mixed answers up): it does not say this person was
/// registered, nor that they were not. Fields the answer leaves out are not held against it.
pub(crate) fn another_request<'a>(
    checks: impl IntoIterator<Item = (&'a str, Option<&'a str>, &'a str)>,
) -> Option<String> {
    let other = checks
        .into_iter()
        .find_map(|(field, named, sent)| names_other(field, named, sent))?;
    Some(format!(
        "the success answer is for another request: {other}; check in IDMeta whether this \
         person was registered"
    ))
}

/// When an answer's `field` names something other than the `sent` value:
/// the words saying so. A field left out or blank is not held against it.
pub(crate) fn names_other(field: &str, named: Option<&str>, sent: &str) -> Option<String> {
    let named = clean_server_text(named?.trim());
    (!named.is_empty() && named != sent.trim()).then(|| {
        format!(
            "its {field} is `{named}`, not the `{}` sent",
            clean_server_text(sent)
        )
    })
}

/// The calls around registration (create, finalize): the status decides as
/// for registration, any 4xx is a rejection, and a 2xx hands back its body.
pub fn classify_other(answer: &Answer) -> Result<&[u8], Outcome> {
    if let Some(by_status) = Outcome::from_status(answer.status, answer.retry_after.as_deref()) {
        return Err(by_status);
    }
    let status = answer.status;
    match &answer.body {
        Body::Complete(b) if (400..=499).contains(&status) => Err(Outcome::Rejected {
            status,
            message: parse_json_object::<RegistrationResponse>(b)
                .ok()
                .and_then(|r| server_message(&r))
                .unwrap_or_else(|| format!("HTTP {status}")),
        }),
        _ if (400..=499).contains(&status) => Err(Outcome::Rejected {
            status,
            message: format!("HTTP {status}"),
        }),
        Body::Complete(b) => Ok(b),
        Body::OverCap { cap } => Err(Outcome::BadResponse {
            reason: format!("HTTP {status} answer longer than {cap} bytes"),
        }),
        Body::Broken { reason } => Err(Outcome::UnknownDelivery {
            reason: format!("HTTP {status} answer cut off: {reason}"),
        }),
    }
}

/// A refusal with a message: a face-quality retake, "already registered",
/// or a plain rejection.
pub(crate) fn refusal(status: u16, message: String) -> Outcome {
    if let Some(quality) = FaceQuality::from_message(&message) {
        Outcome::Retake { quality }
    } else if means_already_registered(&message) {
        Outcome::AlreadyRegistered { message }
    } else {
        Outcome::Rejected { status, message }
    }
}

/// `result.message`, falling back to `message` (as the official SDK does),
/// cleaned for display.
pub(crate) fn server_message(r: &RegistrationResponse) -> Option<String> {
    r.result
        .as_ref()
        .and_then(|b| b.message.as_deref())
        .or(r.message.as_deref())
        .map(clean_server_text)
        .filter(|m| !m.is_empty())
}

/// Parses a JSON object body; the error says what it looked like instead,
/// without quoting it.
pub(crate) fn parse_json_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.is_empty() {
        return Err("is empty".to_owned());
    }
    if trimmed[0] == b'<' {
        return Err("is HTML or XML, not JSON".to_owned());
    }
    if trimmed[0] != b'{' {
        return Err("is not a JSON object".to_owned());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON ({e})"))
}

impl Outcome {
    /// One outcome of each class, in the order of the enum (for tests here
    /// and in the daemon, which must agree with every class).
    #[cfg(test)]
    pub(crate) fn one_of_each() -> Vec<Outcome> {
        vec![
            Outcome::Registered {
                face_id: "f".into(),
                associated_verification_id: None,
                image_url: None,
                timestamp: None,
            },
            Outcome::RegisteredReview {
                face_id: "f".into(),
                associated_verification_id: None,
                timestamp: None,
                screening: Box::new(Screening::one_match()),
            },
            Outcome::AlreadyRegistered {
                message: "m".into(),
            },
            Outcome::Retake {
                quality: FaceQuality::NoFace,
            },
            Outcome::Rejected {
                status: 200,
                message: "m".into(),
            },
            Outcome::Unauthorized { status: 401 },
            Outcome::RateLimited {
                retry_after_s: None,
            },
            Outcome::ServerError {
                status: 500,
                retry_after_s: None,
            },
            Outcome::WrongEndpoint { status: 404 },
            Outcome::BadResponse { reason: "r".into() },
            Outcome::NotSent { reason: "r".into() },
            Outcome::UnknownDelivery { reason: "r".into() },
        ]
    }
}

#[cfg(test)]
mod tests;
