//! v1's registration, `POST /api/v1/verification/biometricsregistration`: the four documented
//! fields, and what each answer becomes (the table in docs/architecture.md).

use serde_json::Value;

use super::{ApiVersion, Front, Sent, front, other_envelope};
use crate::api::outcome::{
    Outcome, means_already_registered, parse_json_object, refusal, server_message,
};
use crate::api::sanitize::clean_server_text;
use crate::api::wire::{ApiRequestInfo, RegisteredFace, RegistrationRequest, RegistrationResponse};

pub(super) fn body(image: &str, username: &str, sent: &Sent<'_>) -> Vec<u8> {
    // Structs of strings always serialize.
    serde_json::to_vec(&RegistrationRequest {
        image,
        username,
        template_id: sent.template_id,
        verification_id: sent.verification_id,
    })
    .unwrap_or_default()
}

/// Classifies a biometricsregistration answer to the request `sent`.
pub(super) fn classify(answer: &crate::api::outcome::Answer, sent: &Sent<'_>) -> Outcome {
    let (status, value) = match front(answer) {
        Front::Decided(outcome) => return outcome,
        Front::Refused { status, body } => {
            let message = parse_json_object(body)
                .ok()
                .and_then(|r| server_message(&r))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return refusal(status, message);
        }
        Front::Answered { status, body } => (status, body),
    };
    if is_v3_envelope(&value) {
        return other_envelope(status, ApiVersion::V3, ApiVersion::V1);
    }
    // An object always reads: every field is optional and lenient.
    let response: RegistrationResponse = serde_json::from_value(value).unwrap_or_default();
    let failed = response.status == Some(false)
        || response
            .result
            .as_ref()
            .and_then(|r| r.status.as_deref())
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("failed"));
    let message = server_message(&response);
    if failed {
        return refusal(
            status,
            message.unwrap_or_else(|| "failed without a message".to_owned()),
        );
    }
    let api_request = response.api_request;
    let face = response.result.and_then(|r| r.result);
    let face_id = face
        .as_ref()
        .and_then(|f| f.face_id.as_deref())
        .map(str::trim)
        .filter(|id| !id.is_empty());
    match (face_id, face.as_ref()) {
        (Some(_), Some(face))
            if let Some(reason) = names_another(sent, face, api_request.as_ref()) =>
        {
            Outcome::UnknownDelivery { reason }
        }
        (Some(id), Some(face)) => Outcome::Registered {
            face_id: clean_server_text(id),
            associated_verification_id: face
                .associated_verification_id
                .as_deref()
                .map(clean_server_text),
            image_url: face.image_url.as_deref().map(clean_server_text),
            timestamp: face.timestamp.as_deref().map(clean_server_text),
        },
        _ => match message {
            Some(m) if means_already_registered(&m) => Outcome::AlreadyRegistered { message: m },
            _ => Outcome::BadResponse {
                reason: format!("HTTP {status} answer has no faceId"),
            },
        },
    }
}

/// v3's envelope: `success` or `data`, and none of v1's own keys.
fn is_v3_envelope(value: &Value) -> bool {
    let has = |k: &str| value.get(k).is_some();
    (has("success") || has("data")) && !has("status") && !has("result") && !has("apiRequest")
}

/// A success that names another verification or trust flow than the one
/// sent is an answer to another request (a proxy or gateway mixed answers
/// up): it does not say this person was registered, nor that they were
/// not. Fields the answer leaves out are not held against it.
fn names_another(
    sent: &Sent<'_>,
    face: &RegisteredFace,
    api_request: Option<&ApiRequestInfo>,
) -> Option<String> {
    let checks = [
        (
            "result.result.associatedVerificationId",
            face.associated_verification_id.as_deref(),
            sent.verification_id,
        ),
        (
            "apiRequest.verification_id",
            api_request.and_then(|r| r.verification_id.as_deref()),
            sent.verification_id,
        ),
        (
            "apiRequest.template_id",
            api_request.and_then(|r| r.template_id.as_deref()),
            sent.template_id,
        ),
    ];
    crate::api::outcome::another_request(checks)
}

#[cfg(test)]
mod tests;
