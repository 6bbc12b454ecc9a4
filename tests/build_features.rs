//! Every build of the workspace builds the dependencies it shares the same way, so that none is
//! compiled twice: `make build` (the binary), `make test` (the workspace with its tests),
//! `make bench` (either crate's examples) and `make python` (the wheel: the `measures` crate
//! and its dependencies) all reuse one build of what they share. Cargo resolves features per selection, and picks build scripts' and proc macros'
//! debug info by whether a package is shared with runtime code in that selection: a dependency
//! built with other features or another profile is another build of it and of all above it.
//!
//! Each selection's unit graph (`cargo build --unit-graph`, which plans and compiles nothing)
//! is compared unit by unit: a dependency unit (its target, mode, features, profile, platform)
//! that one selection plans and another, planning the same package, does not, is named with
//! the fix. The unit graph is an unstable cargo flag; `RUSTC_BOOTSTRAP=1` allows it for these
//! planning-only calls (never for a build: rustc and build scripts read it).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::repo;

/// A dependency's units in one selection: package → (target, mode, features, profile, platform).
type Units = BTreeMap<String, BTreeSet<String>>;

fn planned(args: &[&str]) -> Units {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo())
        .env("RUSTC_BOOTSTRAP", "1")
        .args(args)
        .args([
            "--locked",
            "--offline",
            "--unit-graph",
            "-Z",
            "unstable-options",
        ])
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} --unit-graph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut units = Units::new();
    for u in graph["units"].as_array().unwrap() {
        let id = u["pkg_id"].as_str().unwrap();
        // The workspace's own crates are built per selection anyway.
        if id.starts_with("path+") {
            continue;
        }
        let mut profile = u["profile"].clone();
        // `dev` and `test` name one set of settings (test inherits dev).
        profile.as_object_mut().unwrap().remove("name");
        let unit = serde_json::json!([
            u["target"]["name"],
            u["mode"],
            u["features"],
            profile,
            u["platform"],
        ]);
        let package = id.rsplit('#').next().unwrap().to_string();
        units.entry(package).or_default().insert(unit.to_string());
    }
    units
}

/// The units of `other` that `base`, planning the same package, does not plan.
fn differences(base: &Units, other: &Units, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (package, units) in other {
        let Some(built) = base.get(package) else {
            continue;
        };
        for unit in units.difference(built) {
            out.push(format!("{package}: {what} plans {unit}"));
        }
    }
    out
}

#[test]
fn every_selection_builds_the_shared_dependencies_once() {
    let binary = planned(&["build", "--bin", "pipeline"]);
    let tests = planned(&[
        "test",
        "--workspace",
        "--lib",
        "--bins",
        "--tests",
        "--no-run",
    ]);
    assert!(
        binary.len() > 100,
        "cargo planned {} packages",
        binary.len()
    );
    let mut differ = differences(&binary, &tests, "make test");
    for (selection, what) in [
        (&["-p", "stages", "--examples"], "stages' examples"),
        (&["-p", "pipeline", "--examples"], "pipeline's examples"),
        (&["-p", "pipeline-measures", "--lib"], "make python"),
    ] {
        let other = planned(&[&["build"][..], selection].concat());
        differ.extend(differences(&binary, &other, what));
        differ.extend(differences(&tests, &other, what));
    }
    assert!(
        differ.is_empty(),
        "dependencies planned otherwise than `make build` or `make test` plans them (features: \
         add them to workspace-hack/Cargo.toml; profiles: see [profile.dev] in Cargo.toml):\n{}",
        differ.join("\n")
    );
}
