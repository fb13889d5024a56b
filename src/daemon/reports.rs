//! Log lines and counters: how each enrollment ended, what the queue's
//! worker did, what opening the store found. The journal fields
//! (`ENROLLD_OUTCOME`, `ENROLLD_USERNAME`, `ENROLLD_SCREEN_MATCHES`, ...) are
//! documented in docs/operations.md. A watchlist screening is logged as its
//! count only: whom it matched is personal data of someone else, kept with
//! the review record for the operator.

use super::delivery::Report;
use super::state::Context;
use super::submit::describe;
use crate::fleet::EnrollmentEvent;
use crate::machine::{Conclusion, Fate, QueuedBecause, Refusal};
use crate::queue::{Expiring, OpenReport, UnknownDelivery};
use crate::status::{LastOutcome, Status};
use crate::store::Store;
use crate::store::actor::StoreGone;

pub(super) fn log_store_opened(store: &Store, report: &OpenReport) {
    for c in &report.corrupt {
        log_corrupt(&c.moved_to, c.username.as_deref(), &c.reason);
    }
    for u in &report.unknown {
        log_unknown(u, "was being sent when enrolld stopped");
    }
    for r in &report.released {
        log::info!(
            enrolld_username = r.username.as_str();
            "enrollment for {} was interrupted before anything was sent{}",
            r.username,
            if r.ticket.is_some() { "; the ticket is next again" } else { "" }
        );
    }
    if let Some(note) = store.tickets().recovered() {
        log::error!("{note}");
    }
    if let Some(note) = store.tickets().log_notice() {
        log::warn!("{note}");
    }
    if let Some(source) = store.queue().key_source() {
        log::info!(
            "offline queue: {} entries waiting, {} unknown deliveries on record; encrypted with \
             the key from {source}",
            store.queue().depth(),
            store.queue().unknown_count()
        );
    }
}

pub(super) fn log_stopped_in_flight(
    records: Result<Result<Vec<UnknownDelivery>, crate::queue::QueueError>, StoreGone>,
) {
    match records {
        Ok(Ok(records)) => records
            .iter()
            .for_each(|u| log_unknown(u, "was still on the wire when enrolld stopped")),
        Ok(Err(e)) => log::error!("stopping: {e}"),
        Err(gone) => log::error!("stopping: {gone}"),
    }
}

/// A damaged record, with whom it was for (so they can be asked back) and
/// the file (so it can be looked at).
fn log_corrupt(moved_to: &std::path::Path, username: Option<&str>, reason: &str) {
    let path = moved_to.display();
    match username {
        Some(username) => log::error!(
            enrolld_outcome = "corrupt",
            enrolld_username = username;
            "offline queue: the enrollment of {username} is damaged ({reason}) and was not sent; \
             moved to {path}; ask {username} to enroll again"
        ),
        None => log::error!(
            enrolld_outcome = "corrupt";
            "offline queue: a damaged record (whom it was for is unreadable too: {reason}) was \
             not sent; moved to {path}"
        ),
    }
}

fn log_unknown(u: &UnknownDelivery, how: &str) {
    log::warn!(
        enrolld_outcome = "unknown_delivery",
        enrolld_username = u.username.as_str(),
        enrolld_verification_id = u.verification_id.as_deref().unwrap_or("");
        "queue entry #{} for {} {how}: it may or may not have reached IDMeta, and is not sent \
         again by itself (check the IDMeta dashboard, then `enrolld queue resend {}` or `enrolld \
         queue drop {}`)",
        u.seq,
        u.username,
        u.seq,
        u.seq
    );
}

/// The enrollment is over: one log line with its journal fields, its
/// counter, and the status file's `last_outcome`; returned as the event
/// MQTT and the metrics get (its queue depth still to be filled in).
pub(super) fn conclude(
    status: &mut Status,
    attempt: u64,
    ctx: Context,
    conclusion: Conclusion,
) -> EnrollmentEvent {
    let problem = ctx.problem.clone().unwrap_or_default();
    let answer = ctx.outcome.as_ref().map(describe).unwrap_or_default();
    let (code, message) = match conclusion {
        Conclusion::Sent {
            fate,
            deadline_passed,
        } => match fate {
            Fate::Queued { .. } | Fate::Paused => {
                ("queued", format!("{answer}; queued for delivery"))
            }
            Fate::Unknown if deadline_passed => (
                "unknown_delivery",
                "no answer within the request timeout; recorded for an operator (`enrolld queue \
                 list`)"
                    .to_owned(),
            ),
            Fate::Unknown => (
                "unknown_delivery",
                format!("{answer}; recorded for an operator (`enrolld queue list`)"),
            ),
            _ => (
                ctx.outcome.as_ref().map_or("failed", |o| o.code()),
                answer.clone(),
            ),
        },
        Conclusion::Queued(why) => ("queued", queued_because(why, &problem)),
        Conclusion::Retake => ("retake", problem.clone()),
        // Frequent in a corridor: someone walked past the presence sensor.
        Conclusion::Nobody => ("nobody", problem.clone()),
        Conclusion::CaptureFailed => ("capture_failed", problem.clone()),
        Conclusion::CameraFault => ("camera_fault", problem.clone()),
        // "queue_full" since the first versions, for a full queue and a full
        // disk alike (the message says which): dashboards count it.
        Conclusion::NotStored => (
            "queue_full",
            format!("{problem}; nothing was sent, the ticket (if any) is next again"),
        ),
        Conclusion::Stopped => (
            "stopped",
            "stopping before anything was sent; the ticket (if any) is next again".to_owned(),
        ),
    };
    let username = ctx.username.clone().unwrap_or_default();
    let face_id = ctx
        .outcome
        .as_ref()
        .and_then(|o| o.face_id())
        .map(str::to_owned);
    let screen_matches = screen_matches(ctx.outcome.as_ref().and_then(|o| o.screening()));
    let total = ctx.started.map(|s| s.elapsed()).unwrap_or_default();
    let mut stages_ms = ctx.stages_ms;
    stages_ms.insert(
        "total".into(),
        u64::try_from(total.as_millis()).unwrap_or(u64::MAX),
    );
    let level = if code == "unknown_delivery" {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    log::log!(
        level,
        enrolld_outcome = code,
        enrolld_username = username.as_str(),
        enrolld_face_id = face_id.as_deref().unwrap_or(""),
        enrolld_verification_id = ctx.verification_id.as_deref().unwrap_or(""),
        enrolld_face_reason = ctx.face_reason.map_or("", |r| r.name()),
        enrolld_screen_matches = screen_matches.map(|n| n.to_string()).unwrap_or_default(),
        enrolld_duration_ms = total.as_millis() as u64;
        "enrollment {attempt} for {username}: {message}"
    );
    status.count(code);
    let now = crate::time::unix_now();
    if let (Some(reason), Some(face)) = (ctx.face_reason, status.face.as_mut()) {
        *face.refused.entry(reason.name().to_owned()).or_insert(0) += 1;
        face.last_reason = Some(reason.name().to_owned());
        face.last_reason_at = Some(crate::time::rfc3339(now));
    }
    let reason = match (&ctx.outcome, ctx.face_reason) {
        (Some(crate::api::Outcome::Retake { quality }), _) => Some(quality.code().to_owned()),
        (_, Some(face)) => Some(face.name().to_owned()),
        _ => None,
    };
    let event = EnrollmentEvent {
        outcome: code.to_owned(),
        reason,
        durations_ms: stages_ms.clone(),
        transaction: ctx.transaction,
        queue_depth: 0,
        at: crate::time::rfc3339(now),
        at_unix: now,
        username: username.clone(),
        screen_matches,
    };
    status.last_outcome = Some(LastOutcome {
        code: code.to_owned(),
        message,
        face_id,
        username,
        verification_id: ctx.verification_id,
        at: event.at.clone(),
        stages_ms,
    });
    event
}

/// The count of a flagged registration's matches (the journal's `ENROLLD_SCREEN_MATCHES`).
fn screen_matches(screening: Option<&crate::api::Screening>) -> Option<u32> {
    screening.map(|s| s.matches)
}

fn queued_because(why: QueuedBecause, problem: &str) -> String {
    match why {
        QueuedBecause::Clock => format!("queued for delivery: {}", crate::time::CLOCK_NOT_SET),
        QueuedBecause::Paused => {
            "deliveries are paused (IDMeta refused the token or URL); queued".into()
        }
        QueuedBecause::CreateFailed => {
            format!("create-verification failed; queued for delivery {problem}")
                .trim_end()
                .to_owned()
        }
        QueuedBecause::NoVerification => "queued for delivery".into(),
        QueuedBecause::Stopping => "stopping before it was sent; queued for delivery".into(),
    }
}

pub(super) fn refused(status: &mut Status, why: Refusal) {
    status.count("refused_press");
    match why {
        Refusal::NobodyToEnroll => log::warn!(
            "press refused: no pending ticket and no terminal.username_template (enroll someone \
             with `enrolld enroll --username NAME`)"
        ),
        Refusal::Fault => log::warn!("press refused: the terminal has a camera or GPIO fault"),
    }
}

/// One step of the delivery worker.
pub(super) fn delivery(report: &Report, status: &mut Status) {
    match report {
        Report::Delivered {
            id,
            username,
            verification_id,
            already,
            resent,
            screening,
        } => {
            let code = match (already, screening) {
                (true, _) => "already_registered",
                (false, Some(_)) => "registered_review",
                (false, None) => "registered",
            };
            status.count(code);
            status.count("delivered_from_queue");
            let note = match (resent, screening) {
                // Most likely the first send had got through, and this is its duplicate.
                (true, Some(_)) => {
                    " (resent by an operator: the screening's match may be the record its first \
                     send enrolled; see `enrolld queue list --json`, then tidy up in IDMeta)"
                }
                (false, Some(_)) => " (`enrolld queue list --json` shows what it matched)",
                (true, None) if !*already => {
                    " (resent by an operator; IDMeta knew it already if it said so)"
                }
                _ => "",
            };
            let matches = screen_matches(screening.as_ref());
            let level = if screening.is_some() {
                log::Level::Warn
            } else {
                log::Level::Info
            };
            log::log!(
                level,
                enrolld_outcome = code,
                enrolld_username = username.as_str(),
                enrolld_verification_id = verification_id.as_deref().unwrap_or(""),
                enrolld_screen_matches = matches.map(|n| n.to_string()).unwrap_or_default();
                "{id} for {username} delivered: {code}{}{note}",
                matches
                    .map(|n| format!(", the watchlist screening matched {n} record(s)"))
                    .unwrap_or_default()
            );
        }
        Report::Refused {
            id,
            username,
            outcome,
        } => {
            status.count(outcome.code());
            log::warn!(
                enrolld_outcome = outcome.code(),
                enrolld_username = username.as_str();
                "{id} for {username} refused by IDMeta ({}); removed",
                describe(outcome)
            );
        }
        Report::Retrying {
            id,
            outcome,
            failures,
            delay,
        } => log::info!(
            "{id} not delivered ({}), attempt {failures}; next try in {} s",
            describe(outcome),
            delay.as_secs()
        ),
        Report::Unknown(u, outcome) => {
            status.count("unknown_delivery");
            log_unknown(u, &format!("got no usable answer ({})", describe(outcome)));
        }
        Report::Paused { outcome } => log::error!(
            "deliveries paused: {}; every queued enrollment is kept, one is tried again every \
             queue.paused_probe_secs",
            outcome.as_ref().map_or_else(
                || "IDMeta refused the token or the URL".to_owned(),
                describe
            )
        ),
        Report::Resumed { by_probe } => log::info!(
            "deliveries resumed{}",
            if *by_probe {
                ": IDMeta accepted a delivery again"
            } else {
                ""
            }
        ),
        Report::Expired(e) if e.was == Expiring::Review => log::info!(
            enrolld_username = e.username.as_str();
            "{}: the review record of {}'s registration deleted after {} s (older than \
             queue.max_age_secs)",
            e.id,
            e.username,
            e.age.as_secs()
        ),
        Report::Expired(e) => {
            status.count("expired");
            log::warn!(
                enrolld_outcome = "expired",
                enrolld_username = e.username.as_str(),
                enrolld_verification_id = e.verification_id.as_deref().unwrap_or("");
                "{} for {} deleted unsent after {} s (older than queue.max_age_secs){}",
                e.id,
                e.username,
                e.age.as_secs(),
                if e.was == Expiring::Unknown {
                    "; it was an unknown delivery"
                } else {
                    ""
                }
            );
        }
        Report::Corrupt {
            path,
            username,
            reason,
        } => {
            status.count("corrupt");
            log_corrupt(path, username.as_deref(), reason);
        }
        Report::CorruptPruned { files } => {
            log::info!("{files} damaged queue file(s) past the maximum age deleted");
        }
        Report::StorageError(e) => log::error!("offline queue storage: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_queued_for_the_clock_says_how_to_set_it() {
        assert_eq!(
            queued_because(QueuedBecause::Clock, ""),
            "queued for delivery: the wall clock is not set (it reads before this build's date), \
             so TLS cannot check IDMeta's certificate: enrollments are queued until it is; enable \
             time sync (`timedatectl set-ntp true`, then `timedatectl timesync-status`) or fit a \
             battery-backed real-time clock"
        );
    }
}
