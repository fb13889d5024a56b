//! The configuration file: TOML in, a validated, typed [`Config`] out.
//!
//! Every error names the file, the dotted key and the line, because the person
//! reading it is standing at a terminal with an editor, not a debugger. Unknown
//! keys are errors (a misspelt key silently ignored is a terminal that behaves
//! unlike its config). Each section's module owns the struct of its section
//! and its checks (`terminal`, `api`, `gpio`, `camera`, `face`, `status`, `queue`,
//! `control`, `fleet` for `[mqtt]` and `[metrics]`); this module only assembles them and turns their findings
//! ([`Invalid`], from the leaf `invalid`) into located errors. Imports go one
//! way, from here to the sections: a test below keeps it so.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

pub use crate::invalid::ConfigError;
use crate::invalid::Invalid;
use crate::{api, camera, control, display, face, fleet, gpio, queue, status, terminal};

/// Where the daemon looks when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/enrolld/enrolld.toml";

/// The whole, validated configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub terminal: terminal::TerminalConfig,
    pub api: api::ApiConfig,
    #[serde(default)]
    pub trigger: gpio::TriggerConfig,
    #[serde(default)]
    pub indicator: gpio::IndicatorConfig,
    #[serde(default)]
    pub camera: camera::CameraConfig,
    #[serde(default)]
    pub face: face::FaceConfig,
    #[serde(default)]
    pub display: display::DisplayConfig,
    #[serde(default)]
    pub status: status::StatusConfig,
    #[serde(default)]
    pub queue: queue::QueueConfig,
    #[serde(default)]
    pub control: control::ControlConfig,
    #[serde(default)]
    pub mqtt: fleet::MqttConfig,
    #[serde(default)]
    pub metrics: fleet::MetricsConfig,
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
        within("face", self.face.validate())?;
        within("display", self.display.validate())?;
        within("status", self.status.validate())?;
        within("queue", self.queue.validate())?;
        within("control", self.control.validate())?;
        within("mqtt", self.mqtt.validate())?;
        within("metrics", self.metrics.validate())?;
        // The PNG file holds the camera's picture: a face, never stored on a real terminal.
        if self.display.png_file.is_some() && self.camera.source != camera::SourceKind::Simulated {
            return Err(Invalid::new(
                "display.png_file",
                "writes the camera's picture to a file: only with camera.source = \"simulated\" \
                 (the demo, tests); a terminal shows the picture on its panel only",
            ));
        }
        // The terminal id is a level of every MQTT topic.
        if self.mqtt.enabled()
            && let Err(why) = fleet::config::topic_segment(&self.terminal.effective_id())
        {
            return Err(Invalid::new("terminal.id", format!("{why}; [mqtt] is on")));
        }
        Ok(())
    }

    /// The effective configuration as TOML, for `enrolld check-config`. The
    /// token never lives in this struct, so nothing needs redacting here.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
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
    fn api_version_is_1_by_default_and_only_1_or_3() {
        let c = parse(MINIMAL, Path::new("t.toml")).unwrap();
        assert_eq!(c.api.version, api::ApiVersion::V1);
        let c = parse(
            &format!(
                "{MINIMAL}version = 3
"
            ),
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(c.api.version, api::ApiVersion::V3);
        let e = err(&format!(
            "{MINIMAL}version = 2
"
        ));
        assert_eq!(e.key(), Some("api.version"));
        assert_eq!(e.line(), Some(4));
        assert!(e.to_string().contains("must be 1 (IDMeta's v1"), "{e}");
    }

    #[test]
    fn under_v3_the_trust_flow_id_must_be_an_integer() {
        let text = "[api]\nversion = 3\nbase_url = \"https://integrate.idmetagroup.com\"\n\
                    template_id = \"flow-a\"\n";
        let e = err(text);
        assert_eq!(e.key(), Some("api.template_id"));
        assert_eq!(e.line(), Some(4));
        assert!(
            e.to_string()
                .contains("`flow-a` is not a whole number; api.version = 3 sends it as the integer trustFlowId"),
            "{e}"
        );
        // The same id is fine under v1, where template_id is a string.
        parse(
            &text.replace("version = 3", "version = 1"),
            Path::new("t.toml"),
        )
        .unwrap();
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
            let is_other_kind =
                body.contains("# presence only") || body.contains("# simulated only");
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
