//! The modules of the host and of the Rust SDK form layers: no module
//! depends, directly or through others, on a module that depends on it (see
//! `docs/ARCHITECTURE.md`, "Module layers").
//!
//! The check reads the sources of each crate (`host/src`, `host/cli/src`,
//! `sdk/rust/src`), finds every path that
//! names a module of the same crate (`crate::runlog::…`, `super::stages`,
//! `use crate::{model::Stage, errors::…}`), builds the graph of top-level
//! modules (and of the submodules of [`LAYERED_SUBMODULES`]) and fails
//! naming the first cycle it finds, with the files behind each edge.
//! Comments, strings and character literals are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Top-level modules whose submodules must not form cycles either.
const LAYERED_SUBMODULES: &[&str] = &["runlog"];

/// Edges between modules: from → to → the files that make the edge.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// `src` with comments, string literals and character literals blanked out.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r')))
            && (i == 0 || !ident(b[i - 1]))
            && {
                let j = i + if c == b'b' { 2 } else { 1 };
                let hashes = b[j..].iter().take_while(|&&h| h == b'#').count();
                b.get(j + hashes) == Some(&b'"')
            }
        {
            // Raw string: r"…", r#"…"#, br"…".
            let j = i + if c == b'b' { 2 } else { 1 };
            let hashes = b[j..].iter().take_while(|&&h| h == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let body = j + hashes + 1;
            i = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| body + p + close.len());
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{1F600}'), not a lifetime.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .take(10)
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let len = src[i + 1..].chars().next().map_or(0, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&src[i..i + len]);
            i += len;
        }
    }
    out
}

/// The module a source file defines, from its path under `src/`:
/// `runlog/store.rs` → `[runlog, store]`, `stages/mod.rs` → `[stages]`,
/// `lib.rs` and `main.rs` → `[]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// Skip whitespace from `i`.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The identifier at `i` (after whitespace), and where it ends.
fn ident_at(s: &str, i: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let start = skip_ws(b, i);
    let end = start
        + b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
    (end > start && !b[start].is_ascii_digit()).then(|| (&s[start..end], end))
}

/// `::` at `i` (after whitespace): where it ends.
fn path_sep_at(s: &str, i: usize) -> Option<usize> {
    let j = skip_ws(s.as_bytes(), i);
    s[j..].starts_with("::").then_some(j + 2)
}

/// The first two segments of each path that starts at `i` (just past
/// `crate::` or `super::`): one path, or one per item of a `{…}` group.
fn paths_at(s: &str, i: usize) -> Vec<Vec<String>> {
    let b = s.as_bytes();
    let j = skip_ws(b, i);
    if b.get(j) == Some(&b'{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut start = j + 1;
        for (k, &c) in b.iter().enumerate().skip(j) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        items.push(start);
                        break;
                    }
                }
                b',' if depth == 1 => {
                    items.push(start);
                    start = k + 1;
                }
                _ => {}
            }
        }
        items
            .into_iter()
            .filter_map(|at| {
                let (first, end) = ident_at(s, at)?;
                let second = path_sep_at(s, end)
                    .and_then(|k| ident_at(s, k))
                    .map(|(n, _)| n.to_owned());
                Some(std::iter::once(first.to_owned()).chain(second).collect())
            })
            .collect()
    } else if let Some((first, end)) = ident_at(s, j) {
        let second = path_sep_at(s, end)
            .and_then(|k| ident_at(s, k))
            .map(|(n, _)| n.to_owned());
        vec![std::iter::once(first.to_owned()).chain(second).collect()]
    } else {
        Vec::new()
    }
}

/// Every module path (absolute, at most two segments) that the code of
/// module `module` names through `crate::` or `super::`.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let keyword = ["crate", "super"]
            .into_iter()
            .find(|k| at_word && code[i..].starts_with(k));
        let Some(keyword) = keyword else {
            i += 1;
            continue;
        };
        let mut end = i + keyword.len();
        if b.get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            i = end;
            continue;
        }
        let mut base: Vec<String> = Vec::new();
        if keyword == "super" {
            let mut ups = 1;
            while let Some(k) = path_sep_at(code, end) {
                match ident_at(code, k) {
                    Some(("super", e)) => {
                        ups += 1;
                        end = e;
                    }
                    _ => break,
                }
            }
            base = module[..module.len().saturating_sub(ups)].to_vec();
        }
        if let Some(k) = path_sep_at(code, end) {
            for tail in paths_at(code, k) {
                let mut path = base.clone();
                path.extend(tail);
                path.truncate(2);
                found.push(path);
            }
        }
        i = end;
    }
    found
}

/// The module graph of one crate, from its source files (paths relative
/// to its `src/`, and their text).
fn graph(files: &[(PathBuf, String)]) -> Graph {
    let top_level: BTreeSet<String> = files
        .iter()
        .filter_map(|(rel, _)| module_of(rel).into_iter().next())
        .collect();
    let mut g = Graph::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let Some(top) = module.first() else {
            continue; // the crate root is the facade over every module
        };
        let file = rel.display().to_string();
        for path in references(&strip(text), &module) {
            let Some(to) = path.first().filter(|t| top_level.contains(*t)) else {
                continue;
            };
            if to != top {
                g.entry(top.clone())
                    .or_default()
                    .entry(to.clone())
                    .or_default()
                    .insert(file.clone());
            } else if LAYERED_SUBMODULES.contains(&top.as_str())
                && let (Some(from_sub), Some(to_sub)) = (module.get(1), path.get(1))
                && from_sub != to_sub
            {
                g.entry(format!("{top}::{from_sub}"))
                    .or_default()
                    .entry(format!("{top}::{to_sub}"))
                    .or_default()
                    .insert(file.clone());
            }
        }
    }
    g
}

/// A cycle of the graph, as the modules along it (the first repeated at
/// the end), or `None`.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        node: &str,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in g.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(g, next, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    g.keys()
        .find_map(|node| visit(g, node, &mut marks, &mut Vec::new()))
}

/// The cycle, one edge a line with the files that make it.
fn describe(g: &Graph, cycle: &[String]) -> String {
    let mut out = format!("module cycle: {}\n", cycle.join(" → "));
    for pair in cycle.windows(2) {
        let files = &g[&pair[0]][&pair[1]];
        let files: Vec<_> = files.iter().map(String::as_str).collect();
        let _ = writeln!(out, "  {} → {}: {}", pair[0], pair[1], files.join(", "));
    }
    out
}

/// Every `.rs` file under `src`, relative to it, with its text.
fn sources(src: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path.strip_prefix(src).unwrap().to_owned(), text));
            }
        }
    }
    files.sort();
    files
}

/// The workspace root: the nearest directory above this crate with a
/// `Cargo.lock`.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .expect("a workspace root above the crate")
        .to_owned()
}

#[test]
fn host_modules_form_no_cycles() {
    let root = workspace_root();
    let crates: Vec<PathBuf> = ["host/src", "host/cli/src", "sdk/rust/src"]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    assert!(crates.iter().any(|d| d.ends_with("host/src")));
    for src in crates {
        let files = sources(&src);
        assert!(files.len() > 10, "{}: too few sources", src.display());
        let g = graph(&files);
        assert!(
            !g.is_empty(),
            "{}: no module references found",
            src.display()
        );
        if let Some(cycle) = find_cycle(&g) {
            panic!("{}: {}", src.display(), describe(&g, &cycle));
        }
    }
}

/// A small crate: `files` as (path under src/, text).
fn fake(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
        .collect()
}

#[test]
fn a_cycle_between_top_level_modules_is_found_and_named() {
    let files = fake(&[
        ("lib.rs", "pub mod model; pub mod stages; pub mod runlog;"),
        ("model/mod.rs", "pub struct Stage;"),
        (
            "stages/mod.rs",
            "use crate::{model::Stage, runlog::{Writer, Log}};",
        ),
        ("runlog/mod.rs", "mod store;"),
        (
            "runlog/store.rs",
            "use super::super::model::Stage;\nfn f() { crate :: stages::Batch::new(); }",
        ),
    ]);
    let g = graph(&files);
    let cycle = find_cycle(&g).expect("stages → runlog → stages");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"stages".to_owned()) && cycle.contains(&"runlog".to_owned()));
    let text = describe(&g, &cycle);
    assert!(text.contains("runlog/store.rs"), "{text}");
    assert!(text.contains("stages/mod.rs"), "{text}");
    // model is a leaf.
    assert!(!g.contains_key("model"));
}

#[test]
fn a_cycle_between_submodules_of_a_layered_module_is_found() {
    let files = fake(&[
        (
            "runlog/mod.rs",
            "mod store; mod writer; pub use writer::Writer;",
        ),
        (
            "runlog/store.rs",
            "fn f() { super::writer::insert_errors(); }",
        ),
        (
            "runlog/writer.rs",
            "use super::store::{RunLog, RunLogError};",
        ),
    ]);
    let g = graph(&files);
    let cycle = find_cycle(&g).expect("store ↔ writer");
    assert!(cycle.contains(&"runlog::store".to_owned()), "{cycle:?}");
    assert!(cycle.contains(&"runlog::writer".to_owned()), "{cycle:?}");
}

#[test]
fn comments_strings_and_one_way_edges_make_no_cycle() {
    let files = fake(&[
        (
            "model/mod.rs",
            "// uses crate::stages in a comment\n/* crate::stages */ const S: &str = \"crate::stages::X\"; const R: &str = r#\"super::stages\"#; const C: char = '{';",
        ),
        (
            "stages/mod.rs",
            "use crate::model::Stage; fn f<'a>(x: &'a str) {}",
        ),
        (
            "stages/execute.rs",
            "use super::Batch; use crate::model::{self, Stage};",
        ),
    ]);
    let g = graph(&files);
    assert_eq!(find_cycle(&g), None, "{g:?}");
    assert!(g["stages"].contains_key("model"));
    assert!(!g.contains_key("model"), "{g:?}");
}
