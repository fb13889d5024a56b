//! `enrolld`: command-line entry. Parses arguments and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
#[cfg(feature = "demo")]
use enrolld::commands::standin;
use enrolld::commands::{capture, check_config, probe, register};

#[derive(Debug, Parser)]
#[command(
    name = "enrolld",
    version,
    about = "Face-enrollment terminal daemon for IDMeta"
)]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = enrolld::config::DEFAULT_PATH, value_name = "PATH")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and print it as enrolld will use it (secret redacted).
    CheckConfig(check_config::CheckConfigArgs),
    /// Register one JPEG file with IDMeta and print the outcome as JSON.
    Register(register::RegisterArgs),
    /// List GPIO chips with their lines and V4L2 cameras with their formats.
    Probe(probe::ProbeArgs),
    /// Capture one frame through the configured camera and save it as JPEG.
    Capture(capture::CaptureArgs),
    /// Run the IDMeta stand-in HTTPS server (tests, QEMU guests).
    #[cfg(feature = "demo")]
    #[command(hide = true)]
    Standin(standin::StandinArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::CheckConfig(a) => check_config::run(&cli.config, a),
        Command::Register(a) => register::run(&cli.config, a),
        Command::Probe(a) => probe::run(&cli.config, a),
        Command::Capture(a) => capture::run(&cli.config, a),
        #[cfg(feature = "demo")]
        Command::Standin(a) => standin::run(&cli.config, a),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
