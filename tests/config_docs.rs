//! Every configuration key the code accepts is documented once in
//! docs/configuration.md and shown in the commented example
//! systemd/enrolld.toml, and neither names a key the code does not know.
//!
//! The code's keys come from the config types themselves: every section
//! refuses unknown keys, and serde's refusal lists the fields it expected, so
//! feeding each section an unknown key makes the loader name them all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const API: &str = "[api]\nbase_url = \"https://integrate.idmetagroup.com\"\ntemplate_id = \"1\"\n";
const PROBE: &str = "zz_not_a_key";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fields serde expected where it met `PROBE`.
fn expected_fields(text: &str) -> Vec<String> {
    let err = enrolld::config::parse(text, Path::new("probe.toml"))
        .expect_err("an unknown key is refused")
        .to_string();
    let (_, list) = err
        .split_once("expected ")
        .unwrap_or_else(|| panic!("no field list in: {err}"));
    let fields: Vec<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!fields.is_empty(), "no fields in: {err}");
    fields
}

/// `section.key` for every key of every section, from the types.
fn code_keys() -> BTreeSet<String> {
    let sections = expected_fields(&format!("{PROBE} = 1\n{API}"));
    let mut keys = BTreeSet::new();
    for section in sections {
        let text = if section == "api" {
            format!("{API}{PROBE} = 1\n")
        } else {
            format!("{API}[{section}]\n{PROBE} = 1\n")
        };
        for field in expected_fields(&text) {
            keys.insert(format!("{section}.{field}"));
        }
    }
    keys
}

/// Keys in the tables of docs/configuration.md: rows "| `key` |" under "## `[section]`".
fn documented_keys() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let mut section = None;
    let mut keys = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h
                .trim()
                .strip_prefix("`[")
                .and_then(|s| s.strip_suffix("]`"));
        } else if let (Some(s), Some(row)) = (section, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap();
            keys.push(format!("{s}.{key}"));
        }
    }
    keys
}

/// Keys set or shown commented out (`#key = value`) in the example.
fn example_keys() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("systemd/enrolld.toml")).unwrap();
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let body = line.strip_prefix('#').unwrap_or(line);
        let Some((key, _)) = body.split_once(" = ") else {
            continue;
        };
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            keys.push(format!("{section}.{key}"));
        }
    }
    keys
}

fn compare(what: &str, listed: &[String], code: &BTreeSet<String>) {
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    let missing: Vec<_> = code.difference(&listed_set).collect();
    let unknown: Vec<_> = listed_set.difference(code).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{what}: keys the code accepts but it does not show: {missing:?}; \
         keys it shows that the code does not know: {unknown:?}"
    );
}

#[test]
fn the_probe_finds_the_sections_and_their_keys() {
    let keys = code_keys();
    for key in [
        "terminal.id",
        "api.base_url",
        "trigger.line",
        "control.group",
    ] {
        assert!(keys.contains(key), "{key} not found in {keys:?}");
    }
    assert!(keys.len() > 40, "{keys:?}");
}

#[test]
fn every_key_is_documented_once_in_configuration_md() {
    let documented = documented_keys();
    let mut seen = BTreeSet::new();
    for key in &documented {
        assert!(seen.insert(key), "{key} is documented twice");
    }
    compare("docs/configuration.md", &documented, &code_keys());
}

#[test]
fn every_key_is_shown_in_the_example_config() {
    compare("systemd/enrolld.toml", &example_keys(), &code_keys());
}
