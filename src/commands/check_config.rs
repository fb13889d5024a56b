//! `enrolld check-config`: validate the configuration, the token and the MQTT
//! password and TLS files, print the effective configuration. Secrets are
//! never printed, only where they come from.

use std::path::Path;

use crate::secret;

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {}

pub fn run(config_path: &Path, _args: &CheckConfigArgs) -> i32 {
    let config = match super::load_config_or_exit_code(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let token_line = match secret::load_token(config.api.token_file.as_deref()) {
        Ok((_, source)) => format!("# api token: [redacted], from {source}"),
        Err(e) => {
            eprintln!("enrolld: {e}");
            return crate::exit::CONFIG;
        }
    };
    let terminal_id = config.terminal.effective_id();
    let mqtt_line = match crate::fleet::setup::check(&config.mqtt, &terminal_id) {
        Ok(line) => format!("# mqtt: {line}"),
        Err(e) => {
            eprintln!("enrolld: {e}");
            return crate::exit::CONFIG;
        }
    };
    println!("# {}: valid", config_path.display());
    println!("{token_line}");
    println!("{mqtt_line}");
    println!("# terminal id: {terminal_id}");
    println!("# api version {}", config.api.version.explain());
    print!("{}", config.to_toml());
    crate::exit::OK
}
