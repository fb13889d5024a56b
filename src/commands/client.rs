//! `enrolld enroll`, `enrolld trigger`, `enrolld status`: talk to a running
//! daemon over its control socket.

use std::path::{Path, PathBuf};

use crate::control::client::{self, ClientError};
use crate::control::protocol::Request;

/// Where the daemon listens: `--socket`, else `control.socket` from the config.
#[derive(Debug, clap::Args)]
pub struct SocketArgs {
    /// Control socket (default: control.socket from the configuration).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

impl SocketArgs {
    /// `--socket`, else `control.socket` of a loaded configuration.
    pub fn path(&self, config: &crate::config::Config) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| config.control.socket.clone())
    }
}

#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// Who the next press enrolls.
    #[arg(long)]
    username: String,
    /// An existing IDMeta verification id; without it one is created.
    #[arg(long)]
    verification_id: Option<String>,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
pub struct DisplayArgs {
    #[command(subcommand)]
    what: DisplayWhat,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum DisplayWhat {
    /// The installer's setup view: the camera's picture with every face found, the margins,
    /// the score, the reason and the frame rate (off by itself after ten minutes).
    Setup,
    /// Back to what a person sees.
    Normal,
    /// Wake a screen that went to sleep after idle.
    Wake,
}

pub fn enroll(config_path: &Path, args: &EnrollArgs) -> i32 {
    with_socket(config_path, &args.socket, |socket| {
        let position = client::enroll(socket, &args.username, args.verification_id.as_deref())?;
        println!("ticket queued for {}: position {position}", args.username);
        Ok(())
    })
}

pub fn trigger(config_path: &Path, args: &TriggerArgs) -> i32 {
    with_socket(config_path, &args.socket, |socket| {
        let reply = client::request(socket, &Request::Trigger)?;
        match reply.get("ignored").and_then(|v| v.as_str()) {
            Some(why) => println!("press ignored: {why}"),
            None => println!("press accepted: capturing"),
        }
        Ok(())
    })
}

pub fn status(config_path: &Path, args: &StatusArgs) -> i32 {
    with_socket(config_path, &args.socket, |socket| {
        let status = client::status(socket)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        Ok(())
    })
}

/// Prints every line the daemon streams (one JSON object per change of the screen) until it
/// stops.
pub fn watch(config_path: &Path, args: &WatchArgs) -> i32 {
    with_socket(config_path, &args.socket, |socket| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A closed stdout (`enrolld watch | head`) ends the stream.
        client::watch(socket, |line| {
            writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
        })
    })
}

pub fn display(config_path: &Path, args: &DisplayArgs) -> i32 {
    with_socket(config_path, &args.socket, |socket| {
        let request = match args.what {
            DisplayWhat::Setup => Request::DisplaySetup,
            DisplayWhat::Normal => Request::DisplayNormal,
            DisplayWhat::Wake => Request::DisplayWake,
        };
        let reply = client::request(socket, &request)?;
        let screen = reply.get("display");
        let shown = screen.and_then(|d| d["device"].as_str());
        let problem = screen.and_then(|d| d["detail"].as_str());
        match (args.what, shown, problem) {
            (_, None, Some(problem)) => println!("no screen: {problem}"),
            (_, None, None) => println!("no screen (display.enabled = false)"),
            (DisplayWhat::Setup, Some(on), _) => {
                println!(
                    "setup view on {on} (`enrolld display normal` ends it; it ends by itself after ten minutes)"
                );
            }
            (DisplayWhat::Normal, Some(on), _) => println!("normal view on {on}"),
            (DisplayWhat::Wake, Some(on), _) => println!("{on} awake"),
        }
        Ok(())
    })
}

fn with_socket(
    config_path: &Path,
    args: &SocketArgs,
    f: impl FnOnce(&Path) -> Result<(), ClientError>,
) -> i32 {
    let socket = match &args.socket {
        Some(s) => s.clone(),
        None => match super::load_config_or_exit_code(config_path) {
            Ok(c) => c.control.socket,
            Err(code) => return code,
        },
    };
    match f(&socket) {
        Ok(()) => crate::exit::OK,
        Err(e) => {
            eprintln!("enrolld: {e}");
            crate::exit::FAILURE
        }
    }
}
