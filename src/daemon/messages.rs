//! The messages of the daemon's loop: what comes back into it from the work
//! it started (shots, answers, store results, control commands, a reload),
//! and why a store step or a reload failed. Shared by the files that send
//! them and by inputs.rs, which handles them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::delivery::Report;
use super::ports::{Live, Registrar, Shot, ShotError};
use crate::api::{ApiError, Outcome};
use crate::config::Config;
use crate::control::{Command, Reply};
use crate::invalid::ConfigError;
use crate::secret::TokenError;
use crate::store::{BoundName, StoreError, StoreGone};

/// Why one of an attempt's steps on the store (bind, store, settle) failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreStepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gone(#[from] StoreGone),
    /// The machine asked to store a capture the daemon no longer holds (a bug).
    #[error("no capture in hand")]
    NoCapture,
}

pub(crate) enum Input {
    Control(Command, oneshot::Sender<Reply>),
    /// A frame of the attempt's capture passed; its JPEG is being made.
    FramePassed(u64),
    Shot(u64, Result<Shot, ShotError>),
    Bound(u64, Result<BoundName, StoreStepError>),
    /// A create-verification finished: the attempt, its result, how long it took.
    Verification(u64, Result<String, Outcome>, Duration),
    /// The finalize of an attempt's unused verification is done (logged where it ran).
    Abandoned(u64),
    Stored(u64, Result<(), StoreStepError>),
    Answered(u64, Outcome, Duration),
    Settled(u64, Result<(), StoreStepError>),
    Delivery(Report),
    CameraRecovery(Result<(), crate::camera::CameraError>),
    /// A frame the face check looked at during a capture (attempt number) or the setup view's
    /// preview (attempt 0).
    Live(u64, Live),
    /// The setup view's preview stopped (asked to, or the camera failed).
    PreviewEnded(Result<(), crate::camera::CameraError>),
    Reloaded(Box<Reloaded>),
    /// A control command changed the store (a ticket, a resend, a drop):
    /// the status file shows it now rather than at the next tick.
    StoreChanged,
}

/// A configuration and a client built from it, ready to apply.
pub(crate) type Reloaded = Result<(Config, Arc<dyn Registrar>), ReloadError>;

/// Why a reload keeps the current configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Api(#[from] ApiError),
}
