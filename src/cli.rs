//! The command line: what `enrolld` accepts, as clap definitions, and the
//! dispatch to each command. In the library so the man page generator
//! (tests/man_pages.rs writes docs/man/enrolld.8) reads the same definitions
//! the binary parses.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[cfg(feature = "demo")]
use crate::commands::demo;
use crate::commands::{capture, check_config, client, face_check, probe, queue, register, run};

#[derive(Debug, Parser)]
#[command(
    name = "enrolld",
    version,
    about = "Face-enrollment terminal daemon for IDMeta"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = crate::config::DEFAULT_PATH, value_name = "PATH")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the terminal daemon (what systemd starts).
    Run(run::RunArgs),
    /// The terminal on simulated hardware against an IDMeta stand-in on loopback.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Validate the configuration and print it as enrolld will use it (secret redacted).
    CheckConfig(check_config::CheckConfigArgs),
    /// Register one JPEG file with IDMeta and print the outcome as JSON.
    Register(register::RegisterArgs),
    /// List GPIO chips with their lines and V4L2 cameras with their formats.
    Probe(probe::ProbeArgs),
    /// Capture one frame through the configured camera and save it as JPEG.
    Capture(capture::CaptureArgs),
    /// Check a picture for one well-placed face, as the daemon checks camera frames.
    FaceCheck(face_check::FaceCheckArgs),
    /// Queue a ticket: the next press enrolls this person.
    Enroll(client::EnrollArgs),
    /// Press the button remotely.
    Trigger(client::TriggerArgs),
    /// Print the running daemon's live status.
    Status(client::StatusArgs),
    /// Stream what the screen shows, one JSON line per change (state, prompt, countdown,
    /// outcome), until the daemon stops: for an integrator's own screen.
    Watch(client::WatchArgs),
    /// The screen: the installer's setup view, back to normal, or wake it.
    Display(client::DisplayArgs),
    /// The offline queue and unknown deliveries: list, resend, drop, resume.
    Queue(queue::QueueArgs),
}

/// Runs the command `cli` names; the result is the process exit status.
pub fn run(cli: &Cli) -> i32 {
    match &cli.command {
        Command::Run(a) => run::run(&cli.config, a),
        #[cfg(feature = "demo")]
        Command::Demo(a) => demo::run(&cli.config, a),
        Command::CheckConfig(a) => check_config::run(&cli.config, a),
        Command::Register(a) => register::run(&cli.config, a),
        Command::Probe(a) => probe::run(&cli.config, a),
        Command::Capture(a) => capture::run(&cli.config, a),
        Command::FaceCheck(a) => face_check::run(&cli.config, a),
        Command::Enroll(a) => client::enroll(&cli.config, a),
        Command::Trigger(a) => client::trigger(&cli.config, a),
        Command::Status(a) => client::status(&cli.config, a),
        Command::Watch(a) => client::watch(&cli.config, a),
        Command::Display(a) => client::display(&cli.config, a),
        Command::Queue(a) => queue::run(&cli.config, a),
    }
}
