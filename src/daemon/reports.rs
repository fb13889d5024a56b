//! Log lines and counters for what the offline queue did, and the reload check.

use crate::config::Config;
use crate::queue::Queue;
use crate::queue::delivery::Report;
use crate::status::Status;

pub(super) fn log_queue_opened(queue: &Queue) {
    let report = queue.report();
    for c in &report.corrupt {
        log::error!(
            "offline queue: damaged entry moved to {}, not sent: {}",
            c.moved_to.display(),
            c.reason
        );
    }
    for u in &report.unknown {
        log::warn!(
            enrolld_outcome = "unknown_delivery",
            enrolld_verification_id = u.verification_id.as_deref().unwrap_or("");
            "offline queue: the enrollment for {} was being sent when enrolld stopped; it may or may not have reached IDMeta and is not re-sent",
            u.username
        );
    }
    if let Some(source) = queue.key_source() {
        log::info!(
            "offline queue: {} entries waiting; encrypted with the key from {source}",
            queue.depth()
        );
    }
}

pub(super) fn log_delivery(report: &Report, status: &mut Status) {
    match report {
        Report::Delivered { id, outcome } => {
            status.count(outcome.code());
            status.count("delivered_from_queue");
            log::info!(enrolld_outcome = outcome.code(); "{id} delivered: {}", outcome.code());
        }
        Report::Refused { id, outcome } => {
            status.count(outcome.code());
            log::warn!(enrolld_outcome = outcome.code(); "{id} refused by IDMeta ({}); removed", outcome.code());
        }
        Report::Retrying {
            id,
            outcome,
            failures,
            delay,
        } => log::info!(
            "{id} not delivered ({}), attempt {failures}; next try in {} s",
            outcome.code(),
            delay.as_secs()
        ),
        Report::Unknown(u) => {
            status.count("unknown_delivery");
            log::warn!(
                enrolld_outcome = "unknown_delivery",
                enrolld_verification_id = u.verification_id.as_deref().unwrap_or("");
                "queued enrollment for {} may or may not have reached IDMeta ({}); recorded for follow-up, not re-sent",
                u.username,
                u.reason
            );
        }
        Report::Expired(e) => {
            status.count("expired");
            log::warn!(
                enrolld_verification_id = e.verification_id.as_deref().unwrap_or("");
                "{} expired unsent after {} s (older than queue.max_age_secs); deleted",
                e.id,
                e.age.as_secs()
            );
        }
        Report::Corrupt { reason } => {
            status.count("corrupt");
            log::error!("damaged queue entry moved aside, not sent: {reason}");
        }
        Report::CorruptPruned { files } => {
            log::info!("{files} damaged queue file(s) past the maximum age deleted");
        }
        Report::StorageError(e) => log::error!("offline queue storage: {e}"),
    }
}

/// Sections whose change only a restart applies (they hold open devices,
/// sockets or directories).
pub(super) fn sections_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.trigger != new.trigger {
        changed.push("[trigger]");
    }
    if old.indicator != new.indicator {
        changed.push("[indicator]");
    }
    if old.camera != new.camera {
        changed.push("[camera]");
    }
    if old.status != new.status {
        changed.push("[status]");
    }
    if old.queue != new.queue {
        changed.push("[queue]");
    }
    if old.control != new.control {
        changed.push("[control]");
    }
    changed
}
