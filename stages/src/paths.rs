//! Where the project's own installs live: `.venv` (ONNX Runtime's library, the packages that
//! carry the embedded default) and `data/` (models and datasets built by `make setup`).
//!
//! The project root is found by walking up from the current directory to the folder holding
//! `pipeline.toml`; failing that, from the running executable (target/debug/… sits inside the
//! checkout), and last from where this crate was compiled.

use std::path::{Path, PathBuf};

const MARKER: &str = "pipeline.toml";

/// The checkout root, if one can be found.
pub fn project_root() -> Option<PathBuf> {
    candidate_roots().into_iter().next()
}

/// Every project root that can be found, most specific first: above the current directory
/// (an experiment folder of the user's), above the running executable (the checkout it was built
/// in), and where this crate was compiled. Deduplicated.
pub fn candidate_roots() -> Vec<PathBuf> {
    let from_cwd = std::env::current_dir().ok();
    let from_exe = std::env::current_exe().ok();
    let compiled = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut out: Vec<PathBuf> = Vec::new();
    for root in [from_cwd, from_exe, compiled]
        .into_iter()
        .flatten()
        .filter_map(|s| find_upwards(&s))
    {
        if !out.contains(&root) {
            out.push(root);
        }
    }
    out
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(MARKER).is_file())
        .map(Path::to_path_buf)
}

/// `.venv/lib/python3.*/site-packages` under `root`, if it exists.
pub fn site_packages(root: &Path) -> Option<PathBuf> {
    let lib = root.join(".venv").join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python3"))
        })
        .map(|p| p.join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop()
}
