//! Usernames made from `terminal.username_template` for presses without a ticket.
//!
//! Placeholders: `{terminal_id}`, `{timestamp}` (UTC, `YYYYMMDDTHHMMSSZ`),
//! `{seq}` (the enrollment sequence number). Anything else in braces is a
//! configuration error, caught when the file is loaded rather than at the wall.

const PLACEHOLDERS: [&str; 3] = ["terminal_id", "timestamp", "seq"];

/// Checks a template; the error names the offending placeholder.
pub fn check_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "has a `{` without a closing `}`".to_owned())?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}` (known: {{terminal_id}}, {{timestamp}}, {{seq}})"
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a `}` without an opening `{`".to_owned());
    }
    Ok(())
}

/// Fills a template checked by [`check_template`].
pub fn render(template: &str, terminal_id: &str, unix_seconds: u64, seq: u64) -> String {
    template
        .replace("{terminal_id}", terminal_id)
        .replace("{timestamp}", &utc_compact(unix_seconds))
        .replace("{seq}", &seq.to_string())
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time, without pulling in a date crate.
pub fn utc_compact(unix_seconds: u64) -> String {
    let (y, mo, d, h, mi, s) = crate::time::civil_from_unix(unix_seconds);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_all_placeholders() {
        let u = render(
            "{terminal_id}-{timestamp}-{seq}",
            "lobby1",
            1_753_866_900,
            7,
        );
        assert_eq!(u, "lobby1-20250730T091500Z-7");
    }

    #[test]
    fn rejects_unknown_and_unbalanced_placeholders() {
        assert!(
            check_template("{terminal}")
                .unwrap_err()
                .contains("{terminal}")
        );
        assert!(check_template("x{seq").is_err());
        assert!(check_template("x}").is_err());
        assert!(check_template("guest-{seq}").is_ok());
    }
}
