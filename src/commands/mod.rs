//! One module per `enrolld` subcommand: its arguments (clap) and what it does.
//! `main.rs` only routes to these.

pub mod capture;
pub mod check_config;
pub mod probe;
pub mod register;
#[cfg(feature = "demo")]
pub mod standin;

use std::path::Path;

use crate::config::{self, Config};

/// Loads the configuration or prints the located error and returns the
/// process exit status to use.
pub fn load_config_or_exit_code(path: &Path) -> Result<Config, i32> {
    config::load(path).map_err(|e| {
        eprintln!("enrolld: configuration error: {e}");
        crate::exit::CONFIG
    })
}
