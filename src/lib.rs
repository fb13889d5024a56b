//! enrolld: the daemon of a wall-mounted face-enrollment terminal.
//!
//! A press (GPIO button or presence sensor) becomes a camera frame, a JPEG,
//! and one IDMeta biometrics registration over TLS; the outcome is shown on an
//! LED and written to a status file. See README.md for the whole picture.
//!
//! The binary (`src/main.rs`) only parses arguments; everything it runs lives
//! here so tests and benchmarks use the same code.

pub mod api;
pub mod camera;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod display;
pub mod exit;
pub mod face;
pub mod fleet;
pub mod fsutil;
pub mod gpio;
pub mod invalid;
pub mod led;
pub mod logging;
pub mod machine;
pub mod press;
pub mod prompt;
pub mod queue;
pub mod screen;
pub mod secret;
pub mod shutdown;
pub mod status;
pub mod store;
pub mod terminal;
pub mod tickets;
pub mod time;
pub mod username;
