//! `enrolld probe` (placeholder).

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {}

pub fn run(_config_path: &Path, _args: &ProbeArgs) -> i32 {
    eprintln!("enrolld: probe is not built yet");
    crate::exit::FAILURE
}
