//! The JSON IDMeta's v1 API speaks (registration, and the create and finalize calls both
//! versions use), as serde types; v3's registration is in `wire_v3`.
//!
//! Requests are written exactly as documented. Responses are read leniently:
//! unknown fields are ignored, and every field we read tolerates the type
//! drift seen in the docs (numbers where strings were documented, strings
//! where booleans or integer codes were), so an answer never fails to parse
//! because of a field we only glance at. A field of an unexpected type reads
//! as absent. `apiRequest` is informational and only kept for logs.
//!
//! None of these types derives `Debug` on the request side: a request holds
//! the face as base64 and must not be printable by accident.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub const REGISTRATION_PATH: &str = "/api/v1/verification/biometricsregistration";
pub const CREATE_VERIFICATION_PATH: &str = "/api/v1/verification/create-verification";
pub const FINALIZE_VERIFICATION_PATH: &str = "/api/v1/verification/finalize-verification";

/// The prefix of the `image` field.
pub const JPEG_DATA_URI_PREFIX: &str = "data:image/jpeg;base64,";

/// `POST biometricsregistration` body: exactly the four documented fields.
#[derive(Serialize)]
pub struct RegistrationRequest<'a> {
    pub image: &'a str,
    pub username: &'a str,
    pub template_id: &'a str,
    pub verification_id: &'a str,
}

/// `POST create-verification` body (`metadata` is optional and not sent).
#[derive(Serialize)]
pub struct CreateVerificationRequest<'a> {
    pub template_id: &'a str,
}

/// `POST finalize-verification` body.
#[derive(Serialize)]
pub struct FinalizeVerificationRequest<'a> {
    pub template_id: &'a str,
    pub verification_id: &'a str,
}

/// The envelope of a registration answer, and of most error bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationResponse {
    #[serde(deserialize_with = "loose_bool")]
    pub status: Option<bool>,
    #[serde(deserialize_with = "loose_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "loose")]
    pub result: Option<RegistrationOutcomeBlock>,
    #[serde(rename = "apiRequest", deserialize_with = "loose")]
    pub api_request: Option<ApiRequestInfo>,
}

/// `result`: the operation's own status and message, and the registration.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationOutcomeBlock {
    #[serde(deserialize_with = "loose_text")]
    pub status: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "loose")]
    pub result: Option<RegisteredFace>,
}

/// `result.result`: what a successful registration returns.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisteredFace {
    #[serde(deserialize_with = "loose_text")]
    pub face_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub associated_verification_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub image_url: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub timestamp: Option<String>,
}

/// `apiRequest`: informational, but its `verification_id` and `template_id`
/// must be the request's. `template_id` arrives as an integer and
/// `api_request_status` as a string or an integer code; both read as text.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiRequestInfo {
    #[serde(deserialize_with = "loose_text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub template_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub verification_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub api_request_status: Option<String>,
}

/// `create-verification` answer: only `verification.id` matters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateVerificationResponse {
    #[serde(deserialize_with = "loose_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "loose")]
    pub verification: Option<VerificationInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerificationInfo {
    #[serde(deserialize_with = "loose_text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub status: Option<String>,
    /// An integer in the documented answers; read as text.
    #[serde(deserialize_with = "loose_text")]
    pub template_id: Option<String>,
}

/// `finalize-verification` answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FinalizeVerificationResponse {
    #[serde(deserialize_with = "loose_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub status: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub status_message: Option<String>,
    #[serde(deserialize_with = "loose_bool")]
    pub finalized: Option<bool>,
    #[serde(deserialize_with = "loose")]
    pub verification: Option<VerificationInfo>,
}

/// Any JSON value; reads as `None` when it does not fit `T`.
pub(super) fn loose<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A string, or a number or boolean written as text; anything else is absent.
pub(super) fn loose_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// `true`/`false`, `"true"`/`"false"`, `1`/`0`, `"success"`/`"failed"`.
pub(super) fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "success" | "ok" => Some(true),
            "false" | "0" | "failed" | "error" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    // The documented answer, verbatim, as the stand-in keeps it from the API reference.
    use enrolld_standin::documented::REGISTRATION_OK;

    use super::*;

    #[test]
    fn documented_body_parses_with_its_type_drift() {
        let r: RegistrationResponse = serde_json::from_str(REGISTRATION_OK).unwrap();
        assert_eq!(r.status, Some(true));
        let face = r.result.unwrap().result.unwrap();
        assert_eq!(face.face_id.as_deref(), Some("face_abc123xyz"));
        assert_eq!(
            face.associated_verification_id.as_deref(),
            Some("1234567890abcdef")
        );
        let info = r.api_request.unwrap();
        assert_eq!(info.template_id.as_deref(), Some("129"));
        assert_eq!(info.api_request_status.as_deref(), Some("SUCCESS"));
    }

    #[test]
    fn wrong_types_read_as_absent_instead_of_failing() {
        let body =
            r#"{"status":"false","message":["odd"],"result":"nope","apiRequest":7,"extra":{}}"#;
        let r: RegistrationResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.status, Some(false));
        assert!(r.message.is_none() && r.result.is_none() && r.api_request.is_none());

        let body = r#"{"result":{"status":1,"result":{"faceId":12345,"imageUrl":null}}}"#;
        let r: RegistrationResponse = serde_json::from_str(body).unwrap();
        let block = r.result.unwrap();
        assert_eq!(block.status.as_deref(), Some("1"));
        assert_eq!(block.result.unwrap().face_id.as_deref(), Some("12345"));
    }

    #[test]
    fn api_request_status_as_integer_code() {
        let body = r#"{"apiRequest":{"api_request_status":2,"template_id":"129"}}"#;
        let r: RegistrationResponse = serde_json::from_str(body).unwrap();
        assert_eq!(
            r.api_request.unwrap().api_request_status.as_deref(),
            Some("2")
        );
    }

    #[test]
    fn request_body_is_exactly_the_documented_fields() {
        let body = serde_json::to_value(RegistrationRequest {
            image: "data:image/jpeg;base64,AA==",
            username: "u",
            template_id: "129",
            verification_id: "v",
        })
        .unwrap();
        let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["image", "template_id", "username", "verification_id"]
        );
    }

    #[test]
    fn create_and_finalize_answers_parse() {
        let c: CreateVerificationResponse = serde_json::from_str(
            r#"{"message":"created","verification":{"id":"3f1c-uuid","status":99,"template_id":129},"plans":[1]}"#,
        )
        .unwrap();
        let v = c.verification.unwrap();
        assert_eq!(
            (v.id.as_deref(), v.status.as_deref()),
            (Some("3f1c-uuid"), Some("99"))
        );
        let f: FinalizeVerificationResponse = serde_json::from_str(
            r#"{"message":"ok","status":2,"status_message":"REVIEW_NEEDED","finalized":true,"missing_plans":[]}"#,
        )
        .unwrap();
        assert_eq!(f.finalized, Some(true));
        assert_eq!(f.status_message.as_deref(), Some("REVIEW_NEEDED"));
    }
}
