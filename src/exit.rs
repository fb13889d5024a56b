//! Process exit statuses, documented in the README. Stable: scripts depend on them.

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
/// Configuration error, including a missing or invalid token (sysexits `EX_CONFIG`).
pub const CONFIG: i32 = crate::config::EXIT_CONFIG;
/// The state or runtime directory cannot be written (sysexits `EX_CANTCREAT`):
/// restarting will not help, so the unit does not restart on it.
pub const CANT_CREATE: i32 = 73;
