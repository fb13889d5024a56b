//! One registration, the way both the live path and the offline queue send it:
//! create a verification when none was given, register, finalize if asked.

use std::time::{Duration, Instant};

use crate::api::{Client, Outcome};
use crate::machine;

/// What a submission produced.
#[derive(Debug, Clone)]
pub struct Submission {
    pub outcome: Outcome,
    /// The verification id used (created here when the enrollment had none).
    pub verification_id: Option<String>,
    pub elapsed: Duration,
}

/// Blocking: call it from a blocking thread.
pub fn submit(
    client: &Client,
    finalize: bool,
    jpeg: &[u8],
    username: &str,
    verification_id: Option<&str>,
) -> Submission {
    let started = Instant::now();
    let verification_id = match verification_id {
        Some(id) => id.to_owned(),
        None => match client.create_verification() {
            Ok(id) => id,
            Err(outcome) => {
                return Submission {
                    elapsed: started.elapsed(),
                    ..create_failed(outcome)
                };
            }
        },
    };
    let outcome = client.register(jpeg, username, &verification_id);
    if finalize && outcome.is_success() {
        match client.finalize_verification(&verification_id) {
            Ok(f) => log::info!(
                enrolld_verification_id = verification_id.as_str();
                "finalized verification: {}",
                f.status_message.as_deref().unwrap_or("(no status message)")
            ),
            Err(o) => log::warn!(
                enrolld_verification_id = verification_id.as_str();
                "finalize-verification failed ({}); the registration itself succeeded",
                o.code()
            ),
        }
    }
    Submission {
        outcome,
        verification_id: Some(verification_id),
        elapsed: started.elapsed(),
    }
}

/// The submission when create-verification already failed (started at the
/// press, see `daemon::verification`): the registration is not sent.
pub fn create_failed(create_outcome: Outcome) -> Submission {
    Submission {
        outcome: registration_never_sent(create_outcome),
        verification_id: None,
        elapsed: Duration::ZERO,
    }
}

/// create-verification failed, so the registration itself never left the
/// device: whatever happened to that first call (even an unknown delivery,
/// which at worst leaves an unused verification behind), sending the
/// registration later is safe, so it is `not_sent`. Answers that need a person
/// (unauthorized, rejected) keep their class.
fn registration_never_sent(create_outcome: Outcome) -> Outcome {
    match create_outcome {
        Outcome::UnknownDelivery { reason } | Outcome::BadResponse { reason } => Outcome::NotSent {
            reason: format!("create-verification failed: {reason}"),
        },
        other => other,
    }
}

/// The client's outcome as the state machine's plain data.
pub fn to_machine(outcome: &Outcome) -> machine::Outcome {
    match outcome {
        Outcome::Registered { .. } => machine::Outcome::Registered,
        Outcome::AlreadyRegistered { .. } => machine::Outcome::AlreadyRegistered,
        Outcome::Retake { .. } => machine::Outcome::Retake,
        Outcome::Rejected { .. } => machine::Outcome::Rejected,
        Outcome::Unauthorized { .. } => machine::Outcome::Unauthorized,
        Outcome::RateLimited { retry_after_s } => machine::Outcome::RateLimited {
            retry_after: retry_after_s.map(Duration::from_secs),
        },
        Outcome::ServerError { status } => machine::Outcome::ServerError { status: *status },
        Outcome::BadResponse { .. } => machine::Outcome::BadResponse,
        Outcome::NotSent { .. } => machine::Outcome::NotSent,
        Outcome::UnknownDelivery { .. } => machine::Outcome::UnknownDelivery,
    }
}

/// A one-line human message for logs and the status file.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Registered { face_id, .. } => format!("registered, face id {face_id}"),
        Outcome::AlreadyRegistered { message } => format!("already registered: {message}"),
        Outcome::Retake { quality } => format!("retake: {}", quality.message()),
        Outcome::Rejected { status, message } => format!("rejected (HTTP {status}): {message}"),
        Outcome::Unauthorized { status } => {
            format!("unauthorized (HTTP {status}): check the API token")
        }
        Outcome::RateLimited { retry_after_s } => match retry_after_s {
            Some(s) => format!("rate limited, retry after {s} s"),
            None => "rate limited".to_owned(),
        },
        Outcome::ServerError { status } => format!("server error (HTTP {status})"),
        Outcome::BadResponse { reason } => format!("bad response: {reason}"),
        Outcome::NotSent { reason } => format!("not sent: {reason}"),
        Outcome::UnknownDelivery { reason } => format!("delivery unknown: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_outcome_maps_to_the_same_code() {
        let all = Outcome::one_of_each();
        for o in &all {
            assert_eq!(to_machine(o).code(), o.code());
            // What the client may resend is exactly what the machine retries.
            assert_eq!(
                to_machine(o).disposition() == machine::Disposition::Retry,
                o.is_resendable(),
                "{o:?}"
            );
        }
    }

    #[test]
    fn a_failed_create_verification_means_the_registration_never_left() {
        let o = registration_never_sent(Outcome::UnknownDelivery {
            reason: "timeout".into(),
        });
        assert_eq!(o.code(), "not_sent");
        let o = registration_never_sent(Outcome::Unauthorized { status: 401 });
        assert_eq!(o.code(), "unauthorized");
    }
}
