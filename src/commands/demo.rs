//! `enrolld demo`: the terminal on simulated hardware against an IDMeta
//! stand-in on loopback. See [`crate::demo`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::demo::{self, DemoOptions};
use crate::{exit, logging};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Also press automatically every SECS seconds (default when stdin is not a terminal: 4).
    #[arg(long, value_name = "SECS")]
    every: Option<f64>,
    /// Stop after SECS seconds (default: until Ctrl-C or `q`).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Directory for the demo's files (default: a new one under /tmp).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Log at debug level.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(_config_path: &Path, args: &DemoArgs) -> i32 {
    // Plain lines under the demo's status line, without the journal fields.
    logging::init_with(args.verbose, Box::new(demo::screen::ScreenLog));
    let seconds = |s: Option<f64>| s.filter(|s| *s > 0.0).map(Duration::from_secs_f64);
    let options = DemoOptions {
        every: seconds(args.every),
        duration: seconds(args.duration),
        dir: args.dir.clone(),
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(demo::run(options)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("enrolld demo: {e}");
            exit::FAILURE
        }
    }
}
