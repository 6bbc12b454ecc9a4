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
            "stages/src/report/page.rs",
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
        &["stages/src/report/page.rs", "stages/src/compare/mod.rs"],
    ),
    ("\"fig\"", &["stages/src/report/page.rs"]),
    ("\"thumbs\"", &["stages/src/report/page.rs"]),
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
