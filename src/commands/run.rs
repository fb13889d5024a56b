//! `enrolld run`: the daemon, as systemd starts it.

use std::path::Path;

use crate::daemon::{self, DaemonError, Setup, devices};
use crate::{api, exit, logging, secret};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Log at debug level.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(config_path: &Path, args: &RunArgs) -> i32 {
    logging::init(args.verbose);
    if crate::fsutil::FSYNC_TURNED_OFF {
        log::warn!(
            "built with the test-no-fsync feature: nothing is fsynced, so a power cut loses \
             enrollments (a test build for the power-cut harness, never a package)"
        );
    }
    let config = match crate::config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            log::error!("configuration error: {e}");
            return exit::CONFIG;
        }
    };
    let token = match secret::load_token(config.api.token_file.as_deref()) {
        Ok((token, source)) => {
            log::info!("API token from {source}");
            token
        }
        Err(e) => {
            log::error!("{e}");
            return exit::CONFIG;
        }
    };
    let client = match api::Client::new(&config.api, token) {
        Ok(c) => c,
        Err(e) => {
            log::error!("api: {e}");
            return exit::CONFIG;
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let (devices, _presses) = match devices::open(&config) {
            Ok(d) => d,
            Err(e) => {
                log::error!("{e}");
                // The simulated LEDs' record is a file written at run time.
                return match e {
                    devices::DevicesError::Record(_) => exit::CANT_CREATE,
                    devices::DevicesError::Face(_) | devices::DevicesError::Display(_) => {
                        exit::CONFIG
                    }
                    _ => exit::FAILURE,
                };
            }
        };
        let setup = Setup {
            config,
            api: std::sync::Arc::new(client),
            config_path: Some(config_path.to_owned()),
        };
        match daemon::run(setup, devices, std::future::pending()).await {
            Ok(()) => exit::OK,
            Err(e) => {
                log::error!("{e}");
                exit_code_for(&e)
            }
        }
    })
}

/// A state directory that cannot be written will not fix itself by
/// restarting: that gets its own status, which the unit does not restart on.
fn exit_code_for(e: &DaemonError) -> i32 {
    use crate::control::server::BindError;
    match e {
        // A group that does not exist or may not be used is the
        // configuration's fault: restarting cannot help either.
        DaemonError::Control(BindError::NoSuchGroup(_) | BindError::GroupNotAllowed { .. }) => {
            exit::CONFIG
        }
        DaemonError::Store(_)
        | DaemonError::Control(_)
        | DaemonError::Status(_)
        | DaemonError::Metrics(_) => exit::CANT_CREATE,
        DaemonError::Signals(_) => exit::FAILURE,
    }
}
