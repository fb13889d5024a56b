//! The configuration file: TOML in, a validated, typed [`Config`] out.
//!
//! Every error names the file, the dotted key and the line, because the person
//! reading it is standing at a terminal with an editor, not a debugger. Unknown
//! keys are errors (a misspelt key silently ignored is a terminal that behaves
//! unlike its config). Each hardware or service module owns the struct of its
//! own section and its checks; this module only composes them and turns their
//! findings into located errors.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

use crate::{camera, control, gpio, queue, status};

/// Where the daemon looks when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/enrolld/enrolld.toml";

/// Exit status for a configuration error (sysexits.h `EX_CONFIG`); systemd
/// units can use it in `RestartPreventExitStatus=` so a broken config does not
/// crash-loop.
pub const EXIT_CONFIG: i32 = 78;

/// The whole, validated configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub terminal: TerminalConfig,
    pub api: ApiConfig,
    #[serde(default)]
    pub trigger: gpio::TriggerConfig,
    #[serde(default)]
    pub indicator: gpio::IndicatorConfig,
    #[serde(default)]
    pub camera: camera::CameraConfig,
    #[serde(default)]
    pub status: status::StatusConfig,
    #[serde(default)]
    pub queue: queue::QueueConfig,
    #[serde(default)]
    pub control: control::ControlConfig,
}

/// `[terminal]`: who this terminal is.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalConfig {
    /// Identifies the terminal in usernames made from the template and in logs.
    /// Defaults to the host name.
    pub id: Option<String>,
    /// Username for a press with no pending ticket, e.g. `"{terminal_id}-{timestamp}"`.
    /// Without it, such a press is refused.
    pub username_template: Option<String>,
}

/// `[api]`: how to reach IDMeta.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// `https://<environment>.idmetagroup.com`; `http://` only for loopback hosts.
    pub base_url: String,
    /// The trust flow id sent as `template_id`.
    pub template_id: String,
    /// A file holding the bearer token, used when no systemd credential `api-token` is given.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Extra PEM CA certificates to trust (private CAs, tests).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the bundled public roots (pinning a private CA).
    #[serde(default)]
    pub ca_file_only: bool,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Call finalize-verification after each successful registration.
    #[serde(default)]
    pub finalize: bool,
    /// The largest JPEG enrolld will send; the encoder lowers quality to fit.
    #[serde(default = "default_max_image_bytes")]
    pub max_image_bytes: usize,
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_request_timeout_ms() -> u64 {
    30_000
}
fn default_max_image_bytes() -> usize {
    1_500_000
}

/// A finding of a section's own checks: which key (relative to the section)
/// and what is wrong with it. [`load`] turns it into a located [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What went wrong loading the configuration, located as precisely as the
/// file allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}:{line}: {key}: {message}", key = key.as_deref().unwrap_or("(syntax)"))]
    Invalid {
        path: PathBuf,
        /// Dotted key, `None` for a syntax error that has no key yet.
        key: Option<String>,
        /// 1-based line; 0 when the key is absent from the file (a missing required key).
        line: usize,
        message: String,
    },
}

impl ConfigError {
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => key.as_deref(),
            ConfigError::Read { .. } => None,
        }
    }
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Read { .. } => None,
        }
    }
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    parse(&text, path)
}

/// Parses and validates configuration text; `path` only labels errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let located =
        |key: Option<String>, span: Option<Range<usize>>, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            line: span.map(|s| line_of(text, s.start)).unwrap_or(0),
            message,
        };

    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|e| located(None, e.span(), first_line(e.message())))?;
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path_str = e.path().to_string();
        let inner = e.inner();
        let message = first_line(inner.message());
        // serde's path names an unknown key itself, but stops at the struct
        // that misses a required one: add the missing key's name.
        let key = match missing_field_name(&message) {
            Some(field) if path_str == "." => field,
            Some(field) => format!("{path_str}.{field}"),
            None => path_str,
        };
        let span = inner.span().or_else(|| span_of_key(text, &key));
        located(Some(key), span, message)
    })?;

    if let Err(invalid) = config.validate() {
        let span = span_of_key(text, &invalid.key);
        return Err(located(Some(invalid.key), span, invalid.message));
    }
    Ok(config)
}

impl Config {
    /// Cross-section and per-section checks; keys in the result are fully dotted.
    fn validate(&self) -> Result<(), Invalid> {
        let within = |section: &str, r: Result<(), Invalid>| {
            r.map_err(|i| Invalid::new(format!("{section}.{}", i.key), i.message))
        };
        within("terminal", self.terminal.validate())?;
        within("api", self.api.validate())?;
        within("trigger", self.trigger.validate())?;
        within("indicator", self.indicator.validate())?;
        within("camera", self.camera.validate())?;
        within("status", self.status.validate())?;
        within("queue", self.queue.validate())?;
        within("control", self.control.validate())?;
        Ok(())
    }

    /// The effective configuration as TOML, for `enrolld check-config`. The
    /// token never lives in this struct, so nothing needs redacting here.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

impl TerminalConfig {
    /// The terminal id, falling back to the host name.
    pub fn effective_id(&self) -> String {
        self.id.clone().unwrap_or_else(host_name)
    }

    fn validate(&self) -> Result<(), Invalid> {
        if let Some(id) = &self.id
            && (id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            return Err(Invalid::new(
                "id",
                "must be non-empty, without spaces or control characters",
            ));
        }
        if let Some(t) = &self.username_template {
            crate::username::check_template(t).map_err(|m| Invalid::new("username_template", m))?;
        }
        Ok(())
    }
}

impl ApiConfig {
    fn validate(&self) -> Result<(), Invalid> {
        crate::api::check_base_url(&self.base_url).map_err(|m| Invalid::new("base_url", m))?;
        if self.template_id.trim().is_empty() {
            return Err(Invalid::new("template_id", "must not be empty"));
        }
        if self.ca_file_only && self.ca_file.is_none() {
            return Err(Invalid::new("ca_file_only", "needs api.ca_file"));
        }
        if !(100..=120_000).contains(&self.connect_timeout_ms) {
            return Err(Invalid::new(
                "connect_timeout_ms",
                "must be between 100 and 120000",
            ));
        }
        // The unit's stop timeout is sized for the longest request (see
        // daemon::budgets), so a longer one could not finish when stopping.
        if !(1_000..=crate::daemon::budgets::MAX_REQUEST_TIMEOUT_MS)
            .contains(&self.request_timeout_ms)
        {
            return Err(Invalid::new(
                "request_timeout_ms",
                "must be between 1000 and 90000",
            ));
        }
        if self.request_timeout_ms < self.connect_timeout_ms {
            return Err(Invalid::new(
                "request_timeout_ms",
                "must not be shorter than api.connect_timeout_ms",
            ));
        }
        if !(10_000..=10_000_000).contains(&self.max_image_bytes) {
            return Err(Invalid::new(
                "max_image_bytes",
                "must be between 10000 and 10000000",
            ));
        }
        Ok(())
    }
}

/// The host name by gethostname(2): it works under the shipped unit, whose
/// `ProcSubset=pid` hides /proc/sys/kernel/hostname (every terminal would
/// otherwise be called "enrolld").
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).trim().to_owned()
    } else {
        String::new()
    };
    if name.is_empty() {
        "enrolld".to_owned()
    } else {
        name
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The span of a dotted key in the file (the key itself), or of the deepest
/// table on its path that exists, so a missing key points at its section.
fn span_of_key(text: &str, dotted: &str) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut best: Option<Range<usize>> = None;
    for part in dotted.split('.').filter(|p| !p.is_empty()) {
        // A key left at its default is not in the file: point at its table.
        let Some((key, value)) = table.get_key_value(part) else {
            break;
        };
        best = Some(key.span());
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"129\"\n";

    fn err(text: &str) -> ConfigError {
        parse(text, Path::new("t.toml")).expect_err("should be rejected")
    }

    #[test]
    fn minimal_config_parses_with_defaults() {
        let c = parse(MINIMAL, Path::new("t.toml")).unwrap();
        assert_eq!(c.api.connect_timeout_ms, 5_000);
        assert_eq!(c.api.request_timeout_ms, 30_000);
        assert_eq!(c.api.max_image_bytes, 1_500_000);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = err(&format!("{MINIMAL}colour = \"red\"\n"));
        assert_eq!(e.key(), Some("api.colour"));
        assert_eq!(e.line(), Some(4));
    }

    #[test]
    fn unknown_section_is_named() {
        let e = err(&format!("{MINIMAL}\n[cammera]\ndevice = \"/dev/video0\"\n"));
        assert_eq!(e.key(), Some("cammera"));
        assert_eq!(e.line(), Some(5));
    }

    #[test]
    fn wrong_type_is_named_with_its_line() {
        let e = err(&format!("{MINIMAL}connect_timeout_ms = \"fast\"\n"));
        assert_eq!(e.key(), Some("api.connect_timeout_ms"));
        assert_eq!(e.line(), Some(4));
    }

    #[test]
    fn missing_required_key_points_at_its_section() {
        let e = err("[api]\nbase_url = \"https://integrate.idmetagroup.com\"\n");
        assert_eq!(e.key(), Some("api.template_id"));
        assert_eq!(e.line(), Some(1));
        assert!(e.to_string().contains("missing field `template_id`"), "{e}");
    }

    #[test]
    fn missing_section_is_named() {
        let e = err("[terminal]\nid = \"t1\"\n");
        assert_eq!(e.key(), Some("api"));
    }

    #[test]
    fn http_to_a_remote_host_is_refused_on_its_line() {
        let e =
            err("[api]\ntemplate_id = \"1\"\nbase_url = \"http://integrate.idmetagroup.com\"\n");
        assert_eq!(e.key(), Some("api.base_url"));
        assert_eq!(e.line(), Some(3));
    }

    #[test]
    fn http_to_loopback_is_allowed() {
        let text = "[api]\ntemplate_id = \"1\"\nbase_url = \"http://127.0.0.1:8080\"\n";
        parse(text, Path::new("t.toml")).unwrap();
    }

    #[test]
    fn malformed_url_is_refused() {
        let e = err("[api]\ntemplate_id = \"1\"\nbase_url = \"integrate.idmetagroup.com\"\n");
        assert_eq!(e.key(), Some("api.base_url"));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = err("[api]\nbase_url = \"https://x\n");
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("t.toml:2:"), "{e}");
    }

    #[test]
    fn a_rule_broken_by_a_default_points_at_the_section() {
        // Found by the config_parse fuzz target: the error said line 0.
        let e = err(&format!("{MINIMAL}connect_timeout_ms = 60000\n"));
        assert_eq!(e.key(), Some("api.request_timeout_ms"));
        assert_eq!(e.line(), Some(1));
    }

    #[test]
    fn error_display_is_file_line_key_message() {
        let e = err(&format!("{MINIMAL}request_timeout_ms = 10\n"));
        assert_eq!(
            e.to_string(),
            "t.toml:4: api.request_timeout_ms: must be between 1000 and 90000"
        );
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The example installed as /etc/enrolld/enrolld.toml must load as is.
    #[test]
    fn shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/enrolld.toml");
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.api.base_url, "https://integrate.idmetagroup.com");
    }

    /// Every commented-out `#key = value` line in the example is a real key
    /// with a valid value: uncommenting all of them (pair-only lines aside)
    /// still loads.
    #[test]
    fn example_defaults_shown_in_comments_are_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/enrolld.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let body = line.strip_prefix('#').unwrap_or(line);
            let is_setting = line.starts_with('#')
                && body.contains(" = ")
                && !body.starts_with(' ')
                && !body.contains("kind = \"pair\"");
            let is_other_kind = body.contains("# presence only");
            if is_setting && !is_other_kind {
                out.push_str(body);
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        parse(&out, Path::new("uncommented.toml")).unwrap_or_else(|e| panic!("{e}\n{out}"));
    }
}
