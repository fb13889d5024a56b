//! The IDMeta bearer token: where it comes from and a type that cannot leak it.
//!
//! The token is read, in this order, from the systemd credential `api-token`
//! (`$CREDENTIALS_DIRECTORY/api-token`), from `api.token_file`, or from the
//! environment variable `ENROLLD_API_TOKEN`. It is never read from the main
//! config file, which is world-readable on most installs.

use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the systemd credential (`LoadCredential=api-token:...`).
pub const CREDENTIAL_NAME: &str = "api-token";
/// Environment variable consulted last.
pub const TOKEN_ENV: &str = "ENROLLD_API_TOKEN";

/// The bearer token. `Debug` and `Display` print `[redacted]`; the only way
/// to the bytes is [`ApiToken::expose`], used when building the header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Validates a token as IDMeta's dashboard issues it: non-empty, no
    /// whitespace. The format (`<int>|<random>` in the wild) is not checked.
    pub fn new(raw: &str) -> Result<Self, TokenError> {
        // Files and credentials commonly end in a newline; nothing else is trimmed.
        let token = raw.strip_suffix('\n').unwrap_or(raw);
        let token = token.strip_suffix('\r').unwrap_or(token);
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TokenError::Whitespace);
        }
        Ok(ApiToken(token.to_owned()))
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken([redacted])")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where the token was found, for `check-config` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Credential(PathBuf),
    File(PathBuf),
    Environment,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Credential(p) => write!(f, "systemd credential {}", p.display()),
            TokenSource::File(p) => write!(f, "file {}", p.display()),
            TokenSource::Environment => write!(f, "environment variable {TOKEN_ENV}"),
        }
    }
}

/// Why no usable token was found. Never carries the token's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "no API token: provide the systemd credential `{CREDENTIAL_NAME}`, set api.token_file, or set {TOKEN_ENV}"
    )]
    Missing,
    #[error("the API token is empty")]
    Empty,
    #[error("the API token contains whitespace or control characters")]
    Whitespace,
    #[error("cannot read the API token from {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the API token from {source_name} is invalid: {problem}")]
    Invalid {
        source_name: String,
        problem: Box<TokenError>,
    },
}

/// The directory systemd put the service's credentials in
/// (`$CREDENTIALS_DIRECTORY`, set for `LoadCredential=` and friends).
pub fn credentials_directory() -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from)
}

/// The file of the systemd credential `name` in `credentials_dir`, if the
/// unit passed one. systemd makes that directory private to the service, so
/// its mode is not ours to judge.
pub fn credential_file(credentials_dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    let path = credentials_dir?.join(name);
    path.exists().then_some(path)
}

/// Finds and validates the token, trying the sources in their documented order.
pub fn load_token(token_file: Option<&Path>) -> Result<(ApiToken, TokenSource), TokenError> {
    load_token_from(
        credentials_directory().as_deref(),
        token_file,
        std::env::var(TOKEN_ENV).ok().as_deref(),
    )
}

/// [`load_token`] with its inputs explicit, so tests need not touch the process environment.
pub fn load_token_from(
    credentials_directory: Option<&Path>,
    token_file: Option<&Path>,
    env_value: Option<&str>,
) -> Result<(ApiToken, TokenSource), TokenError> {
    if let Some(path) = credential_file(credentials_directory, CREDENTIAL_NAME) {
        let token = read_token_file(&path)?;
        return Ok((token, TokenSource::Credential(path)));
    }
    if let Some(path) = token_file {
        let token = read_token_file(path)?;
        return Ok((token, TokenSource::File(path.to_owned())));
    }
    if let Some(value) = env_value {
        let token = ApiToken::new(value).map_err(|e| TokenError::Invalid {
            source_name: TOKEN_ENV.to_owned(),
            problem: Box::new(e),
        })?;
        return Ok((token, TokenSource::Environment));
    }
    Err(TokenError::Missing)
}

fn read_token_file(path: &Path) -> Result<ApiToken, TokenError> {
    let raw = std::fs::read(path).map_err(|e| TokenError::Unreadable {
        path: path.to_owned(),
        reason: unreadable_reason(path, &e),
    })?;
    let text = String::from_utf8(raw).map_err(|_| TokenError::Invalid {
        source_name: path.display().to_string(),
        problem: Box::new(TokenError::Whitespace),
    })?;
    ApiToken::new(&text).map_err(|e| TokenError::Invalid {
        source_name: path.display().to_string(),
        problem: Box::new(e),
    })
}

/// Why a token file cannot be read, and what to do.
fn unreadable_reason(path: &Path, e: &std::io::Error) -> String {
    unreadable_secret_file(
        path,
        e,
        CREDENTIAL_NAME,
        "put the token there on one line (owned by root, mode 0600), or correct api.token_file",
        true,
    )
}

/// Why a secret file (the token, the queue key) cannot be read, and what to
/// do: `if_missing` says what belongs there, `credential` is the systemd
/// credential that can carry it instead, `unit_loads_it` whether the packaged
/// unit already does.
pub fn unreadable_secret_file(
    path: &Path,
    e: &std::io::Error,
    credential: &str,
    if_missing: &str,
    unit_loads_it: bool,
) -> String {
    let path = path.display();
    let packaged = if unit_loads_it {
        ", as the packaged unit does"
    } else {
        ""
    };
    let advice = match e.raw_os_error() {
        Some(libc::ENOENT) => format!("; {if_missing}"),
        Some(libc::EACCES | libc::EPERM) => format!(
            "; under systemd pass it as the credential `{credential}` \
             (LoadCredential={credential}:{path}{packaged}), so it stays root's with mode 0600; \
             otherwise only the user enrolld runs as may read it \
             (`chown enrolld {path}; chmod 600 {path}`)"
        ),
        _ => String::new(),
    };
    format!("{}{advice}", crate::fsutil::describe(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "42|s3cr3t-token-value";

    #[test]
    fn debug_and_display_redact() {
        let t = ApiToken::new(SECRET).unwrap();
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{t}").contains("s3cr3t"));
        assert!(!format!("{:?}", Some(&t)).contains("s3cr3t"));
        assert_eq!(t.expose(), SECRET);
    }

    #[test]
    fn trailing_newline_is_dropped_inner_whitespace_refused() {
        assert_eq!(ApiToken::new("abc\n").unwrap().expose(), "abc");
        assert_eq!(ApiToken::new("a b"), Err(TokenError::Whitespace));
        assert_eq!(ApiToken::new("\n"), Err(TokenError::Empty));
    }

    #[test]
    fn credential_wins_over_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREDENTIAL_NAME), "cred\n").unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "file").unwrap();
        let (t, src) = load_token_from(Some(dir.path()), Some(&file), Some("env")).unwrap();
        assert_eq!(t.expose(), "cred");
        assert!(matches!(src, TokenSource::Credential(_)));
    }

    #[test]
    fn file_wins_over_env_and_env_is_last() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "file").unwrap();
        let (t, _) = load_token_from(Some(dir.path()), Some(&file), Some("env")).unwrap();
        assert_eq!(t.expose(), "file");
        let (t, src) = load_token_from(None, None, Some("env")).unwrap();
        assert_eq!((t.expose(), src), ("env", TokenSource::Environment));
        assert_eq!(load_token_from(None, None, None), Err(TokenError::Missing));
    }

    #[test]
    fn an_unreadable_token_file_says_what_to_do() {
        let missing = Path::new("/nonexistent-enrolld/api-token");
        assert_eq!(
            load_token_from(None, Some(missing), None)
                .unwrap_err()
                .to_string(),
            "cannot read the API token from /nonexistent-enrolld/api-token: No such file or \
             directory (os error 2); put the token there on one line (owned by root, mode \
             0600), or correct api.token_file"
        );
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            unreadable_reason(Path::new("/etc/enrolld/api-token"), &denied),
            "permission denied (Permission denied (os error 13)); under systemd pass it as the \
             credential `api-token` (LoadCredential=api-token:/etc/enrolld/api-token, as the \
             packaged unit does), so it stays root's with mode 0600; otherwise only the user \
             enrolld runs as may read it (`chown enrolld /etc/enrolld/api-token; chmod 600 \
             /etc/enrolld/api-token`)"
        );
    }

    #[test]
    fn errors_never_carry_the_token() {
        let e = load_token_from(None, None, Some("bad token")).unwrap_err();
        assert!(!e.to_string().contains("bad token"));
        assert!(!format!("{e:?}").contains("bad token"));
    }
}
