//! Usernames made from `terminal.username_template` for presses without a ticket.
//!
//! Placeholders: `{terminal_id}`, `{timestamp}` (UTC, `YYYYMMDDTHHMMSSZ`),
//! `{seq}` (the enrollment sequence number). Anything else in braces is a
//! configuration error, caught when the file is loaded rather than at the wall.

const PLACEHOLDERS: [&str; 3] = ["terminal_id", "timestamp", "seq"];

/// What is wrong with a username template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("must not be empty")]
    Empty,
    #[error("has a `{{` without a closing `}}`")]
    Unclosed,
    #[error("has a `}}` without an opening `{{`")]
    Unopened,
    #[error("unknown placeholder `{{{0}}}` (known: {{terminal_id}}, {{timestamp}}, {{seq}})")]
    UnknownPlaceholder(String),
}

/// Checks a template; the error names the offending placeholder.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    if template.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(TemplateError::Unclosed)?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(TemplateError::UnknownPlaceholder(name.to_owned()));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(TemplateError::Unopened);
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
        assert_eq!(
            check_template("{terminal}").unwrap_err().to_string(),
            "unknown placeholder `{terminal}` (known: {terminal_id}, {timestamp}, {seq})"
        );
        assert_eq!(
            check_template("x{seq").unwrap_err().to_string(),
            "has a `{` without a closing `}`"
        );
        assert_eq!(
            check_template("x}").unwrap_err().to_string(),
            "has a `}` without an opening `{`"
        );
        assert_eq!(check_template(" "), Err(TemplateError::Empty));
        assert!(check_template("guest-{seq}").is_ok());
    }
}
