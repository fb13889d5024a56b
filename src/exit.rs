//! Every process exit status enrolld uses, documented in the README and in
//! enrolld(8). Stable: scripts and the systemd unit depend on them.

/// Success (registered or already registered).
pub const OK: i32 = 0;
/// A usage or operational error that is not one of the classes below.
pub const FAILURE: i32 = 1;
/// Command-line usage error (clap's own).
pub const USAGE: i32 = 2;
/// Bad input data, e.g. `--image` is not a JPEG or is over the cap (sysexits `EX_DATAERR`).
pub const DATA: i32 = 65;
/// A file could not be read (sysexits `EX_NOINPUT`).
pub const NO_INPUT: i32 = 66;
/// Configuration error, including a missing or invalid token (sysexits `EX_CONFIG`);
/// the unit lists it in `RestartPreventExitStatus=` so a broken config does not
/// crash-loop.
pub const CONFIG: i32 = 78;
/// The state or runtime directory cannot be written (sysexits `EX_CANTCREAT`):
/// restarting will not help, so the unit does not restart on it.
pub const CANT_CREATE: i32 = 73;

/// `enrolld register`: one status per failure class of a registration's
/// [`Outcome`](crate::api::Outcome) (success is [`OK`]). They sit below the
/// sysexits range (64-78) used for bad input and configuration.
pub mod outcome {
    pub const RETAKE: i32 = 10;
    pub const REJECTED: i32 = 11;
    pub const UNAUTHORIZED: i32 = 12;
    pub const RATE_LIMITED: i32 = 13;
    pub const SERVER_ERROR: i32 = 14;
    pub const BAD_RESPONSE: i32 = 15;
    pub const NOT_SENT: i32 = 16;
    pub const UNKNOWN_DELIVERY: i32 = 17;
    pub const WRONG_ENDPOINT: i32 = 18;
}
