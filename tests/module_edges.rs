//! The crate's top-level modules and which ones each uses, read from `src/`.
//!
//! Keeps the configuration one-way: `config` assembles the sections' types,
//! so no section module may use `config`, directly or through another
//! module, and the leaf `invalid` (the errors every section reports) uses no
//! other module of the crate. Run with `--nocapture` to see the edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules that own a section of the configuration file.
const SECTIONS: [&str; 8] = [
    "api", "camera", "control", "fleet", "gpio", "queue", "status", "terminal",
];
/// Modules that must not use any other module of the crate.
const LEAVES: [&str; 3] = ["invalid", "led", "press"];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_section_module_uses_config() {
    let graph = module_graph();
    for (from, to) in &graph {
        eprintln!(
            "{from} -> {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    for section in SECTIONS {
        assert!(graph.contains_key(section), "module {section} not found");
        let reached = reachable(&graph, section);
        assert!(
            !reached.contains("config"),
            "{section} uses config (path: {}); a section owns its type and reports \
             crate::invalid::Invalid, config assembles the sections",
            path_to(&graph, section, "config").join(" -> ")
        );
    }
}

#[test]
fn leaves_use_nothing_of_the_crate() {
    let graph = module_graph();
    for leaf in LEAVES {
        let uses = graph
            .get(leaf)
            .unwrap_or_else(|| panic!("module {leaf} not found"));
        assert!(uses.is_empty(), "{leaf} is a leaf but uses {uses:?}");
    }
}

#[test]
fn the_scanner_sees_every_kind_of_path() {
    let text = "use crate::{api, gpio::{self, Pattern}};\nuse super::config::X;\n\
                // crate::queue in a comment\nlet a = crate::status::f();\n";
    let found = uses_in(text, &["x".into(), "y".into()]);
    let want: BTreeSet<String> = ["api", "gpio", "status", "x"].map(String::from).into();
    assert_eq!(found, want);
    let from_root = uses_in("use super::config::X;", &["x".into()]);
    assert!(from_root.contains("config"));
}

/// Top-level module -> the other top-level modules it names.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).unwrap();
        let mut path: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        // lib.rs, main.rs and build.rs are the crate root or not in the library.
        if path.len() == 1 && ["lib", "main", "build"].contains(&path[0].as_str()) {
            continue;
        }
        let top = path[0].clone();
        let text = std::fs::read_to_string(&file).unwrap();
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(uses_in(&text, &path).into_iter().filter(|m| *m != top));
    }
    graph
}

/// The top-level modules a file at module `path` names through `crate::` or
/// enough `super::`s to reach the root; comment lines are skipped.
fn uses_in(text: &str, path: &[String]) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let at_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let root = if !at_word {
            None
        } else if let Some(r) = rest.strip_prefix("crate::") {
            Some(r)
        } else if rest.starts_with("super::") {
            let mut r = rest;
            let mut ups = 0;
            while let Some(next) = r.strip_prefix("super::") {
                r = next;
                ups += 1;
            }
            // A file at depth n reaches the root with n `super`s; fewer stay inside.
            match ups.cmp(&path.len()) {
                std::cmp::Ordering::Equal => Some(r),
                std::cmp::Ordering::Less if ups == path.len() - 1 => {
                    found.insert(path[0].clone());
                    None
                }
                _ => None,
            }
        } else {
            None
        };
        match root {
            Some(r) if r.starts_with('{') => found.extend(group_heads(r)),
            Some(r) => {
                let ident: String = r
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    found.insert(ident);
                }
            }
            None => {}
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// The first name of each item of a `{a, b::c, d::{e}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    let mut expecting = true;
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                if !item.is_empty() {
                    heads.push(std::mem::take(&mut item));
                }
                expecting = true;
            }
            c if depth == 1 && expecting && (c.is_ascii_alphanumeric() || c == '_') => item.push(c),
            _ if depth == 1 && expecting && !item.is_empty() => {
                heads.push(std::mem::take(&mut item));
                expecting = false;
            }
            _ => {}
        }
    }
    if !item.is_empty() {
        heads.push(item);
    }
    heads.retain(|h| h != "self");
    heads
}

fn reachable(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(m) = todo.pop() {
        for next in graph.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// One shortest path of uses from `from` to `to`, for the failure message.
fn path_to(graph: &Graph, from: &str, to: &str) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from.to_owned()]);
    while let Some(m) = queue.pop_front() {
        if m == to {
            let mut path = vec![m.clone()];
            let mut at = m;
            while let Some(prev) = came_from.get(&at) {
                path.push(prev.clone());
                at = prev.clone();
            }
            path.reverse();
            return path;
        }
        for next in graph.get(&m).into_iter().flatten() {
            if next != from && !came_from.contains_key(next) {
                came_from.insert(next.clone(), m.clone());
                queue.push_back(next.clone());
            }
        }
    }
    Vec::new()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}
