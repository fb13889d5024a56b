//! The crate's top-level modules and which ones each uses, read from `src/`.
//!
//! Keeps the configuration one-way: `config` assembles the sections' types,
//! so no section module may use `config`, directly or through another
//! module, and the leaf `invalid` (the errors every section reports) uses no
//! other module of the crate. Run with `--nocapture` to see the edges.
//!
//! Inside each folder of `src/` the files' uses run one way: files that carry
//! out behaviour name the files that hold the shared types, never each other
//! in a circle. A circle there is the sign that a shared type lives inside one
//! of its users.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules that own a section of the configuration file.
const SECTIONS: [&str; 9] = [
    "api", "camera", "control", "display", "fleet", "gpio", "queue", "status", "terminal",
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

#[test]
fn no_circle_between_the_files_of_a_folder() {
    let files = source_files();
    let mut found = Vec::new();
    for folder in folders(&files) {
        let graph = folder_graph(&files, &folder);
        for circle in circles(&graph) {
            found.push(describe_circle(&graph, &circle));
        }
    }
    assert!(
        found.is_empty(),
        "files of one folder use each other in a circle; move what they share \
         (messages, context, state) into a file of its own that they all use:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_circle_finder_sees_a_made_up_circle() {
    let file = |label: &str, text: &str| SourceFile {
        path: module_path(label),
        label: label.into(),
        text: text.into(),
    };
    // b and c use each other (one through a `crate::` path, one through a
    // group); a uses an item of the folder's own file, which is above its
    // children and so in no circle; d reaches a through `super::super` from a
    // nested folder, and e reaches c through an item the own file imports.
    let files = vec![
        file(
            "f/mod.rs",
            "mod a;\nmod b;\nmod c;\nmod d;\nmod e;\nuse c::Shared;\n",
        ),
        file("f/a.rs", "use super::Item;\n"),
        file("f/b.rs", "use super::{a::Thing, c};\n"),
        file(
            "f/c.rs",
            "// crate::f::a in a comment\nfn g() { crate::f::b::h() }\n",
        ),
        file("f/d/mod.rs", "mod x;\n"),
        file("f/d/x.rs", "use super::super::a::Thing;\n"),
        file(
            "f/e.rs",
            "fn g(s: super::Shared) {}\n#[cfg(test)]\nmod tests {\n    use super::super::b::h;\n}\n",
        ),
    ];
    assert_eq!(
        folders(&files),
        vec![vec!["f".to_string()], vec!["f".into(), "d".into()]]
    );
    let graph = folder_graph(&files, &["f".into()]);
    let edges = |from: &str| graph[from].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("f/a.rs"), Vec::<String>::new());
    assert_eq!(edges("f/b.rs"), ["f/a.rs", "f/c.rs"]);
    assert_eq!(edges("f/c.rs"), ["f/b.rs"]);
    assert_eq!(edges("f/d/mod.rs"), ["f/a.rs"]);
    assert_eq!(edges("f/e.rs"), ["f/b.rs", "f/c.rs"]);
    let found = circles(&graph);
    let want: Vec<BTreeSet<String>> = vec![["f/b.rs", "f/c.rs"].map(String::from).into()];
    assert_eq!(found, want);
    assert_eq!(
        describe_circle(&graph, &found[0]),
        "f/b.rs, f/c.rs (f/b.rs -> f/c.rs, f/c.rs -> f/b.rs)"
    );
    // The nested folder alone has no circle; one more use makes one of three.
    assert!(circles(&folder_graph(&files, &["f".into(), "d".into()])).is_empty());
    let mut more = files;
    more[1].text.push_str("use super::e::g;\n");
    let found = circles(&folder_graph(&more, &["f".into()]));
    let want: Vec<BTreeSet<String>> = vec![
        ["f/a.rs", "f/b.rs", "f/c.rs", "f/e.rs"]
            .map(String::from)
            .into(),
    ];
    assert_eq!(found, want);
}

/// One `.rs` file of `src/`: its module path, its name for messages, its text.
struct SourceFile {
    path: Vec<String>,
    label: String,
    text: String,
}

/// Every file of the library (`lib.rs` is the root, module path `[]`; the
/// binary and the build script are left out).
fn source_files() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for file in rust_files(&src) {
        let label = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let path = module_path(&label);
        if path.len() == 1 && ["main", "build"].contains(&path[0].as_str()) {
            continue;
        }
        files.push(SourceFile {
            path,
            label,
            text: std::fs::read_to_string(&file).unwrap(),
        });
    }
    files
}

/// `daemon/executor.rs` is `daemon::executor`, `daemon/mod.rs` is `daemon`,
/// `lib.rs` the crate root.
fn module_path(label: &str) -> Vec<String> {
    let mut path: Vec<String> = label
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if path.last().is_some_and(|l| l == "mod") || path == ["lib"] {
        path.pop();
    }
    path
}

/// Module paths of the folders under `src/`: modules with child modules of their own.
fn folders(files: &[SourceFile]) -> Vec<Vec<String>> {
    let found: BTreeSet<Vec<String>> = files
        .iter()
        .filter(|f| f.path.len() > 1)
        .map(|f| f.path[..f.path.len() - 1].to_vec())
        .collect();
    found.into_iter().collect()
}

/// The child modules of the folder `folder` (a file each, a nested folder
/// counting as one) -> the ones among them each names. The folder's own file
/// (`mod.rs`) is not among them: it declares the children and hands out what
/// they offer, so it is above them. A child naming an item the own file
/// imports from a sibling (`super::Input` where `mod.rs` has `use
/// inputs::Input;`) names that sibling.
fn folder_graph(files: &[SourceFile], folder: &[String]) -> Graph {
    let depth = folder.len();
    let children_of = |module: &[String]| -> BTreeSet<String> {
        files
            .iter()
            .filter(|f| f.path.len() > module.len() && f.path.starts_with(module))
            .map(|f| f.path[module.len()].clone())
            .collect()
    };
    let children = children_of(folder);
    let label_of = |child: &String| {
        let mut module = folder.to_vec();
        module.push(child.clone());
        files
            .iter()
            .find(|f| f.path == module)
            .map_or_else(|| child.clone(), |f| f.label.clone())
    };
    // Item of the own file -> the child it comes from.
    let mut imported: BTreeMap<String, String> = BTreeMap::new();
    for own in files.iter().filter(|f| f.path == folder) {
        for named in named_paths(&own.text, &own.path, &children) {
            if let [child, item, ..] = &named[depth.min(named.len())..]
                && named.starts_with(folder)
                && children.contains(child)
            {
                imported.insert(item.clone(), child.clone());
            }
        }
    }
    let child_named = |named: &[String]| -> Option<String> {
        let next = named.get(depth).filter(|_| named.starts_with(folder))?;
        if children.contains(next) {
            Some(next.clone())
        } else {
            imported.get(next).cloned()
        }
    };
    let mut graph = Graph::new();
    for child in &children {
        graph.entry(label_of(child)).or_default();
    }
    for file in files
        .iter()
        .filter(|f| f.path.len() > depth && f.path.starts_with(folder))
    {
        let from = file.path[depth].clone();
        let own_children = children_of(&file.path);
        for named in named_paths(&file.text, &file.path, &own_children) {
            if let Some(to) = child_named(&named).filter(|to| *to != from) {
                graph
                    .get_mut(&label_of(&from))
                    .unwrap()
                    .insert(label_of(&to));
            }
        }
    }
    graph
}

/// The groups of nodes that reach each other (each of two or more nodes), in order.
fn circles(graph: &Graph) -> Vec<BTreeSet<String>> {
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reachable(graph, n))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for (node, reached) in &reach {
        if !reached.contains(*node) || found.iter().any(|c| c.contains(*node)) {
            continue;
        }
        let circle: BTreeSet<String> = reached
            .iter()
            .filter(|other| reach.get(other).is_some_and(|r| r.contains(*node)))
            .cloned()
            .collect();
        found.push(circle);
    }
    found
}

/// "a.rs, b.rs (a.rs -> b.rs, b.rs -> a.rs)": the files of a circle and its uses.
fn describe_circle(graph: &Graph, circle: &BTreeSet<String>) -> String {
    let uses: Vec<String> = circle
        .iter()
        .flat_map(|from| {
            graph[from]
                .iter()
                .filter(|to| circle.contains(*to))
                .map(move |to| format!("{from} -> {to}"))
        })
        .collect();
    let files: Vec<&str> = circle.iter().map(String::as_str).collect();
    format!("{} ({})", files.join(", "), uses.join(", "))
}

/// Top-level module -> the other top-level modules it names.
fn module_graph() -> Graph {
    let mut graph = Graph::new();
    for file in source_files().into_iter().filter(|f| !f.path.is_empty()) {
        let top = file.path[0].clone();
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(
            uses_in(&file.text, &file.path)
                .into_iter()
                .filter(|m| *m != top),
        );
    }
    graph
}

/// The top-level modules a file at module `path` names through `crate::` or
/// enough `super::`s to reach the root; comment lines are skipped.
fn uses_in(text: &str, path: &[String]) -> BTreeSet<String> {
    named_paths(text, path, &BTreeSet::new())
        .into_iter()
        .filter_map(|named| named.into_iter().next())
        .collect()
}

/// The module paths (from the crate root, as far as written) a file at module
/// `path` names through `crate::`, `self::`, `super::` or the bare name of one
/// of its own child modules (`children`, as a folder's own file writes
/// `use inputs::Input;`). Comment lines are skipped; what an inline module
/// (`mod tests { .. }`) names is read from that module's path.
fn named_paths(text: &str, path: &[String], children: &BTreeSet<String>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for (code, at) in inline_modules(text, path) {
        let kids = if at.len() == path.len() {
            children
        } else {
            &BTreeSet::new()
        };
        found.extend(named_in(&code, &at, kids));
    }
    found
}

/// The file's code lines split by the (inline) module they are in.
fn inline_modules(text: &str, path: &[String]) -> Vec<(String, Vec<String>)> {
    let mut parts: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut open: Vec<(String, i32)> = Vec::new();
    let mut depth = 0;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let head = trimmed
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ");
        if let Some(name) = head
            .strip_prefix("mod ")
            .and_then(|r| r.trim_end().strip_suffix('{'))
        {
            open.push((name.trim().to_owned(), depth));
        }
        let mut at = path.to_vec();
        at.extend(open.iter().map(|(n, _)| n.clone()));
        let part = parts.entry(at).or_default();
        part.push_str(line);
        part.push('\n');
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        while open.last().is_some_and(|(_, d)| *d >= depth) {
            open.pop();
        }
    }
    parts.into_iter().map(|(at, code)| (code, at)).collect()
}

fn named_in(code: &str, path: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let at_word = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':');
        let start: Option<(Vec<String>, &str)> = if !at_word {
            None
        } else if let Some(r) = rest.strip_prefix("crate::") {
            Some((Vec::new(), r))
        } else if let Some(r) = rest.strip_prefix("self::") {
            Some((path.to_vec(), r))
        } else if rest.starts_with("super::") {
            let mut r = rest;
            let mut ups = 0;
            while let Some(next) = r.strip_prefix("super::") {
                r = next;
                ups += 1;
            }
            // More `super`s than the depth would leave the crate.
            (ups <= path.len()).then(|| (path[..path.len() - ups].to_vec(), r))
        } else {
            let ident: String = rest
                .bytes()
                .take_while(|b| is_ident(*b))
                .map(char::from)
                .collect();
            match rest[ident.len()..].strip_prefix("::") {
                Some(r) if children.contains(&ident) => {
                    let mut at = path.to_vec();
                    at.push(ident);
                    Some((at, r))
                }
                _ => None,
            }
        };
        if let Some((base, r)) = start {
            found.extend(paths_from(base, r));
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// `a::b::X` after `base` gives `base::a::b::X`; a group `a::{b, c::d}` gives
/// one path per item (`base::a::b`, `base::a::c`; `self` gives `base::a`).
fn paths_from(mut base: Vec<String>, mut rest: &str) -> Vec<Vec<String>> {
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            if rest.starts_with('{') {
                return group_heads(rest)
                    .into_iter()
                    .map(|head| {
                        let mut p = base.clone();
                        if head != "self" {
                            p.push(head);
                        }
                        p
                    })
                    .collect();
            }
            if rest.starts_with('*') {
                // A glob names the module's own items.
                base.push("*".into());
            }
            return vec![base];
        }
        rest = &rest[ident.len()..];
        base.push(ident);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![base],
        }
    }
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
