//! One module per `enrolld` subcommand: its arguments (clap) and what it does.
//! `main.rs` only routes to these.

pub mod capture;
pub mod check_config;
pub mod client;
#[cfg(feature = "demo")]
pub mod demo;
pub mod face_check;
pub mod probe;
pub mod queue;
pub mod register;
pub mod run;

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

/// The async runtime for the daemon and the demo: two workers are plenty on a
/// Pi-class board (captures and HTTPS calls run on blocking threads).
pub fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("enrolld: cannot start the async runtime: {e}");
            crate::exit::FAILURE
        })
}
