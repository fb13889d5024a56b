//! `[api]`: how to reach IDMeta, and the checks on it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registration::ApiVersion;
use crate::invalid::Invalid;

/// `[api]`: how to reach IDMeta.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// `https://<environment>.idmetagroup.com`; `http://` only for loopback hosts.
    pub base_url: String,
    /// The registration API: 1 (`biometricsregistration`, the default) or 3
    /// (`biometrics-detection`, with watchlist screening).
    #[serde(default)]
    pub version: ApiVersion,
    /// The trust flow id: sent as `template_id` (a string), and under v3 as
    /// the registration's `trustFlowId` (an integer).
    pub template_id: String,
    /// A file holding the bearer token, used when no systemd credential `api-token` is given.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Extra PEM CA certificates to trust (private CAs, tests).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the bundled public roots (pinning a private CA).
    #[serde(default)]
    pub ca_file_only: bool,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Call finalize-verification after each successful registration.
    #[serde(default)]
    pub finalize: bool,
    /// The largest JPEG enrolld will send; the encoder lowers quality to fit.
    #[serde(default = "default_max_image_bytes")]
    pub max_image_bytes: usize,
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_request_timeout_ms() -> u64 {
    30_000
}
fn default_max_image_bytes() -> usize {
    1_500_000
}

/// The longest `request_timeout_ms` accepted: `systemd/enrolld.service`'s
/// `TimeoutStopSec=` is sized for a request this long (daemon::budgets).
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 90_000;

impl ApiConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        super::url::check_base_url(&self.base_url)
            .map_err(|e| Invalid::new("base_url", e.to_string()))?;
        if self.template_id.trim().is_empty() {
            return Err(Invalid::new("template_id", "must not be empty"));
        }
        if self.version == ApiVersion::V3 {
            super::registration::check_trust_flow_id(&self.template_id)
                .map_err(|why| Invalid::new("template_id", why))?;
        }
        if self.ca_file_only && self.ca_file.is_none() {
            return Err(Invalid::new("ca_file_only", "needs api.ca_file"));
        }
        Invalid::check_range("connect_timeout_ms", self.connect_timeout_ms, 100..=120_000)?;
        // The unit's stop timeout is sized for the longest request (see
        // daemon::budgets), so a longer one could not finish when stopping.
        Invalid::check_range(
            "request_timeout_ms",
            self.request_timeout_ms,
            1_000..=MAX_REQUEST_TIMEOUT_MS,
        )?;
        if self.request_timeout_ms < self.connect_timeout_ms {
            return Err(Invalid::new(
                "request_timeout_ms",
                "must not be shorter than api.connect_timeout_ms",
            ));
        }
        Invalid::check_range("max_image_bytes", self.max_image_bytes, 10_000..=10_000_000)?;
        Ok(())
    }
}
