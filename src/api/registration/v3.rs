//! v3's registration, `POST /api/v3/verifications/biometrics-detection`: the documented example's
//! three fields, and what each answer becomes, in the outcome classes v1's answers have.
//!
//! | answer | outcome |
//! |---|---|
//! | a status that decides alone (401, 404, 429, 5xx, a redirect), or a 2xx cut off or too long | as for v1 |
//! | a 4xx, or a 2xx with `success: false` | `retake` for a face-quality message, `already_registered` for "already registered", else `rejected`; a request for a field (`username`: the page's stale field list) is a rejection naming it |
//! | a 2xx naming another `trustValidationId` or `trustFlowId` than the one sent | `unknown_delivery` |
//! | `success: true`, `verificationStatusCode` 1 (rejected) | `rejected`, saying whether the screening matched |
//! | `success: true` with `data.enroll`, a watchlist with `hasMatches: true` | `registered_review` |
//! | `success: true` with `data.enroll` (status 2, 3, or any other) | `registered` |
//! | `success: true` without `data.enroll` | `already_registered` when the message says so, else `bad_response` |
//! | v1's envelope, or no `success` | `bad_response` naming what was expected |

use serde_json::Value;

use super::{ApiVersion, Front, Sent, front, other_envelope};
use crate::api::outcome::{Answer, Outcome, another_request, parse_json_object, refusal};
use crate::api::sanitize::clean_server_text;
use crate::api::screening::{MAX_KEPT_MATCHES, ScreenMatch, Screening};
use crate::api::wire_v3::{
    DetectionData, DetectionRequest, DetectionResponse, Match, Watchlist, read_loosely,
};

/// `verificationStatusCode` of a rejected trust validation.
const REJECTED: &str = "1";

pub(super) fn body(image: &str, sent: &Sent<'_>) -> Result<Vec<u8>, String> {
    let trust_flow_id = trust_flow_id(sent.template_id)?;
    // A struct of strings and an integer always serializes.
    Ok(serde_json::to_vec(&DetectionRequest {
        image,
        trust_flow_id,
        trust_validation_id: sent.verification_id,
    })
    .unwrap_or_default())
}

/// The trust flow id as v3 sends it: an integer.
pub fn trust_flow_id(template_id: &str) -> Result<i64, String> {
    template_id.trim().parse().map_err(|_| {
        format!(
            "`{}` is not a whole number; api.version = 3 sends it as the integer trustFlowId",
            clean_server_text(template_id)
        )
    })
}

pub(super) fn classify(answer: &Answer, sent: &Sent<'_>) -> Outcome {
    let (status, value) = match front(answer) {
        Front::Decided(outcome) => return outcome,
        Front::Refused { status, body } => {
            let response = parse_json_object::<Value>(body)
                .map(|v| read_loosely::<DetectionResponse>(&v))
                .unwrap_or_default();
            return refused(status, &response);
        }
        Front::Answered { status, body } => (status, body),
    };
    let response: DetectionResponse = read_loosely(&value);
    match response.success {
        None if is_v1_envelope(&value) => {
            return other_envelope(status, ApiVersion::V1, ApiVersion::V3);
        }
        None => {
            return Outcome::BadResponse {
                reason: format!("HTTP {status} answer has no `success`"),
            };
        }
        Some(false) => return refused(status, &response),
        Some(true) => {}
    }
    let checks = [
        (
            "trustValidationId",
            response.trust_validation_id.as_deref(),
            sent.verification_id,
        ),
        (
            "trustFlowId",
            response.trust_flow_id.as_deref(),
            sent.template_id,
        ),
    ];
    if let Some(reason) = another_request(checks) {
        return Outcome::UnknownDelivery { reason };
    }
    let message = message(&response);
    let data = response.data.unwrap_or_default();
    let screening = screening(&data, response.verification_status.as_deref());
    if response.verification_status_code.as_deref().map(str::trim) == Some(REJECTED) {
        return Outcome::Rejected {
            status,
            message: rejected_message(&screening, message.as_deref()),
        };
    }
    let enroll = data.enroll.unwrap_or_default();
    let face_id = [&enroll.reference_id, &enroll.record_id]
        .into_iter()
        .flatten()
        .map(|id| id.trim())
        .find(|id| !id.is_empty());
    let Some(face_id) = face_id else {
        return match message {
            Some(m) if crate::api::outcome::means_already_registered(&m) => {
                Outcome::AlreadyRegistered { message: m }
            }
            _ => Outcome::BadResponse {
                reason: format!("HTTP {status} answer has no data.enroll.referenceId"),
            },
        };
    };
    let face_id = clean_server_text(face_id);
    // The trust validation this registration belongs to: the one sent (checked above).
    let associated_verification_id = Some(clean_server_text(sent.verification_id));
    let timestamp = enroll.enrolled_at.as_deref().map(clean_server_text);
    if screening.matched() {
        Outcome::RegisteredReview {
            face_id,
            associated_verification_id,
            timestamp,
            screening: Box::new(screening),
        }
    } else {
        Outcome::Registered {
            face_id,
            associated_verification_id,
            image_url: None,
            timestamp,
        }
    }
}

/// v1's envelope: any of v1's own keys, none of v3's (`success` was already found missing).
fn is_v1_envelope(value: &Value) -> bool {
    let has = |k: &str| value.get(k).is_some();
    (has("status") || has("result") || has("apiRequest")) && !has("data")
}

/// `message`, cleaned for display.
fn message(r: &DetectionResponse) -> Option<String> {
    r.message
        .as_deref()
        .map(clean_server_text)
        .filter(|m| !m.is_empty())
}

/// A refusal (a 4xx, or `success: false`): a retake, "already registered", a field the server
/// wants that the documented request does not have, or a plain rejection.
fn refused(status: u16, response: &DetectionResponse) -> Outcome {
    let message = message(response);
    let wanted = fields_asked_for(response);
    if !wanted.is_empty() {
        let fields = wanted
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Outcome::Rejected {
            status,
            message: format!(
                "IDMeta asks for {fields}, which its documented v3 request does not have{}: \
                 set api.version = 1 until IDMeta's v3 accepts the documented request",
                message
                    .map(|m| format!(" ({})", shortened(&m, QUOTED_MESSAGE_CHARS)))
                    .unwrap_or_default()
            ),
        };
    }
    refusal(
        status,
        message.unwrap_or_else(|| {
            if (400..=499).contains(&status) {
                format!("HTTP {status}")
            } else {
                "failed without a message".to_owned()
            }
        }),
    )
}

/// How much of the server's own message a refusal naming fields quotes: the whole text, with
/// at most three fields of at most 32 characters, stays within what an outcome may carry.
const QUOTED_MESSAGE_CHARS: usize = 80;

/// `text` cut to `max` characters, the cut shown by an ellipsis.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The fields a validation refusal asks for: the keys of `errors` (Laravel's 422), or the `X`
/// of a message "The X field is required." Cleaned, at most three of at most 32 characters.
fn fields_asked_for(response: &DetectionResponse) -> Vec<String> {
    let mut fields: Vec<String> = match &response.errors {
        Some(Value::Object(errors)) => errors.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if fields.is_empty()
        && let Some(message) = &response.message
    {
        let lower = message.to_ascii_lowercase();
        if let Some(at) = lower.find(" field is required") {
            let before = &message[..at];
            if let Some(field) = before.split_whitespace().last() {
                fields.push(field.to_owned());
            }
        }
    }
    fields
        .iter()
        .map(|f| clean_server_text(f))
        .filter(|f| !f.is_empty() && f.chars().count() <= 32)
        .take(3)
        .collect()
}

/// What the screening found, from `data.screen.watchlists`.
fn screening(data: &DetectionData, verification_status: Option<&str>) -> Screening {
    let mut matches = 0u32;
    let mut details = Vec::new();
    let watchlists = data
        .screen
        .as_ref()
        .and_then(|s| s.watchlists.as_deref())
        .unwrap_or_default();
    for entry in watchlists {
        let list: Watchlist = read_loosely(entry);
        let listed = list.matches.unwrap_or_default();
        // `hasMatches` decides; a list that leaves it out but lists matches is believed.
        let flagged = list.has_matches.unwrap_or(!listed.is_empty());
        if !flagged {
            continue;
        }
        matches = matches.saturating_add(u32::try_from(listed.len().max(1)).unwrap_or(u32::MAX));
        let clean = |s: Option<String>| s.as_deref().map(clean_server_text);
        for m in &listed {
            if details.len() == MAX_KEPT_MATCHES {
                break;
            }
            let m: Match = read_loosely(m);
            details.push(ScreenMatch {
                watchlist_id: clean(list.watchlist_id.clone()),
                name: clean(m.name),
                reference_id: clean(m.reference_id),
                record_id: clean(m.record_id),
                similarity_score: clean(m.similarity_score),
                enrolled_at: clean(m.enrolled_at),
            });
        }
    }
    Screening {
        matches,
        verification_status: verification_status.map(clean_server_text),
        details,
    }
}

/// A rejected trust validation, in words: IDMeta's message, and whether the screening matched
/// (the count only: whom is for the operator's review, never a log line).
fn rejected_message(screening: &Screening, message: Option<&str>) -> String {
    let mut text = format!(
        "IDMeta rejected the trust validation ({})",
        screening
            .verification_status
            .as_deref()
            .unwrap_or("REJECTED")
    );
    if screening.matched() {
        text.push_str(&format!(
            "; its watchlist screening matched {} record(s)",
            screening.matches
        ));
    }
    if let Some(m) = message {
        text.push_str(": ");
        text.push_str(m);
    }
    text
}

#[cfg(test)]
mod tests;
