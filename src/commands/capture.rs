//! `enrolld capture` (placeholder).

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {}

pub fn run(_config_path: &Path, _args: &CaptureArgs) -> i32 {
    eprintln!("enrolld: capture is not built yet");
    crate::exit::FAILURE
}
