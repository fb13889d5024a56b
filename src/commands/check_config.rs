//! `enrolld check-config`: validate the configuration and the token, print the
//! effective configuration. The token itself is never printed, only its source.

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
    println!("# {}: valid", config_path.display());
    println!("{token_line}");
    println!("# terminal id: {}", config.terminal.effective_id());
    print!("{}", config.to_toml());
    crate::exit::OK
}
