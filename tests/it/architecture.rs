//! The crate's layering, checked from its sources (`ARCHITECTURE.md` describes it):
//!
//! - each folder of `src/` is a layer, and a file imports only from its own layer or the layers
//!   below it (`crate::…` and `super::…` paths in code, tests and comments left out);
//! - no import circle between files;
//! - `src/` holds only `lib.rs`, `main.rs`, the layer folders and at most three leaf modules;
//! - no source file over 500 lines.
//!
//! `cargo test --release --test it architecture` runs these checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from top to bottom; a layer may import from any layer with a larger index, and
/// layers with the same index (siblings) not from each other.
const LAYERS: [(&str, usize); 13] = [
    ("cli", 0),
    ("app", 1),
    ("export", 2),
    ("train", 3),
    ("analysis", 4),
    ("provenance", 5),
    ("inference", 6),
    ("imaging", 6),
    ("weights", 7),
    ("model", 8),
    ("device", 9),
    ("rng", 9),
    ("atomic_file", 9),
];

/// Leaf modules allowed directly in `src/` (besides `lib.rs` and `main.rs`).
const TOP_LEVEL_LEAVES: [&str; 3] = ["device.rs", "rng.rs", "atomic_file.rs"];

const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rank(layer: &str) -> Option<usize> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/train/session.rs` → `["train", "session"]`,
/// `src/train/mod.rs` → `["train"]`, `src/lib.rs` → `[]`.
fn module_of(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).expect("file under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without its unit tests (from the first `#[cfg(test)]`) and comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::…` and `super::…` path in `code`, with `{a, b::c}` groups expanded, as
/// segments relative to the crate root (`module` is the file's own module path).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        if boundary && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (path, used) = read_path(&bytes[i..]);
            i += used.max(1);
            for segments in path {
                out.push(absolute(&segments, module));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The paths of `use child::…` lines (relative to the file's module, as `mod.rs` files
/// re-export their children), as segments from the crate root.
fn relative_uses(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        let Some(rest) = ["pub(crate) use ", "pub use ", "use "]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix))
        else {
            continue;
        };
        if ["crate::", "super::", "self::", "std::", "core::"]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            continue;
        }
        let chars: Vec<char> = rest.chars().collect();
        for segments in read_path(&chars).0 {
            out.push(module.iter().cloned().chain(segments).collect());
        }
    }
    out
}

/// Reads one path starting at `chars` (e.g. `crate::a::{b, c::d}`), returning its expansions
/// and the characters used.
fn read_path(chars: &[char]) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            current.push(c);
            i += 1;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            segments.push(std::mem::take(&mut current));
            i += 2;
            if chars.get(i) == Some(&'{') {
                let (inner, used) = read_group(&chars[i + 1..]);
                i += used + 2;
                let paths = inner
                    .into_iter()
                    .map(|tail| segments.iter().cloned().chain(tail).collect())
                    .collect();
                return (paths, i);
            }
        } else {
            break;
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    (vec![segments], i)
}

/// Reads the items of a `{…}` group up to its closing brace.
fn read_group(chars: &[char]) -> (Vec<Vec<String>>, usize) {
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() && chars[i] != '}' {
        if chars[i].is_alphanumeric() || chars[i] == '_' {
            let (paths, used) = read_path(&chars[i..]);
            items.extend(paths);
            i += used.max(1);
        } else {
            i += 1;
        }
    }
    (items, i)
}

/// Segments from the crate root: `crate` dropped, `super` resolved against `module`, `self`
/// dropped.
fn absolute(segments: &[String], module: &[String]) -> Vec<String> {
    let mut base: Vec<String> = Vec::new();
    let mut iter = segments.iter().peekable();
    match iter.peek().map(|s| s.as_str()) {
        Some("crate") => {
            iter.next();
        }
        Some("super") => {
            base = module.to_vec();
            while iter.peek().map(|s| s.as_str()) == Some("super") {
                iter.next();
                base.pop();
            }
        }
        _ => {}
    }
    base.extend(iter.filter(|s| s.as_str() != "self").cloned());
    base
}

/// Every file's imports: file → the module files it names (by the longest module prefix).
fn import_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| (module_of(f), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source is readable");
        let module = module_of(file);
        let mut targets = BTreeSet::new();
        let code = code_of(&text);
        let paths = paths_in(&code, &module)
            .into_iter()
            .chain(relative_uses(&code, &module));
        for path in paths {
            let target = (1..=path.len())
                .rev()
                .find_map(|n| modules.get(&path[..n]))
                .filter(|target| *target != file);
            if let Some(target) = target {
                targets.insert(target.clone());
            }
        }
        graph.insert(file.clone(), targets);
    }
    graph
}

fn layer_of(file: &Path) -> Option<String> {
    module_of(file).first().cloned()
}

fn short(file: &Path) -> String {
    file.strip_prefix(src().parent().unwrap_or(Path::new("")))
        .unwrap_or(file)
        .display()
        .to_string()
}

#[test]
fn imports_point_down_the_layers_only() {
    let mut wrong = Vec::new();
    for (file, targets) in import_graph() {
        let Some(from) = layer_of(&file) else {
            continue;
        };
        let from_rank = rank(&from).unwrap_or_else(|| panic!("{} is in no layer", short(&file)));
        for target in targets {
            let Some(to) = layer_of(&target) else {
                continue;
            };
            let to_rank = rank(&to).unwrap_or_else(|| panic!("{} is in no layer", short(&target)));
            if to != from && to_rank <= from_rank {
                wrong.push(format!(
                    "{} ({from}) imports {} ({to})",
                    short(&file),
                    short(&target)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circle_between_files() {
    let graph = import_graph();
    // Depth-first search; a grey node met again closes a circle.
    fn visit(
        node: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
        circles: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, graph, state, stack, circles),
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let names: Vec<String> = stack[start..].iter().map(|n| short(n)).collect();
                    circles.push(format!("{} → {}", names.join(" → "), short(next)));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut circles = Vec::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            visit(node, &graph, &mut state, &mut Vec::new(), &mut circles);
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn src_holds_only_the_layer_folders_and_few_leaves() {
    let mut extra = Vec::new();
    for entry in std::fs::read_dir(src()).expect("src is readable").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let allowed = if path.is_dir() {
            rank(&name).is_some()
        } else {
            matches!(name.as_str(), "lib.rs" | "main.rs")
                || TOP_LEVEL_LEAVES.contains(&name.as_str())
        };
        if !allowed {
            extra.push(name);
        }
    }
    assert!(extra.is_empty(), "unexpected at the top of src/: {extra:?}");
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines})", short(f)))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn the_checker_sees_imports_and_circles() {
    // The parser must find what it is meant to find, or the checks above pass vacuously.
    let module = vec!["train".to_string(), "session".to_string()];
    let code = code_of(
        "use crate::analysis::{self, verdict::Band};\nuse super::step::Trainer; // crate::app\nlet x = crate::device::select(c);",
    );
    let paths = paths_in(&code, &module);
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "analysis",
            "analysis::verdict::Band",
            "train::step::Trainer",
            "device::select"
        ]
    );
    let graph = import_graph();
    let session = src().join("train").join("session.rs");
    assert!(
        graph
            .get(&session)
            .is_some_and(|targets| targets.contains(&src().join("train").join("step.rs"))),
        "train/session.rs imports train/step.rs"
    );
}
