//! The IDMeta client: the three calls the terminal makes, each returning a
//! classified [`Outcome`] rather than a transport error. The registration is
//! made in the configured API version (`registration`); create and finalize
//! are the same in both.
//!
//! Nothing here logs or formats the token, the image or its base64: the
//! request body lives only in a local buffer handed to the socket, the
//! `Authorization` header is marked sensitive, and every text that came from
//! the server is cleaned and scrubbed of the token before it is returned.

use std::time::Duration;

use serde::Serialize;
use ureq::http::HeaderValue;

use super::config::ApiConfig;
use super::outcome::{Answer, Body, Outcome, classify_other, names_other, parse_json_object};
use super::registration::{ApiVersion, Sent};
use super::sanitize::clean_server_text;
use super::transport::{TransportSettings, agent_for_one_call, classify_transport_error, describe};
use super::url::BaseUrl;
use super::wire::{
    CREATE_VERIFICATION_PATH, CreateVerificationRequest, CreateVerificationResponse,
    FINALIZE_VERIFICATION_PATH, FinalizeVerificationRequest, FinalizeVerificationResponse,
};
use super::{ApiError, tls};
use crate::secret::ApiToken;

/// Response bodies are read up to this many bytes; a longer one is refused.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Longest verification id accepted from create-verification (a UUID is 36).
const MAX_VERIFICATION_ID_CHARS: usize = 128;

/// What finalize-verification answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finalized {
    pub finalized: Option<bool>,
    pub status: Option<String>,
    pub status_message: Option<String>,
}

/// A configured IDMeta client. Cheap to share by reference across threads;
/// each call opens its own connection.
#[derive(Debug)]
pub struct Client {
    base: BaseUrl,
    version: ApiVersion,
    template_id: String,
    token: ApiToken,
    transport: TransportSettings,
}

impl Client {
    pub fn new(config: &ApiConfig, token: ApiToken) -> Result<Client, ApiError> {
        let base = BaseUrl::parse(&config.base_url).map_err(ApiError::BaseUrl)?;
        if config.version == ApiVersion::V3 {
            super::registration::check_trust_flow_id(&config.template_id)
                .map_err(ApiError::TemplateId)?;
        }
        let tls = tls::client_config(config)?;
        Ok(Client {
            base,
            version: config.version,
            template_id: config.template_id.clone(),
            token,
            transport: TransportSettings {
                tls,
                connect_timeout: Duration::from_millis(config.connect_timeout_ms),
                request_timeout: Duration::from_millis(config.request_timeout_ms),
            },
        })
    }

    /// The registration API this client speaks.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// The registration of one JPEG (`username` goes only where the version has a place for
    /// it: v1's body).
    pub fn register(&self, jpeg: &[u8], username: &str, verification_id: &str) -> Outcome {
        let sent = Sent {
            verification_id,
            template_id: &self.template_id,
        };
        let outcome = match self.version.registration_body(jpeg, username, &sent) {
            // Checked by `Client::new`: nothing left, nothing may be sent again.
            Err(reason) => Outcome::NotSent { reason },
            Ok(body) => match self.post_json(self.version.registration_path(), body) {
                Ok(answer) => self.version.classify(&answer, &sent),
                Err(outcome) => outcome,
            },
        };
        outcome.redact(self.token.expose())
    }

    /// `POST create-verification`; the new verification id.
    pub fn create_verification(&self) -> Result<String, Outcome> {
        let body = to_json(&CreateVerificationRequest {
            template_id: &self.template_id,
        });
        self.call(CREATE_VERIFICATION_PATH, body, |b| {
            read_created_verification(b, &self.template_id)
        })
    }

    /// `POST finalize-verification` for a verification after its registration.
    pub fn finalize_verification(&self, verification_id: &str) -> Result<Finalized, Outcome> {
        let body = to_json(&FinalizeVerificationRequest {
            template_id: &self.template_id,
            verification_id,
        });
        self.call(FINALIZE_VERIFICATION_PATH, body, |b| {
            read_finalized(b, verification_id)
        })
    }

    /// A call other than registration: status classification, then `read`
    /// on a 2xx body (its error becomes `bad_response`).
    fn call<T>(
        &self,
        path: &str,
        body: Vec<u8>,
        read: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, Outcome> {
        let token = self.token.expose();
        let answer = self.post_json(path, body).map_err(|o| o.redact(token))?;
        let bytes = classify_other(&answer).map_err(|o| o.redact(token))?;
        read(bytes).map_err(|reason| Outcome::BadResponse { reason }.redact(token))
    }

    /// Sends one JSON POST and reads the answer under the size cap. `Err` is
    /// a transport failure, already classified as sent or not.
    fn post_json(&self, path: &str, body: Vec<u8>) -> Result<Answer, Outcome> {
        let (agent, delivery) = agent_for_one_call(&self.transport);
        let result = agent
            .post(&self.base.join(path))
            .header("Authorization", self.authorization())
            .header("Content-Type", "application/json")
            .send(&body[..]);
        drop(body);
        let mut response = result.map_err(|e| classify_transport_error(&e, &delivery))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(clean_server_text);
        let body = match response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES as u64)
            .read_to_vec()
        {
            // The token is taken out before anything is parsed, cleaned or
            // cut: a message capped first could keep a piece of an echoed
            // token that the redaction of the outcome no longer recognises.
            Ok(bytes) => Body::Complete(redact_bytes(bytes, self.token.expose())),
            Err(ureq::Error::BodyExceedsLimit(_)) => Body::OverCap {
                cap: MAX_RESPONSE_BYTES,
            },
            Err(e) => Body::Broken {
                reason: describe(&e),
            },
        };
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn authorization(&self) -> HeaderValue {
        // A token is checked to be free of whitespace and control characters
        // when loaded, so it is always a valid header value.
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        value
    }
}

/// v1's registration body for one JPEG (`image` as a base64 data URI). Public for the
/// request-body benchmark.
pub fn registration_body(
    jpeg: &[u8],
    username: &str,
    template_id: &str,
    verification_id: &str,
) -> Vec<u8> {
    let sent = Sent {
        verification_id,
        template_id,
    };
    ApiVersion::V1
        .registration_body(jpeg, username, &sent)
        .unwrap_or_default()
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Structs of strings always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The verification id in a 2xx create-verification body for the trust
/// flow `template_id`; the error is a `bad_response` reason. A verification
/// of another trust flow is another request's: registering under it would
/// file this person under someone else's verification. Public for fuzzing.
pub fn read_created_verification(bytes: &[u8], template_id: &str) -> Result<String, String> {
    let r: CreateVerificationResponse = parse_json_object(bytes)
        .map_err(|reason| format!("create-verification answer {reason}"))?;
    let verification = r.verification.unwrap_or_default();
    let named = verification.template_id.as_deref();
    if let Some(other) = names_other("verification.template_id", named, template_id) {
        return Err(format!(
            "create-verification answer is for another request: {other}"
        ));
    }
    let id = verification.id.unwrap_or_default();
    let id = id.trim();
    let plausible = !id.is_empty()
        && id.chars().count() <= MAX_VERIFICATION_ID_CHARS
        && id.chars().all(|c| c.is_ascii_graphic());
    if plausible {
        Ok(id.to_owned())
    } else {
        Err("create-verification answer has no usable verification.id".to_owned())
    }
}

/// What a 2xx finalize-verification body says about `verification_id`
/// (an answer about another verification says nothing about this one).
/// Public for fuzzing.
pub fn read_finalized(bytes: &[u8], verification_id: &str) -> Result<Finalized, String> {
    let r: FinalizeVerificationResponse = parse_json_object(bytes)
        .map_err(|reason| format!("finalize-verification answer {reason}"))?;
    let named = r.verification.and_then(|v| v.id);
    if let Some(other) = names_other("verification.id", named.as_deref(), verification_id) {
        return Err(format!(
            "finalize-verification answer is for another request: {other}"
        ));
    }
    let clean = |s: Option<String>| s.as_deref().map(clean_server_text);
    Ok(Finalized {
        finalized: r.finalized,
        status: clean(r.status),
        status_message: clean(r.status_message),
    })
}

/// `bytes` with every occurrence of `secret` replaced by `[redacted]`.
fn redact_bytes(bytes: Vec<u8>, secret: &str) -> Vec<u8> {
    let secret = secret.as_bytes();
    if secret.is_empty() || !bytes.windows(secret.len()).any(|w| w == secret) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = &bytes[..];
    while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"[redacted]");
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn create_and_finalize_answers_for_another_request_are_refused() {
        let created = br#"{"verification":{"id":"v-1","template_id":129}}"#;
        assert_eq!(
            super::read_created_verification(created, "129").as_deref(),
            Ok("v-1")
        );
        let e = super::read_created_verification(created, "130").unwrap_err();
        assert!(
            e.contains("its verification.template_id is `129`, not the `130` sent"),
            "{e}"
        );
        let finalized = br#"{"verification":{"id":"v-1"},"finalized":true}"#;
        assert!(super::read_finalized(finalized, "v-1").is_ok());
        let e = super::read_finalized(finalized, "v-2").unwrap_err();
        assert!(
            e.contains("its verification.id is `v-1`, not the `v-2` sent"),
            "{e}"
        );
        // Left out: nothing to compare.
        assert!(super::read_finalized(br#"{"finalized":true}"#, "v-2").is_ok());
    }

    #[test]
    fn redact_bytes_replaces_every_occurrence() {
        let r = super::redact_bytes(b"a 1|tok b 1|tok1|tok".to_vec(), "1|tok");
        assert_eq!(r, b"a [redacted] b [redacted][redacted]");
        assert_eq!(super::redact_bytes(b"none".to_vec(), "x"), b"none");
    }
}
