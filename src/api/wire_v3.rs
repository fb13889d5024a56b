//! The JSON of IDMeta's v3 registration (`biometrics-detection`), as serde types.
//!
//! The same rules as `wire`: the request is written exactly as the documented example (camelCase,
//! `trustFlowId` an integer, no `username` although the page's field list still names it), the
//! answer is read leniently (unknown fields ignored, a field of an unexpected type reads as
//! absent). The request holds the face as base64, so it derives no `Debug`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::{loose, loose_bool, loose_text};

/// `POST`: register a face and screen it against the site's watchlists.
pub const REGISTRATION_V3_PATH: &str = "/api/v3/verifications/biometrics-detection";

/// The body, in the documented example's order: `image`, `trustFlowId`, `trustValidationId`.
#[derive(Serialize)]
pub struct DetectionRequest<'a> {
    pub image: &'a str,
    #[serde(rename = "trustFlowId")]
    pub trust_flow_id: i64,
    /// The verification created beforehand (the dashboard calls it a trust validation).
    #[serde(rename = "trustValidationId")]
    pub trust_validation_id: &'a str,
}

/// The answer's envelope: `success`, `message`, `data`, and the trust validation's status.
/// `errors` is not documented for v3; a validation refusal (Laravel's 422) carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DetectionResponse {
    #[serde(deserialize_with = "loose_bool")]
    pub success: Option<bool>,
    #[serde(deserialize_with = "loose_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "loose")]
    pub data: Option<DetectionData>,
    #[serde(deserialize_with = "loose_text")]
    pub verification_status: Option<String>,
    /// 1 rejected, 2 review needed, 3 verified, 4 incomplete, 5 in progress.
    #[serde(deserialize_with = "loose_text")]
    pub verification_status_code: Option<String>,
    /// An integer in the documented answer; read as text.
    #[serde(deserialize_with = "loose_text")]
    pub trust_flow_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub trust_validation_id: Option<String>,
    /// `{"field": ["The field is required."], ...}` on a validation refusal.
    pub errors: Option<Value>,
}

/// `data`: the enrollment and the screening.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetectionData {
    #[serde(deserialize_with = "loose")]
    pub enroll: Option<Enrolled>,
    #[serde(deserialize_with = "loose")]
    pub screen: Option<Screen>,
}

/// `data.enroll`: the record the face was enrolled as.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Enrolled {
    #[serde(deserialize_with = "loose_text")]
    pub reference_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub record_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub enrolled_at: Option<String>,
}

/// `data.screen`: one entry per watchlist checked. Each entry is read on its own, so one
/// malformed entry does not hide the others.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Screen {
    #[serde(deserialize_with = "loose")]
    pub watchlists: Option<Vec<Value>>,
}

/// One entry of `data.screen.watchlists`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Watchlist {
    #[serde(deserialize_with = "loose_bool")]
    pub has_matches: Option<bool>,
    #[serde(deserialize_with = "loose_text")]
    pub watchlist_id: Option<String>,
    #[serde(deserialize_with = "loose")]
    pub matches: Option<Vec<Value>>,
}

/// One entry of a watchlist's `matches`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Match {
    #[serde(deserialize_with = "loose_text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub reference_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub record_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub similarity_score: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    pub enrolled_at: Option<String>,
}

/// Reads `value` as `T`, or `T::default()` when it does not fit (lenient, like the fields).
pub fn read_loosely<T: serde::de::DeserializeOwned + Default>(value: &Value) -> T {
    T::deserialize(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    // The documented answer, verbatim, as the stand-in keeps it from the API reference.
    use enrolld_standin::documented::REGISTRATION_V3_OK;

    use super::*;

    #[test]
    fn documented_answer_parses() {
        let r: DetectionResponse = serde_json::from_str(REGISTRATION_V3_OK).unwrap();
        assert_eq!(r.success, Some(true));
        assert_eq!(r.verification_status_code.as_deref(), Some("2"));
        assert_eq!(r.trust_flow_id.as_deref(), Some("0"));
        let data = r.data.unwrap();
        let enroll = data.enroll.unwrap();
        assert_eq!(enroll.record_id.as_deref(), Some("1"));
        let lists = data.screen.unwrap().watchlists.unwrap();
        let first: Watchlist = read_loosely(&lists[0]);
        assert_eq!(first.has_matches, Some(true));
        let m: Match = read_loosely(&first.matches.unwrap()[0]);
        assert_eq!(m.similarity_score.as_deref(), Some("99"));
        assert!(m.name.is_none(), "null reads as absent");
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let body = r#"{"success":"true","data":{"enroll":5,"screen":{"watchlists":{"a":1}}},"verificationStatusCode":"3","extra":[]}"#;
        let r: DetectionResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.success, Some(true));
        let data = r.data.unwrap();
        assert!(data.enroll.is_none());
        assert!(data.screen.unwrap().watchlists.is_none());
        let w: Watchlist = read_loosely(&serde_json::json!("not an object"));
        assert!(w.has_matches.is_none());
    }

    #[test]
    fn request_body_is_the_documented_example_byte_for_byte() {
        let body = serde_json::to_string(&DetectionRequest {
            image: "data:image/jpeg;base64,AA==",
            trust_flow_id: 0,
            trust_validation_id: "v-1",
        })
        .unwrap();
        assert_eq!(
            body,
            r#"{"image":"data:image/jpeg;base64,AA==","trustFlowId":0,"trustValidationId":"v-1"}"#
        );
    }
}
