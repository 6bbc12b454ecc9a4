//! Each artifact's layout has one owner: the file names inside an artifact (and the store's own
//! folders) are spelled only in the module that owns them; everything else asks that module
//! (`TrainArtifact::history()`, `Store::lock_path`, …). This test reads the sources of both
//! crates and fails on a name spelled anywhere else.

use std::path::{Path, PathBuf};

use crate::common::repo;

/// (the name as a string literal, the files allowed to spell it)
const OWNED: &[(&str, &[&str])] = &[
    ("\"manifest.parquet\"", &["stages/src/dataset/ingest.rs"]),
    ("\"rejected.parquet\"", &["stages/src/dataset/ingest.rs"]),
    ("\"summary.json\"", &["stages/src/dataset/ingest.rs"]),
    ("\"features.json\"", &["stages/src/features/shards.rs"]),
    ("\"progress.json\"", &["stages/src/features/shards.rs"]),
    ("\"features.npy\"", &["stages/src/features/shards.rs"]),
    ("\"features.parquet\"", &["stages/src/features/output.rs"]),
    ("\"history.parquet\"", &["stages/src/train/artifact.rs"]),
    ("\"config.json\"", &["stages/src/train/artifact.rs"]),
    ("\"checkpoints\"", &["stages/src/train/artifact.rs"]),
    ("\"state.json\"", &["stages/src/train/artifact.rs"]),
    ("\"aligned\"", &["stages/src/train/artifact.rs"]),
    ("\"aligned/", &[]),
    ("\"untrained/", &[]),
    (
        "\"metrics.json\"",
        &[
            "stages/src/evaluate/align/results.rs",
            "stages/src/report/artifact.rs",
        ],
    ),
    (
        "\"metrics.parquet\"",
        &["stages/src/evaluate/align/results.rs"],
    ),
    (
        "\"hypotheses.json\"",
        &["stages/src/evaluate/align/results.rs"],
    ),
    (
        "\"hypotheses.parquet\"",
        &["stages/src/evaluate/align/results.rs"],
    ),
    ("\"spaces.json\"", &["stages/src/evaluate/align/results.rs"]),
    ("\"probe.json\"", &["stages/src/evaluate/probe/results.rs"]),
    (
        "\"probe.parquet\"",
        &["stages/src/evaluate/probe/results.rs"],
    ),
    (
        "\"retrieval.json\"",
        &["stages/src/evaluate/probe/results.rs"],
    ),
    (
        "\"retrieval.parquet\"",
        &["stages/src/evaluate/probe/results.rs"],
    ),
    (
        "\"zero_shot.json\"",
        &["stages/src/evaluate/probe/results.rs"],
    ),
    (
        "\"zero_shot.parquet\"",
        &["stages/src/evaluate/probe/results.rs"],
    ),
    (
        "\"modelset.json\"",
        &["stages/src/evaluate/modelset/results.rs"],
    ),
    (
        "\"modelset.parquet\"",
        &["stages/src/evaluate/modelset/results.rs"],
    ),
    (
        "\"rows.parquet\"",
        &["stages/src/evaluate/modelset/results.rs"],
    ),
    (
        "\"best_layers.parquet\"",
        &["stages/src/evaluate/modelset/results.rs"],
    ),
    (
        "\"modelset.svg\"",
        &["stages/src/evaluate/modelset/results.rs"],
    ),
    (
        "\"competence.json\"",
        &["stages/src/evaluate/competence/results.rs"],
    ),
    (
        "\"competence.parquet\"",
        &["stages/src/evaluate/competence/results.rs"],
    ),
    (
        "\"probe_layers.parquet\"",
        &["stages/src/evaluate/competence/results.rs"],
    ),
    (
        "\"competence_rho.parquet\"",
        &["stages/src/evaluate/competence/results.rs"],
    ),
    (
        "\"competence.svg\"",
        &["stages/src/evaluate/competence/results.rs"],
    ),
    ("\"layers.json\"", &["stages/src/features/output.rs"]),
    ("\"members.parquet\"", &["stages/src/compare/mod.rs"]),
    ("\"aggregates.parquet\"", &["stages/src/compare/mod.rs"]),
    ("\"correlations.parquet\"", &["stages/src/compare/mod.rs"]),
    ("\"compare.json\"", &["stages/src/compare/mod.rs"]),
    (
        "\"index.html\"",
        &["stages/src/report/artifact.rs", "stages/src/compare/mod.rs"],
    ),
    ("\"fig\"", &["stages/src/report/artifact.rs"]),
    ("\"thumbs\"", &["stages/src/report/artifact.rs"]),
    ("\"shard.json\"", &["stages/src/features/assemble.rs"]),
    ("\"manifest.json\"", &["pipeline/src/engine/manifest.rs"]),
    ("\".locks\"", &["pipeline/src/engine/store.rs"]),
    ("\".jobs\"", &["pipeline/src/executor/submit.rs"]),
    ("\".tmp-\"", &["pipeline/src/engine/store.rs"]),
    ("\".index\"", &["pipeline/src/engine/hash_index.rs"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a source file: everything but comment lines (docs may name the files they own or
/// point to).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn artifact_file_names_are_spelled_only_by_their_owners() {
    let root = repo();
    let mut files = Vec::new();
    sources(&root.join("stages/src"), &mut files);
    sources(&root.join("pipeline/src"), &mut files);
    assert!(files.len() > 50, "found the sources ({})", files.len());
    let mut leaks = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        let text = code(f);
        for (name, owners) in OWNED {
            if text.contains(name) && !owners.contains(&rel.as_str()) {
                leaks.push(format!("{rel} spells {name}"));
            }
        }
    }
    assert!(leaks.is_empty(), "layout leaks:\n{}", leaks.join("\n"));
}

/// The module order of each crate, lowest first, written once: a module may use modules of its
/// own layer or below, never above. A `use` that climbs it, or any import circle between two
/// source files, fails [`modules_only_use_their_layer_or_below_and_close_no_circle`]. Entries
/// are top-level modules, or a submodule placed apart from its parent (`engine::error`, which
/// the configuration below the engine reports through).
const LAYERS: &[(&str, &[&[&str]])] = &[
    (
        "measures/src",
        &[
            &["error", "linalg", "eigen", "spectrum"],
            &["rsa", "linear", "hsic", "neighbours", "procrustes", "dcor"],
            &["svcca", "cknna", "knn"],
            &["space"],
            &["views"],
            &["resample"],
            &["calibration"],
        ],
    ),
    (
        "stages/src",
        &[
            &["error"],
            &["check", "paths", "json", "table", "shard"],
            &[
                "names", "spaces", "image", "text", "onnx", "pooling", "perturb",
            ],
            &["dataset", "features", "metrics"],
            &["stats", "train"],
            &["evaluate"],
            &["report"],
            &["compare"],
        ],
    ),
    (
        "pipeline/src",
        &[
            &["engine::error"],
            &["config"],
            &["engine"],
            &["executor", "sweep", "nodes"],
            &["cli"],
        ],
    ),
];

/// A source file as a module path (`evaluate::modelset::results`; `mod.rs` is its folder).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The code a module compiles outside its tests: comment lines dropped, and everything from its
/// `#[cfg(test)]` module on (tests may reach anywhere).
fn module_code(path: &Path) -> String {
    let text = code(path);
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    // A rename (`x as y`) is the path `x`.
    let tree: String = tree
        .replace(" as ", "@")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split('@').next().unwrap_or("").to_string()];
    };
    let (prefix, inner) = (
        &tree[..open],
        &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())],
    );
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    items.push(current);
    items
        .iter()
        .filter(|i| !i.is_empty())
        .flat_map(|i| {
            expand_use(i)
                .into_iter()
                .map(move |x| format!("{prefix}{x}"))
        })
        .collect()
}

/// The crate paths a module's code names: `use crate::…` and `use super::…` trees, and
/// `crate::…` / `super::…` paths in expressions, made absolute.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let parent = |levels: usize| -> Vec<String> {
        let mut parts: Vec<String> = module.split("::").map(String::from).collect();
        for _ in 0..levels {
            parts.pop();
        }
        parts
    };
    let absolute = |path: &str| -> String {
        let mut rest = path;
        if let Some(r) = rest.strip_prefix("crate::") {
            return r.to_string();
        }
        let mut levels = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            levels += 1;
            rest = r;
        }
        let mut parts = parent(levels);
        parts.push(rest.to_string());
        parts.retain(|p| !p.is_empty());
        parts.join("::")
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("use ") {
        let statement = &code[at + 4..code[at..].find(';').map_or(code.len(), |e| at + e)];
        let statement = statement.trim();
        if statement.starts_with("crate::") || statement.starts_with("super::") {
            out.extend(expand_use(statement).iter().map(|p| absolute(p)));
        }
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (at, _) in code.match_indices(start) {
            let before = at.checked_sub(1).map(|i| bytes[i] as char);
            let after = bytes.get(at + start.len()).map(|&b| b as char);
            // `$crate::` is a macro's; `super::{…}` a use tree, read above.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':')
                || after == Some('{')
            {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            out.push(absolute(code[at..end].trim_end_matches(':')));
        }
    }
    out
}

/// Each source module of the crate at `src` and the modules it uses (the longest module each
/// named path lies in; itself and the crate root left out).
fn import_graph(
    src: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    // The library's modules: not the binaries, and not test modules kept in files of their own.
    files.retain(|f| {
        let rel = f.strip_prefix(src).unwrap();
        rel != Path::new("main.rs") && !rel.starts_with("bin") && !rel.ends_with("tests.rs")
    });
    let modules: std::collections::BTreeSet<String> =
        files.iter().map(|f| module_of(src, f)).collect();
    let resolve = |path: &str| -> Option<String> {
        let mut parts: Vec<&str> = path.split("::").collect();
        while !parts.is_empty() {
            let candidate = parts.join("::");
            if modules.contains(&candidate) {
                return Some(candidate);
            }
            parts.pop();
        }
        None
    };
    let mut graph = std::collections::BTreeMap::new();
    for f in &files {
        let module = module_of(src, f);
        let used: std::collections::BTreeSet<String> = named_paths(&module, &module_code(f))
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|m| *m != module && !m.is_empty())
            .collect();
        graph.insert(module, used);
    }
    graph
}

/// The layer of `module` in `layers`: its longest listed prefix's.
fn layer_of(layers: &[&[&str]], module: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, layer) in layers.iter().enumerate() {
        for entry in layer.iter() {
            let inside = module == *entry || module.starts_with(&format!("{entry}::"));
            if inside && best.is_none_or(|(len, _)| entry.len() > len) {
                best = Some((entry.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// The groups of modules that import each other in a circle (Tarjan's components of size > 1).
fn circles(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    struct Search<'g> {
        graph: &'g std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        index: std::collections::BTreeMap<&'g str, (usize, usize)>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Search<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, (n, n));
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let low = match self.index.get(w.as_str()) {
                    None => {
                        self.visit(w);
                        self.index[w.as_str()].1
                    }
                    Some(&(i, _)) if self.stack.contains(&w.as_str()) => i,
                    Some(_) => continue,
                };
                let entry = self.index.get_mut(v).unwrap();
                entry.1 = entry.1.min(low);
            }
            let (i, low) = self.index[v];
            if i == low {
                let at = self.stack.iter().position(|x| *x == v).unwrap();
                let group: Vec<String> = self.stack.drain(at..).map(String::from).collect();
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: Default::default(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !search.index.contains_key(v.as_str()) {
            search.visit(v);
        }
    }
    search.found
}

#[test]
fn modules_only_use_their_layer_or_below_and_close_no_circle() {
    let root = repo();
    let mut problems = Vec::new();
    for (src, layers) in LAYERS {
        let graph = import_graph(&root.join(src));
        assert!(graph.len() > 10, "{src}: found {} modules", graph.len());
        // The crate root (lib.rs) declares the modules; it is no layer's.
        for (module, used) in graph.iter().filter(|(m, _)| !m.is_empty()) {
            let Some(own) = layer_of(layers, module) else {
                problems.push(format!("{src}: `{module}` is in no layer of LAYERS"));
                continue;
            };
            for target in used {
                if layer_of(layers, target).is_some_and(|t| t > own) {
                    problems.push(format!("{src}: `{module}` uses `{target}`, a layer above"));
                }
            }
        }
        for group in circles(&graph) {
            problems.push(format!("{src}: import circle: {}", group.join(" <-> ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_import_check_sees_uses_climbs_and_circles() {
    assert_eq!(
        expand_use("crate::a::{b, c::{d, e as f}}"),
        vec!["crate::a::b", "crate::a::c::d", "crate::a::c::e"]
    );
    let paths = named_paths(
        "x::y",
        "use super::{z, w::V};\nfn f() { crate::q::r(); $crate::no; super::super::top::T }",
    );
    assert_eq!(paths, vec!["x::z", "x::w::V", "q::r", "top::T"]);
    let graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, u)| (m.to_string(), u.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(circles(&graph).len(), 1);
    let layers: &[&[&str]] = &[&["engine::error"], &["config"], &["engine"]];
    assert_eq!(layer_of(layers, "engine::error"), Some(0));
    assert_eq!(layer_of(layers, "engine::store"), Some(2));
    assert_eq!(layer_of(layers, "cli"), None);
}

/// The longest a source file of any crate's `src/` may be, and a function in one.
const MAX_FILE_LINES: usize = 450;
const MAX_FUNCTION_LINES: usize = 80;

/// Each function of `text` (a source file) as (name, first line, lines): from its `fn` line
/// to its closing brace, braces counted outside strings, characters and comments.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = fn_name(lines[i]) else {
            i += 1;
            continue;
        };
        let (mut depth, mut opened, mut j) = (0i64, false, i);
        while j < lines.len() {
            let code = strip_literals(lines[j]);
            for ch in code.chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (opened && depth == 0) || (!opened && code.trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        if opened {
            out.push((name, i + 1, j - i + 1));
        }
        i = j + 1;
    }
    out
}

/// The name of the function a line begins (`pub(crate) fn name(`), if it begins one.
fn fn_name(line: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with("//") {
        return None;
    }
    let mut rest = t;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "unsafe ",
        "async ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(name[..end].to_string())
}

/// A line without its comment, string and character literals (their braces are not code).
fn strip_literals(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            '\'' if !in_string => {
                // A character literal ('{', '\'', '\n'); a lifetime has no closing quote.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') && rest.chars().nth(2) == Some('\'') {
                    chars.nth(2);
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.nth(1);
                }
            }
            _ if !in_string => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn no_source_file_or_function_is_too_long_to_read() {
    let root = repo();
    let mut long = Vec::new();
    for src in ["pipeline/src", "stages/src", "measures/src", "python/src"] {
        let mut files = Vec::new();
        sources(&root.join(src), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(&root).unwrap().display().to_string();
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                long.push(format!("{rel}: {lines} lines (at most {MAX_FILE_LINES})"));
            }
            for (name, at, n) in functions(&text) {
                if n > MAX_FUNCTION_LINES {
                    long.push(format!(
                        "{rel}:{at}: fn {name} is {n} lines (at most {MAX_FUNCTION_LINES})"
                    ));
                }
            }
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

#[test]
fn the_length_check_counts_functions_by_their_braces() {
    let text = "fn a() {\n    let s = \"}}\";\n    let c = '{';\n}\n\
                pub(crate) fn b<'x>(x: &'x str) -> &'x str {\n    // }\n    x\n}\n\
                fn decl();\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 1, 4), ("b".to_string(), 5, 4)]
    );
}
