//! `enrolld probe`: what hardware this board offers, for the person setting
//! up a terminal: GPIO chips with every line (name to put in the config,
//! direction, active-low, bias, free or in use by whom), then cameras.
//! The listing needs no configuration file: it is run before there is one.
//! `--watch` then checks the wiring the configuration describes.

use std::path::Path;

use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::gpio;

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// After listing, watch the configured `[trigger]` and `[indicator]`: print each
    /// trigger event and light the LEDs ("registered") for it, until Ctrl-C or
    /// SIGTERM. The LEDs are off when it exits.
    #[arg(long)]
    pub watch: bool,
}

pub fn run(config_path: &Path, args: &ProbeArgs) -> i32 {
    // Load the config first so a broken one fails before any listing.
    let config = if args.watch {
        match super::load_config_or_exit_code(config_path) {
            Ok(c) => Some(c),
            Err(code) => return code,
        }
    } else {
        None
    };
    let mut code = crate::exit::OK;
    println!("== GPIO ==");
    match gpio::probe::describe() {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("enrolld: {e}");
            code = crate::exit::FAILURE;
        }
    }
    println!("== Cameras ==");
    print!("{}", crate::camera::probe::describe_devices());
    match config {
        Some(config) => watch(&config),
        None => code,
    }
}

fn watch(config: &Config) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("enrolld: cannot start the runtime: {e}");
            return crate::exit::FAILURE;
        }
    };
    runtime.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let started = gpio::start_trigger(&config.trigger, tx)
            .and_then(|t| gpio::start_indicator(&config.indicator).map(|i| (t, i)));
        let (trigger, leds) = match started {
            Ok(handles) => handles,
            Err(e) => {
                eprintln!("enrolld: {e}");
                return crate::exit::FAILURE;
            }
        };
        // Handlers first, so a signal right after the banner is not fatal.
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("enrolld: cannot handle signals: {e}");
                return crate::exit::FAILURE;
            }
        };
        let stop = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        println!("== watching (Ctrl-C to stop) ==");
        gpio::watch::watch(rx, &trigger, leds, &mut std::io::stdout(), stop).await;
        crate::exit::OK
    })
}
