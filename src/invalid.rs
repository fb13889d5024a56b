//! Configuration errors, as a leaf every section module can use.
//!
//! Each section module (`api`, `camera`, `gpio`, ...) owns its config type and
//! checks it, reporting an [`Invalid`] with the key relative to its section;
//! `config` assembles the file and turns findings into a located
//! [`ConfigError`]. This module imports nothing from the crate, so the
//! sections never depend on `config` and `config` depends on them, one way.

use std::path::PathBuf;

/// A finding of a section's own checks: which key (relative to the section)
/// and what is wrong with it. `config::load` turns it into a located [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// `Ok` when `value` lies in `range`, else "must be between LOW and HIGH".
    pub fn check_range<T: PartialOrd + std::fmt::Display>(
        key: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<(), Invalid> {
        if range.contains(&value) {
            return Ok(());
        }
        let (low, high) = range.into_inner();
        Err(Invalid::new(
            key,
            format!("must be between {low} and {high}"),
        ))
    }
}

/// What went wrong loading the configuration, located as precisely as the
/// file allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}:{line}: {key}: {message}", key = key.as_deref().unwrap_or("(syntax)"))]
    Invalid {
        path: PathBuf,
        /// Dotted key, `None` for a syntax error that has no key yet.
        key: Option<String>,
        /// 1-based line; 0 when the key is absent from the file (a missing required key).
        line: usize,
        message: String,
    },
}

impl ConfigError {
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => key.as_deref(),
            ConfigError::Read { .. } => None,
        }
    }
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Read { .. } => None,
        }
    }
}
