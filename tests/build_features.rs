//! Every build of the workspace resolves the same features for the dependencies it shares, so
//! that none is compiled twice: `make build` (the binary), `make test` (the workspace with its
//! tests) and `make bench` (either crate's examples) all reuse one build of polars, arrow,
//! parquet and Burn. A dependency whose features differ between two of them is named here with
//! both feature lists; the fix is that feature in workspace-hack/Cargo.toml.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::repo;

/// What `cargo tree` resolves for a selection: package (name and version) → its feature lists
/// (two where a package is built for the host, under a proc-macro or build script, and for the
/// target with other features).
fn resolved(selection: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo())
        .args([
            "tree",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "--no-dedupe",
        ])
        .args(["--format", "{p}|{f}"])
        .args(selection)
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {selection:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (package, features) in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('|'))
        // The workspace's own crates are built per selection anyway.
        .filter(|(p, _)| !p.contains(" (/"))
    {
        packages
            .entry(package.trim().to_string())
            .or_default()
            .insert(features.to_string());
    }
    packages
}

#[test]
fn every_selection_resolves_the_workspace_features() {
    let workspace = resolved(&["--workspace"]);
    assert!(
        workspace.len() > 100,
        "cargo tree listed {}",
        workspace.len()
    );
    let selections: [&[&str]; 4] = [
        &["-p", "pipeline", "-e", "no-dev"], // make build
        &["-p", "pipeline"],                 // pipeline's examples and tests
        &["-p", "stages"],                   // stages' examples, benches and tests
        &["-p", "stages", "-e", "no-dev"],
    ];
    let mut differ = Vec::new();
    for selection in selections {
        for (package, lists) in resolved(selection) {
            let Some(all) = workspace.get(&package) else {
                continue;
            };
            for features in lists.difference(all) {
                differ.push(format!(
                    "{package}: [{features}] with {selection:?}, {all:?} with --workspace"
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "dependencies built with other features than the workspace's (add them to \
         workspace-hack/Cargo.toml):\n{}",
        differ.join("\n")
    );
}
