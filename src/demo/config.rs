//! The configuration of a terminal on simulated hardware, as one source for
//! the demo, the whole-daemon tests and the footprint bench: each starts from
//! [`simulated_terminal`] and sets only the keys its story needs.
//!
//! A `toml_edit` document rather than a struct, because what is written is a
//! real configuration file that goes through the same loader as a terminal's.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, Value};

/// A terminal whose every file (status, queue, LED record, control socket,
/// tickets) lives in `dir`, with no trigger line, simulated LEDs and camera,
/// talking to `base_url` with the CA in `ca_file`.
pub fn simulated_terminal(
    dir: &Path,
    base_url: &str,
    template_id: &str,
    ca_file: &Path,
) -> DocumentMut {
    let file = |name: &str| dir.join(name).display().to_string();
    let mut doc = DocumentMut::new();
    let sections: [(&str, Vec<(&str, Value)>); 10] = [
        ("terminal", vec![("id", "simulated-terminal".into())]),
        (
            "api",
            vec![
                ("base_url", base_url.into()),
                ("template_id", template_id.into()),
                ("ca_file", ca_file.display().to_string().into()),
            ],
        ),
        ("trigger", vec![("kind", "none".into())]),
        (
            "indicator",
            vec![
                ("kind", "simulated".into()),
                ("record_file", file("leds.jsonl").into()),
            ],
        ),
        (
            "camera",
            vec![
                ("source", "simulated".into()),
                ("width", 1280.into()),
                ("height", 720.into()),
            ],
        ),
        // The generated picture is no face to a real detector: stories that need the face
        // check turn it on with a real photo (`scene`).
        ("face", vec![("enabled", false.into())]),
        // No panel: stories that show the screen write it to a PNG (`display.png_file`).
        ("display", vec![("enabled", false.into())]),
        ("status", vec![("path", file("status.json").into())]),
        ("queue", vec![("dir", file("queue").into())]),
        (
            "control",
            vec![
                ("socket", file("control.sock").into()),
                ("tickets_file", file("tickets.json").into()),
            ],
        ),
    ];
    for (name, keys) in sections {
        let mut table = Table::new();
        for (key, value) in keys {
            table.insert(key, Item::Value(value));
        }
        doc.insert(name, Item::Table(table));
    }
    doc
}

/// Sets `section.key` (the section must exist).
pub fn set(doc: &mut DocumentMut, section: &str, key: &str, value: impl Into<Value>) {
    doc[section][key] = Item::Value(value.into());
}

/// Adds TOML `lines` (`key = value` lines, as written in a file) to `section`,
/// for tests that put in keys the loader should refuse or rarely used ones.
pub fn add_lines(doc: &mut DocumentMut, section: &str, lines: &str) -> Result<(), String> {
    let parsed: DocumentMut = lines.parse().map_err(|e| format!("{e}"))?;
    let table = doc[section]
        .as_table_mut()
        .ok_or_else(|| format!("no section [{section}]"))?;
    for (key, item) in parsed.iter() {
        table.insert(key, item.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulated_terminal_loads() {
        let dir = Path::new("/run/enrolld-test");
        let mut doc = simulated_terminal(dir, "https://127.0.0.1:1", "t", &dir.join("ca.pem"));
        set(&mut doc, "camera", "width", 640);
        add_lines(&mut doc, "queue", "max_entries = 7\n").unwrap();
        let text = doc.to_string();
        let config = crate::config::parse(&text, Path::new("sim.toml")).unwrap();
        assert_eq!(config.camera.width, 640);
        assert_eq!(config.queue.max_entries, 7);
        assert_eq!(config.status.path, dir.join("status.json"));
        assert!(add_lines(&mut doc, "nowhere", "a = 1").is_err());
    }
}
