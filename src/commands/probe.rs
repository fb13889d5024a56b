//! `enrolld probe`: what hardware this board offers, for the person setting
//! up a terminal: GPIO chips with every line (name to put in the config,
//! direction, active-low, bias, free or in use by whom), then cameras.
//! Needs no configuration file: it is run before there is one.

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {}

pub fn run(_config_path: &Path, _args: &ProbeArgs) -> i32 {
    let mut code = crate::exit::OK;
    println!("== GPIO ==");
    match crate::gpio::probe::describe() {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("enrolld: {e}");
            code = crate::exit::FAILURE;
        }
    }
    // == Cameras ==: the camera part (V4L2 devices, driver, card, formats,
    // frame sizes) is printed here by the camera module's probe function.
    code
}
