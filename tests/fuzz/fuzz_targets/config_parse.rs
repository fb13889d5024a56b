//! Any text as a configuration file: parsed and validated, or refused with
//! an error that names a line (when it has one) within the text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match enrolld::config::parse(text, Path::new("/etc/enrolld/enrolld.toml")) {
        Ok(config) => {
            // What check-config prints must parse back to the same thing.
            let again = enrolld::config::parse(&config.to_toml(), Path::new("again.toml"))
                .expect("check-config output parses");
            assert_eq!(again.to_toml(), config.to_toml());
        }
        Err(e) => {
            let _ = e.to_string();
            if let Some(line) = e.line() {
                assert!(
                    line >= 1 && line <= text.lines().count().max(1) + 1,
                    "line {line}"
                );
            }
        }
    }
});
