//! The registration call in each API version IDMeta offers, behind one interface: which path,
//! which body, and what an answer becomes. The rest of enrolld sees [`ApiVersion`] and an
//! [`Outcome`] of the same classes whichever version spoke; nothing outside `api` asks which.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`ApiVersion`] (`api.version`), the interface, and what both versions share: the HTTP status first, a body cut off or too long, a refusal's message |
//! | `v1.rs`, `v1/tests.rs` | `POST /api/v1/verification/biometricsregistration`: its body and its answers; their tests |
//! | `v3.rs`, `v3/tests.rs` | `POST /api/v3/verifications/biometrics-detection`: its body, its answers, the watchlist screening; their tests |
//! | `tests.rs` | what both versions decide alike, and the interface (bodies, paths, `api.version`) |
//!
//! Create-verification and finalize-verification are the same calls in both versions (IDMeta
//! documents them on their v1 paths only); `client.rs` makes them.

mod v1;
mod v3;

pub use v3::trust_flow_id as check_trust_flow_id;

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::outcome::{Answer, Body, Outcome, parse_json_object};
use super::wire::JPEG_DATA_URI_PREFIX;

/// Which registration API the terminal speaks (`api.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    /// `biometricsregistration` (IDMeta's "legacy" API; the default, so an upgrade changes
    /// nothing until a site chooses).
    #[default]
    V1,
    /// `biometrics-detection`: registration plus watchlist screening.
    V3,
}

impl ApiVersion {
    /// The number `api.version` takes.
    pub fn number(self) -> u8 {
        match self {
            ApiVersion::V1 => 1,
            ApiVersion::V3 => 3,
        }
    }

    /// The path of the registration call.
    pub fn registration_path(self) -> &'static str {
        match self {
            ApiVersion::V1 => super::wire::REGISTRATION_PATH,
            ApiVersion::V3 => super::wire_v3::REGISTRATION_V3_PATH,
        }
    }

    /// What `check-config` says about the choice.
    pub fn explain(self) -> &'static str {
        match self {
            ApiVersion::V1 => {
                "1: POST /api/v1/verification/biometricsregistration with the username; IDMeta \
                 calls it its legacy API (api.version = 3 moves to biometrics-detection)"
            }
            ApiVersion::V3 => {
                "3: POST /api/v3/verifications/biometrics-detection with api.template_id as the \
                 integer trustFlowId; the username stays on this terminal (IDMeta knows the \
                 enrollment by its verification id); watchlist matches are flagged as \
                 registered_review"
            }
        }
    }

    /// The JSON body of one registration of `jpeg` (as a base64 data URI) for `sent`, and the
    /// username (v1 sends it; v3's documented request has no place for it).
    ///
    /// `Err`: v3's `trustFlowId` is an integer and `sent.template_id` is not one (the
    /// configuration check refuses such a file, so only a caller bypassing it sees this).
    pub fn registration_body(
        self,
        jpeg: &[u8],
        username: &str,
        sent: &Sent<'_>,
    ) -> Result<Vec<u8>, String> {
        let mut image = String::with_capacity(JPEG_DATA_URI_PREFIX.len() + jpeg.len() * 4 / 3 + 4);
        image.push_str(JPEG_DATA_URI_PREFIX);
        base64::engine::general_purpose::STANDARD.encode_string(jpeg, &mut image);
        match self {
            ApiVersion::V1 => Ok(v1::body(&image, username, sent)),
            ApiVersion::V3 => v3::body(&image, sent),
        }
    }

    /// What an answer to the registration `sent` says.
    pub fn classify(self, answer: &Answer, sent: &Sent<'_>) -> Outcome {
        match self {
            ApiVersion::V1 => v1::classify(answer, sent),
            ApiVersion::V3 => v3::classify(answer, sent),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// `api.version = 1` or `3`; anything else is refused naming both.
impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i64::deserialize(d)? {
            1 => Ok(ApiVersion::V1),
            3 => Ok(ApiVersion::V3),
            other => Err(serde::de::Error::custom(format!(
                "must be 1 (IDMeta's v1 biometricsregistration) or 3 (v3 biometrics-detection), \
                 not {other}"
            ))),
        }
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

/// What a registration request named, which its answer must name back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent<'a> {
    pub verification_id: &'a str,
    pub template_id: &'a str,
}

/// A registration answer once its HTTP status and the reading of its body are known: what
/// both versions decide the same way, and what each reads from the body.
enum Front<'a> {
    /// The status (or a body cut off or too long) decided.
    Decided(Outcome),
    /// A 4xx: a refusal whatever the body says; the body, if it came whole, for its message.
    Refused { status: u16, body: &'a [u8] },
    /// A 2xx whose body came whole and is a JSON object.
    Answered {
        status: u16,
        body: serde_json::Value,
    },
}

fn front(answer: &Answer) -> Front<'_> {
    if let Some(by_status) = Outcome::from_status(answer.status, answer.retry_after.as_deref()) {
        return Front::Decided(by_status);
    }
    let status = answer.status;
    let client_error = (400..=499).contains(&status);
    match &answer.body {
        Body::Complete(body) if client_error => Front::Refused { status, body },
        Body::Complete(body) => match parse_json_object(body) {
            Ok(body) => Front::Answered { status, body },
            Err(reason) => Front::Decided(Outcome::BadResponse {
                reason: format!("HTTP {status} answer {reason}"),
            }),
        },
        // A 4xx is a refusal whatever its body was.
        Body::Broken { .. } | Body::OverCap { .. } if client_error => {
            Front::Refused { status, body: &[] }
        }
        // A 2xx whose body broke off: IDMeta may well have registered the face, and we do
        // not know its id. That is not a bad answer, it is an unknown one.
        Body::Broken { reason } => Front::Decided(Outcome::UnknownDelivery {
            reason: format!("HTTP {status} answer cut off: {reason}"),
        }),
        Body::OverCap { cap } => Front::Decided(Outcome::BadResponse {
            reason: format!("HTTP {status} answer longer than {cap} bytes"),
        }),
    }
}

/// A 2xx answer in the other version's envelope: never a registration, and the words say what
/// was expected, so the operator looks at `api.version` (or at what answers in IDMeta's place).
fn other_envelope(status: u16, found: ApiVersion, expected: ApiVersion) -> Outcome {
    let shape = |v: ApiVersion| match v {
        ApiVersion::V1 => "v1's envelope (`status`, `result`)",
        ApiVersion::V3 => "v3's envelope (`success`, `data`)",
    };
    Outcome::BadResponse {
        reason: format!(
            "HTTP {status} answer has {}, not the {} expected for api.version = {expected}: \
             check api.version and api.base_url",
            shape(found),
            shape(expected)
        ),
    }
}

#[cfg(test)]
mod tests;
