//! The module maps say which file does what: docs/architecture.md's "Module
//! map" (the crate root and a section per folder) and the table in
//! src/daemon/mod.rs. Every file they name exists, and every file of a
//! folder they cover is named, so a file that moves or appears without its
//! line in the map fails here.
//!
//! In a map a `name.rs` names a file, `dir/` a folder (everything in it),
//! `dir/*.rs` every file of a folder. A heading's folders are in `src/`
//! unless written from the repository's root (`tests/standin/`, or a crate of
//! the workspace at the root: `blazeface/src/`); names are
//! read from the heading's folder, or from its parent when they start with
//! one of the heading's folders (`store/mod.rs` under "`store/` and `queue/`").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One map: which folders it covers and the names its tables give.
#[derive(Debug, Default)]
struct Section {
    heading: String,
    /// Folders from the repository's root (`src`, `src/daemon`).
    folders: Vec<String>,
    /// The names as the map writes them.
    names: Vec<String>,
}

/// The backticked words of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A table row's first cell, if the line is a row naming files.
fn first_cell(line: &str) -> Option<&str> {
    let cell = line.strip_prefix('|')?.split('|').next()?;
    cell.contains('`').then_some(cell)
}

/// The name as a path from the repository's root, or why it cannot be placed.
fn resolve(section: &Section, name: &str) -> Result<String, String> {
    let first = name.split('/').next().unwrap_or_default();
    for folder in &section.folders {
        if let Some((parent, last)) = folder.rsplit_once('/')
            && last == first
        {
            return Ok(format!("{parent}/{name}"));
        }
    }
    match section.folders.as_slice() {
        [folder] => Ok(format!("{folder}/{name}")),
        _ => Err(format!(
            "`{name}` under \"{}\": with several folders in the heading, write the folder too",
            section.heading
        )),
    }
}

/// Whether `folder` lies in a crate of its own at the repository's root (`blazeface/src`).
fn workspace_member(folder: &str) -> bool {
    let first = folder.split('/').next().unwrap_or_default();
    root().join(first).join("Cargo.toml").is_file()
}

/// The sections of docs/architecture.md's module map: one per `###` heading.
fn architecture_map() -> Vec<Section> {
    let text = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let map = text
        .split_once("\n## Module map\n")
        .expect("docs/architecture.md has a \"## Module map\"")
        .1;
    let map = map.split("\n## ").next().unwrap();
    let mut sections: Vec<Section> = Vec::new();
    for line in map.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let folders = backticked(heading)
                .into_iter()
                .filter(|w| w.ends_with('/') && !w.contains('*'))
                .map(|w| {
                    let w = w.trim_end_matches('/');
                    if w == "src"
                        || w.starts_with("src/")
                        || w.starts_with("tests/")
                        || workspace_member(w)
                    {
                        w.to_owned()
                    } else {
                        format!("src/{w}")
                    }
                })
                .collect();
            sections.push(Section {
                heading: heading.to_owned(),
                folders,
                names: Vec::new(),
            });
        } else if let (Some(cell), Some(section)) = (first_cell(line), sections.last_mut()) {
            let names: Vec<String> = backticked(cell).into_iter().map(String::from).collect();
            section.names.extend(names);
        }
    }
    sections
}

/// The table of src/daemon/mod.rs's module comment.
fn daemon_map() -> Section {
    let text = std::fs::read_to_string(root().join("src/daemon/mod.rs")).unwrap();
    let names = text
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter_map(first_cell)
        .flat_map(|cell| backticked(cell).into_iter().map(String::from))
        .collect();
    Section {
        heading: "src/daemon/mod.rs".into(),
        folders: vec!["src/daemon".into()],
        names,
    }
}

/// Every `.rs` file under `dir`, as paths from `root`.
fn rust_files(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(root, &path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    out
}

/// What is wrong with one map: names of nothing, files it leaves out.
fn check(section: &Section) -> Vec<String> {
    let root = root();
    let mut problems = Vec::new();
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut globs: Vec<String> = Vec::new();
    for name in &section.names {
        let path = match resolve(section, name) {
            Ok(path) => path,
            Err(why) => {
                problems.push(why);
                continue;
            }
        };
        let dir = path.strip_suffix("/*.rs").or(path.strip_suffix('/'));
        match dir {
            Some(dir) if !root.join(dir).is_dir() => {
                problems.push(format!("`{name}`: {dir}/ does not exist"));
            }
            Some(dir) if path.ends_with("*.rs") => globs.push(format!("{dir}/")),
            Some(_) => {
                named.insert(path.clone());
            }
            None if !root.join(&path).is_file() => {
                problems.push(format!("`{name}`: {path} does not exist"));
            }
            None => {
                named.insert(path);
            }
        }
    }
    for folder in &section.folders {
        let dir = root.join(folder);
        if !dir.is_dir() {
            problems.push(format!("{folder}/ does not exist"));
            continue;
        }
        let files: Vec<String> = if folder == "src" {
            // The root's map names the root's files; each folder has a section.
            rust_files(&root, &dir)
                .into_iter()
                .filter(|f| !f["src/".len()..].contains('/'))
                .collect()
        } else {
            rust_files(&root, &dir)
        };
        for file in files {
            let in_glob =
                |g: &String| file.starts_with(g.as_str()) && !file[g.len()..].contains('/');
            let in_folder = |n: &String| n.ends_with('/') && file.starts_with(n.as_str());
            let covered = named.contains(&file)
                || globs.iter().any(in_glob)
                || (folder != "src" && named.iter().any(in_folder));
            if !covered {
                problems.push(format!("{file} is not in the map"));
            }
        }
    }
    problems
        .into_iter()
        .map(|p| format!("{}: {p}", section.heading))
        .collect()
}

#[test]
fn the_architecture_module_map_names_every_file_and_only_files_that_exist() {
    let sections = architecture_map();
    let mut problems: Vec<String> = sections.iter().flat_map(check).collect();
    // Every folder of src/ has a section of its own.
    let covered: BTreeSet<&str> = sections
        .iter()
        .flat_map(|s| s.folders.iter().map(String::as_str))
        .collect();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && !covered.contains(format!("src/{name}").as_str()) {
            problems.push(format!("src/{name}/ has no section in the module map"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/architecture.md's module map is out of step with src/ (add, rename or \
         remove its rows):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_daemon_module_map_names_every_file_and_only_files_that_exist() {
    let problems = check(&daemon_map());
    assert!(
        problems.is_empty(),
        "src/daemon/mod.rs's table of files is out of step with src/daemon/:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_a_missing_row_and_a_row_of_nothing() {
    let section = Section {
        heading: "made up".into(),
        folders: vec!["src/daemon".into()],
        names: vec!["mod.rs".into(), "gone.rs".into()],
    };
    let problems = check(&section);
    assert!(
        problems.contains(&"made up: `gone.rs`: src/daemon/gone.rs does not exist".to_owned()),
        "{problems:?}"
    );
    assert!(
        problems.contains(&"made up: src/daemon/executor.rs is not in the map".to_owned()),
        "{problems:?}"
    );
    assert!(!problems.iter().any(|p| p.contains("daemon/mod.rs")));
}
