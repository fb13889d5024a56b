//! What IDMeta's watchlist screening found (v3 answers only): the site's blocklists ("Enable
//! Blacklist Detection") and its duplicate detection, checked with every registration.
//!
//! Two halves with two audiences. The count is for everyone (the log line's
//! `ENROLLD_SCREEN_MATCHES`, the counters, the MQTT event, the LED): it says that a person
//! matched, not whom. The matches themselves (a watchlist entry's name, its reference id, the
//! similarity score) are personal data about someone other than the person at the wall: they
//! are kept only with the record the operator reviews (`enrolld queue list --json`, the
//! control socket), never in a log line, the status file, an MQTT message or a `Debug` dump.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most matches kept with one record: the count stays exact, the list is cut (a record's
/// sealed header has a size limit, and a screen of them is no review).
pub const MAX_KEPT_MATCHES: usize = 16;

/// The screening's result as the terminal keeps it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    /// Matches over every watchlist that reported some (a watchlist that says it has matches
    /// but lists none counts as one).
    pub matches: u32,
    /// The trust validation's status as IDMeta named it (`REVIEW_NEEDED`, `VERIFIED`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<String>,
    /// Up to [`MAX_KEPT_MATCHES`] matches, as IDMeta described them. Operator eyes only.
    #[serde(default)]
    pub details: Vec<ScreenMatch>,
}

/// One match as IDMeta described it; every field as text (cleaned), any may be missing.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchlist_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity_score: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<String>,
}

impl Screening {
    /// Whether the screening flags the registration for review.
    pub fn matched(&self) -> bool {
        self.matches > 0
    }

    /// The screening with every occurrence of `secret` replaced (see `Outcome::redact`).
    pub(crate) fn redact(self, secret: &str) -> Screening {
        let r = |s: Option<String>| s.map(|s| s.replace(secret, "[redacted]"));
        Screening {
            matches: self.matches,
            verification_status: r(self.verification_status),
            details: self
                .details
                .into_iter()
                .map(|m| ScreenMatch {
                    watchlist_id: r(m.watchlist_id),
                    name: r(m.name),
                    reference_id: r(m.reference_id),
                    record_id: r(m.record_id),
                    similarity_score: r(m.similarity_score),
                    enrolled_at: r(m.enrolled_at),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
impl Screening {
    /// One match, no details (tests of what follows from a flag).
    pub(crate) fn one_match() -> Screening {
        Screening {
            matches: 1,
            verification_status: Some("REVIEW_NEEDED".into()),
            details: Vec::new(),
        }
    }
}

/// Counts only: a `{:?}` in a log line or a panic message must not carry whom it matched.
impl fmt::Debug for Screening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Screening")
            .field("matches", &self.matches)
            .field("verification_status", &self.verification_status)
            .field("details_kept", &self.details.len())
            .finish()
    }
}

impl fmt::Debug for ScreenMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScreenMatch")
            .field("watchlist_id", &self.watchlist_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_counts_never_whom() {
        let s = Screening {
            matches: 2,
            verification_status: Some("REVIEW_NEEDED".into()),
            details: vec![ScreenMatch {
                watchlist_id: Some("0".into()),
                name: Some("Jane Listed".into()),
                reference_id: Some("455bc762-7b72".into()),
                record_id: Some("1".into()),
                similarity_score: Some("99".into()),
                enrolled_at: None,
            }],
        };
        let debug = format!("{s:?} {:?}", s.details);
        for personal in ["Jane", "455bc762", "99"] {
            assert!(!debug.contains(personal), "{debug}");
        }
        assert!(debug.contains("matches: 2"), "{debug}");
        assert!(s.matched());
    }
}
