//! `enrolld register` (placeholder).

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {}

pub fn run(_config_path: &Path, _args: &RegisterArgs) -> i32 {
    eprintln!("enrolld: register is not built yet");
    crate::exit::FAILURE
}
