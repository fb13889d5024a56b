//! What becomes of an enrollment after IDMeta's answer: every disposition,
//! as pure functions of the answer, tested as tables.
//!
//! The rule under all of them: a registration is not idempotent, so an
//! enrollment is sent again only when the answer proves it was not
//! processed. A gateway's 502 or 504 proves nothing (the gateway may have
//! passed the request on before it gave up), so those are unknown; a 503 or
//! 429 is the server saying "not now" before doing anything.

use std::time::Duration;

use crate::api::Outcome;

/// The fate of an enrollment sent at the press (the live path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Registered,
    /// Registered, and flagged for an operator's review (v3's watchlist screening matched).
    RegisteredReview,
    AlreadyRegistered,
    /// Refused for good (rejected, bad response, server error): not registered.
    Failed,
    /// The server found the face unusable: not registered; the same person
    /// presses again, so a ticket goes back to the front.
    Retake,
    /// Not processed: kept in the queue and sent later, not before
    /// `not_before` (a Retry-After).
    Queued {
        not_before: Option<Duration>,
    },
    /// Not processed because the token or the URL is wrong: kept in the
    /// queue, and deliveries pause until the configuration is fixed.
    Paused,
    /// May have been processed: recorded as an unknown delivery, never sent
    /// again by itself.
    Unknown,
}

impl Fate {
    /// Whether the ticket (if any) goes back to the front of the list.
    pub fn returns_ticket(self) -> bool {
        matches!(self, Fate::Retake)
    }
}

/// The live path's fate for an answer.
pub fn live(outcome: &Outcome) -> Fate {
    match outcome {
        Outcome::Registered { .. } => Fate::Registered,
        Outcome::RegisteredReview { .. } => Fate::RegisteredReview,
        Outcome::AlreadyRegistered { .. } => Fate::AlreadyRegistered,
        Outcome::Retake { .. } => Fate::Retake,
        Outcome::Rejected { .. } | Outcome::BadResponse { .. } => Fate::Failed,
        Outcome::Unauthorized { .. } | Outcome::WrongEndpoint { .. } => Fate::Paused,
        Outcome::NotSent { .. } => Fate::Queued { not_before: None },
        Outcome::RateLimited { retry_after_s } => Fate::Queued {
            not_before: retry_after_s.map(Duration::from_secs),
        },
        Outcome::ServerError {
            status: 503,
            retry_after_s,
        } => Fate::Queued {
            not_before: retry_after_s.map(Duration::from_secs),
        },
        Outcome::ServerError {
            status: 502 | 504, ..
        }
        | Outcome::UnknownDelivery { .. } => Fate::Unknown,
        Outcome::ServerError { .. } => Fate::Failed,
    }
}

/// The fate of a queued entry after a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFate {
    /// Registered (`already` when IDMeta said it already was): deleted; `review` when the
    /// screening flagged it (a record of the answer stays for the operator).
    Delivered { already: bool, review: bool },
    /// Refused for good: deleted (nobody is at the wall to retake it).
    Refused,
    /// Not processed: kept, retried after a backoff no shorter than `after`.
    Retry { after: Option<Duration> },
    /// The token or URL is wrong: kept, deliveries pause.
    Pause,
    /// May have been processed: an unknown delivery.
    Unknown,
}

/// The queue's fate for an answer. `resent`: an operator resent an unknown
/// delivery, so "already registered" means the first send had got through:
/// it counts as registered.
pub fn queued(outcome: &Outcome, resent: bool) -> QueueFate {
    match live(outcome) {
        Fate::Registered => QueueFate::Delivered {
            already: false,
            review: false,
        },
        // A resent record whose screening matches the record enrolled by its first send is
        // flagged like any other: shown to the operator, not taken for a plain registration.
        Fate::RegisteredReview => QueueFate::Delivered {
            already: false,
            review: true,
        },
        Fate::AlreadyRegistered => QueueFate::Delivered {
            already: !resent,
            review: false,
        },
        Fate::Failed | Fate::Retake => QueueFate::Refused,
        Fate::Queued { not_before } => QueueFate::Retry { after: not_before },
        Fate::Paused => QueueFate::Pause,
        Fate::Unknown => QueueFate::Unknown,
    }
}

/// Whether an answer to a probe made while paused shows that the token and
/// URL work again: only IDMeta itself, past authentication, gives these.
pub fn proves_access(outcome: &Outcome) -> bool {
    matches!(
        queued(outcome, false),
        QueueFate::Delivered { .. } | QueueFate::Refused
    )
}

/// create-verification failed at the press, so the registration itself
/// never left: whatever happened to that first call (even an unknown
/// delivery, which at worst leaves an unused verification behind), the
/// enrollment may be sent later. Only a refused token or URL keeps its class
/// (it pauses deliveries).
pub fn after_failed_create(create: &Outcome) -> Fate {
    match live(create) {
        Fate::Paused => Fate::Paused,
        Fate::Queued { not_before } => Fate::Queued { not_before },
        _ => Fate::Queued { not_before: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FaceQuality;

    fn server(status: u16, retry_after_s: Option<u64>) -> Outcome {
        Outcome::ServerError {
            status,
            retry_after_s,
        }
    }

    /// Every class of answer, with its live fate and its queue fate.
    #[test]
    fn every_answer_has_its_documented_fate() {
        let secs = |s| Some(Duration::from_secs(s));
        let table: Vec<(Outcome, Fate, QueueFate)> = vec![
            (
                Outcome::Registered {
                    face_id: "f".into(),
                    associated_verification_id: None,
                    image_url: None,
                    timestamp: None,
                },
                Fate::Registered,
                QueueFate::Delivered {
                    already: false,
                    review: false,
                },
            ),
            (
                Outcome::RegisteredReview {
                    face_id: "f".into(),
                    associated_verification_id: None,
                    timestamp: None,
                    screening: Box::new(crate::api::Screening::one_match()),
                },
                Fate::RegisteredReview,
                QueueFate::Delivered {
                    already: false,
                    review: true,
                },
            ),
            (
                Outcome::AlreadyRegistered {
                    message: "m".into(),
                },
                Fate::AlreadyRegistered,
                QueueFate::Delivered {
                    already: true,
                    review: false,
                },
            ),
            (
                Outcome::Retake {
                    quality: FaceQuality::NoFace,
                },
                Fate::Retake,
                QueueFate::Refused,
            ),
            (
                Outcome::Rejected {
                    status: 422,
                    message: "m".into(),
                },
                Fate::Failed,
                QueueFate::Refused,
            ),
            (
                Outcome::BadResponse { reason: "r".into() },
                Fate::Failed,
                QueueFate::Refused,
            ),
            (server(500, None), Fate::Failed, QueueFate::Refused),
            (server(502, None), Fate::Unknown, QueueFate::Unknown),
            (
                server(504, secs(3).map(|d| d.as_secs())),
                Fate::Unknown,
                QueueFate::Unknown,
            ),
            (
                server(503, Some(7)),
                Fate::Queued {
                    not_before: secs(7),
                },
                QueueFate::Retry { after: secs(7) },
            ),
            (
                server(503, None),
                Fate::Queued { not_before: None },
                QueueFate::Retry { after: None },
            ),
            (
                Outcome::RateLimited {
                    retry_after_s: Some(30),
                },
                Fate::Queued {
                    not_before: secs(30),
                },
                QueueFate::Retry { after: secs(30) },
            ),
            (
                Outcome::Unauthorized { status: 401 },
                Fate::Paused,
                QueueFate::Pause,
            ),
            (
                Outcome::Unauthorized { status: 403 },
                Fate::Paused,
                QueueFate::Pause,
            ),
            (
                Outcome::WrongEndpoint { status: 404 },
                Fate::Paused,
                QueueFate::Pause,
            ),
            (
                Outcome::WrongEndpoint { status: 302 },
                Fate::Paused,
                QueueFate::Pause,
            ),
            (
                Outcome::NotSent { reason: "r".into() },
                Fate::Queued { not_before: None },
                QueueFate::Retry { after: None },
            ),
            (
                Outcome::UnknownDelivery { reason: "r".into() },
                Fate::Unknown,
                QueueFate::Unknown,
            ),
        ];
        for (outcome, live_fate, queue_fate) in &table {
            assert_eq!(live(outcome), *live_fate, "{outcome:?}");
            assert_eq!(queued(outcome, false), *queue_fate, "{outcome:?}");
        }
        // Every class of the client appears in the table.
        for o in Outcome::one_of_each() {
            assert!(
                table.iter().any(|(t, _, _)| t.code() == o.code()),
                "{} missing",
                o.code()
            );
        }
    }

    #[test]
    fn only_a_retake_gives_the_ticket_back() {
        let all = [
            Fate::Registered,
            Fate::RegisteredReview,
            Fate::AlreadyRegistered,
            Fate::Failed,
            Fate::Retake,
            Fate::Queued { not_before: None },
            Fate::Paused,
            Fate::Unknown,
        ];
        let back: Vec<Fate> = all.into_iter().filter(|f| f.returns_ticket()).collect();
        assert_eq!(back, [Fate::Retake]);
    }

    #[test]
    fn an_operator_resend_answered_already_registered_counts_as_registered() {
        let already = Outcome::AlreadyRegistered {
            message: "m".into(),
        };
        assert_eq!(
            queued(&already, true),
            QueueFate::Delivered {
                already: false,
                review: false
            }
        );
    }

    #[test]
    fn only_answers_from_past_authentication_end_a_pause() {
        assert!(proves_access(&Outcome::Rejected {
            status: 422,
            message: "m".into()
        }));
        assert!(!proves_access(&Outcome::Unauthorized { status: 401 }));
        assert!(!proves_access(&server(502, None)));
        assert!(!proves_access(&Outcome::NotSent { reason: "r".into() }));
    }

    #[test]
    fn a_failed_create_verification_queues_the_registration() {
        let unknown = Outcome::UnknownDelivery { reason: "r".into() };
        assert_eq!(
            after_failed_create(&unknown),
            Fate::Queued { not_before: None }
        );
        assert_eq!(
            after_failed_create(&Outcome::Unauthorized { status: 401 }),
            Fate::Paused
        );
        assert_eq!(
            after_failed_create(&server(500, None)),
            Fate::Queued { not_before: None }
        );
    }
}
