//! The broker password, under the API token's rules: from the systemd
//! credential `mqtt-password`, else from `mqtt.password_file`; never from
//! the main config file, and never in a log line, the status or an error.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::secret;

/// `LoadCredential=mqtt-password:/etc/enrolld/mqtt-password`
pub const CREDENTIAL_NAME: &str = "mqtt-password";

/// `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// For the CONNECT packet only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Why the password could not be read. Never carries its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the MQTT password from {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the MQTT password in {path} is empty, not UTF-8 or holds control characters: put it \
         there on one line"
    )]
    Invalid { path: PathBuf },
}

/// The password, if one is configured; the credential wins over the file.
pub fn load(password_file: Option<&Path>) -> Result<Option<Password>, PasswordError> {
    load_from(secret::credentials_directory().as_deref(), password_file)
}

/// [`load`] with the credentials directory explicit, for tests.
pub fn load_from(
    credentials_directory: Option<&Path>,
    password_file: Option<&Path>,
) -> Result<Option<Password>, PasswordError> {
    let path = match secret::credential_file(credentials_directory, CREDENTIAL_NAME) {
        Some(p) => p,
        None => match password_file {
            Some(p) => p.to_owned(),
            None => return Ok(None),
        },
    };
    let raw = std::fs::read(&path).map_err(|e| PasswordError::Unreadable {
        reason: secret::unreadable_secret_file(
            &path,
            &e,
            CREDENTIAL_NAME,
            "put the broker password there on one line (owned by root, mode 0600), or correct \
             mqtt.password_file",
            true,
        ),
        path: path.clone(),
    })?;
    let invalid = || PasswordError::Invalid { path: path.clone() };
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() || text.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(Some(Password(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "broker-s3cret pass";

    #[test]
    fn the_credential_wins_and_nothing_shows_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        let p = load_from(None, Some(&file)).unwrap().unwrap();
        assert_eq!(p.expose(), SECRET);
        assert!(!format!("{p:?}").contains("s3cret"));

        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join(CREDENTIAL_NAME), "other\n").unwrap();
        let p = load_from(Some(&creds), Some(&file)).unwrap().unwrap();
        assert_eq!(p.expose(), "other");

        assert_eq!(load_from(None, None), Ok(None));
        std::fs::write(&file, format!("{SECRET}\u{7}\n")).unwrap();
        let e = load_from(None, Some(&file)).unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
        let e = load_from(None, Some(&dir.path().join("missing")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mqtt.password_file"), "{e}");
    }
}
