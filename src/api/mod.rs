//! The IDMeta client: URL rules, TLS trust, wire types, the transport with
//! its sent/not-sent tracking, the registration in each API version, and the
//! outcome classification.
//!
//! The daemon uses [`Client`] and [`Outcome`]; everything else is public for
//! tests and for the commands.

pub mod client;
pub mod config;
pub mod outcome;
pub mod registration;
pub mod retry_after;
pub mod sanitize;
pub mod screening;
pub mod tls;
pub mod tls_errors;
pub mod transport;
pub mod url;
pub mod wire;
pub mod wire_v3;

pub use client::{Client, Finalized, MAX_RESPONSE_BYTES};
pub use config::ApiConfig;
pub use outcome::{FaceQuality, Outcome};
pub use registration::ApiVersion;
pub use screening::{ScreenMatch, Screening};
pub use url::{UrlError, check_base_url};

/// Why a [`Client`] could not be built. Configuration problems only; calls
/// themselves never fail with this, they return an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("api.base_url: {0}")]
    BaseUrl(url::UrlError),
    #[error("api.template_id: {0}")]
    TemplateId(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
}
