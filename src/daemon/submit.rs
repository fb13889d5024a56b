//! One registration, the way both the live path and the offline queue send
//! it: register under a verification id, then finalize if configured.

use std::time::{Duration, Instant};

use super::ports::Registrar;
use crate::api::Outcome;
use crate::machine::fate;
use crate::shutdown::Shutdown;

/// What a delivery from the queue produced: the outcome and the
/// verification id it used (created here for an entry that had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: Outcome,
    pub verification_id: Option<String>,
    pub elapsed: Duration,
}

/// Registers a capture whose record is durable as sending. Blocking.
///
/// finalize-verification follows a success when configured, except once the
/// daemon is stopping: the registration is what matters, and the stop
/// timeout is sized for one request, not two.
pub fn register(
    api: &dyn Registrar,
    finalize: bool,
    stopping: &Shutdown,
    jpeg: &[u8],
    username: &str,
    verification_id: &str,
) -> Outcome {
    let outcome = api.register(jpeg, username, verification_id);
    if finalize && outcome.is_success() {
        if stopping.is_triggered() {
            log::warn!(
                enrolld_verification_id = verification_id;
                "stopping: finalize-verification skipped; the registration itself succeeded"
            );
        } else {
            match api.finalize(verification_id) {
                Ok(f) => log::info!(
                    enrolld_verification_id = verification_id;
                    "finalized verification: {}",
                    f.status_message.as_deref().unwrap_or("(no status message)")
                ),
                Err(o) => log::warn!(
                    enrolld_verification_id = verification_id;
                    "finalize-verification failed ({}); the registration itself succeeded",
                    o.code()
                ),
            }
        }
    }
    outcome
}

/// Delivers a queued entry: creates its verification first if it has none.
/// A failed create-verification means the registration never left: the
/// answer is then "not sent" (or the refusal that pauses deliveries).
pub fn deliver(
    api: &dyn Registrar,
    finalize: bool,
    stopping: &Shutdown,
    jpeg: &[u8],
    username: &str,
    verification_id: Option<&str>,
) -> Sent {
    let started = Instant::now();
    let verification_id = match verification_id {
        Some(id) => id.to_owned(),
        None => match api.create_verification() {
            Ok(id) => id,
            Err(create) => {
                return Sent {
                    outcome: never_sent(create),
                    verification_id: None,
                    elapsed: started.elapsed(),
                };
            }
        },
    };
    let outcome = register(api, finalize, stopping, jpeg, username, &verification_id);
    Sent {
        outcome,
        verification_id: Some(verification_id),
        elapsed: started.elapsed(),
    }
}

/// The outcome of a registration that was not sent because its
/// create-verification failed (see [`fate::after_failed_create`]).
pub fn never_sent(create: Outcome) -> Outcome {
    match fate::after_failed_create(&create) {
        fate::Fate::Paused => create,
        _ => match create {
            Outcome::RateLimited { .. } | Outcome::ServerError { status: 503, .. } => create,
            other => Outcome::NotSent {
                reason: format!("create-verification failed: {}", describe(&other)),
            },
        },
    }
}

/// An answer as a review record keeps it for the operator: the outcome as `enrolld register`
/// prints it, the watchlist screening's matches included.
pub fn kept_answer(outcome: &Outcome) -> serde_json::Value {
    serde_json::to_value(outcome).unwrap_or_default()
}

/// A one-line human message for logs and the status file (never whom a screening matched).
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Registered { face_id, .. } => format!("registered, face id {face_id}"),
        Outcome::RegisteredReview {
            face_id, screening, ..
        } => format!(
            "registered, face id {face_id}; flagged for review: IDMeta's watchlist screening \
             matched {} record(s) (`enrolld queue list --json` shows them)",
            screening.matches
        ),
        Outcome::AlreadyRegistered { message } => format!("already registered: {message}"),
        Outcome::Retake { quality } => format!("retake: {}", quality.message()),
        Outcome::Rejected { status, message } => format!("rejected (HTTP {status}): {message}"),
        Outcome::Unauthorized { status } => format!(
            "the API token was refused (HTTP {status}): fix it, then `systemctl reload enrolld`"
        ),
        Outcome::WrongEndpoint { status } => format!(
            "api.base_url does not lead to the IDMeta API (HTTP {status}): fix it, then \
             `systemctl reload enrolld`"
        ),
        Outcome::RateLimited { retry_after_s } => match retry_after_s {
            Some(s) => format!("rate limited, retry after {s} s"),
            None => "rate limited".to_owned(),
        },
        Outcome::ServerError {
            status,
            retry_after_s: Some(s),
        } => format!("server unavailable (HTTP {status}), retry after {s} s"),
        Outcome::ServerError {
            status: status @ (502 | 504),
            ..
        } => format!("gateway error (HTTP {status}): IDMeta may or may not have received it"),
        Outcome::ServerError { status, .. } => format!("server error (HTTP {status})"),
        Outcome::BadResponse { reason } => format!("bad response: {reason}"),
        Outcome::NotSent { reason } => format!("not sent: {reason}"),
        Outcome::UnknownDelivery { reason } => format!("delivery unknown: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_create_verification_means_the_registration_never_left() {
        let o = never_sent(Outcome::UnknownDelivery {
            reason: "timeout".into(),
        });
        assert_eq!(o.code(), "not_sent");
        let o = never_sent(Outcome::Unauthorized { status: 401 });
        assert_eq!(o.code(), "unauthorized");
        let o = never_sent(Outcome::ServerError {
            status: 503,
            retry_after_s: Some(4),
        });
        assert_eq!(
            fate::live(&o),
            fate::Fate::Queued {
                not_before: Some(Duration::from_secs(4))
            }
        );
    }

    #[test]
    fn every_outcome_reads_as_a_sentence_without_debug_dumps() {
        for o in Outcome::one_of_each() {
            let text = describe(&o);
            assert!(!text.contains("{") && !text.contains("Some("), "{text}");
        }
    }
}
