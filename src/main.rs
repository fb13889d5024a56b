//! `enrolld`: command-line entry. Parses arguments and hands over to the
//! library (`enrolld::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let code = enrolld::cli::run(&enrolld::cli::Cli::parse());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
