//! Runs what is stale and reuses what is fresh, one line per stage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keyed, Keys, Node};
use crate::engine::key;
use crate::engine::lock::KeyLock;
use crate::engine::manifest::{self, ExternalFile, Manifest};
use crate::engine::stage::{InputArtifact, StageContext};
use crate::engine::store::Store;

#[derive(Debug, Default)]
pub struct Summary {
    pub ran: Vec<String>,
    pub reused: Vec<String>,
}

/// What happened to one node.
enum Outcome {
    Reused,
    Ran(f64),
}

/// Runs the nodes at `order` (indices into `graph.nodes`, in graph order). Nodes named in
/// `force` are rebuilt even when fresh.
pub fn run(
    graph: &Graph,
    keys: &Keys,
    order: &[usize],
    store: &Store,
    force: &BTreeSet<String>,
    out: &mut dyn Write,
) -> Result<Summary> {
    let width = order
        .iter()
        .map(|&i| graph.nodes[i].name.len())
        .max()
        .unwrap_or(0);
    let mut summary = Summary::default();
    for &i in order {
        let node = &graph.nodes[i];
        let k = &keys[&i];
        let line = |out: &mut dyn Write, verb: &str, extra: String| {
            let _ = writeln!(
                out,
                "{verb:<7} {:<width$}  {}{extra}",
                node.name,
                key::short(&k.key)
            );
            let _ = out.flush();
        };
        match run_node(graph, node, k, store, force.contains(&node.name), out) {
            Ok(Outcome::Reused) => {
                line(out, "reused", String::new());
                summary.reused.push(node.name.clone());
            }
            Ok(Outcome::Ran(secs)) => {
                line(out, "ran", format!("  {secs:.2} s"));
                summary.ran.push(node.name.clone());
            }
            Err(e) => {
                line(out, "failed", String::new());
                return Err(e);
            }
        }
    }
    Ok(summary)
}

/// Reuses the node's artifact if it exists (and `forced` is false), else builds it under its
/// key's lock.
fn run_node(
    graph: &Graph,
    node: &Node,
    k: &Keyed,
    store: &Store,
    forced: bool,
    out: &mut dyn Write,
) -> Result<Outcome> {
    if !forced && store.lookup(&node.name, &k.key).is_some() {
        return Ok(Outcome::Reused);
    }
    let lock = store.lock(&node.name, &k.key, |pid| {
        let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "waiting for another pipeline run{who} building {}",
            node.name
        );
        let _ = out.flush();
    })?;
    // Another run may have built it while we waited for the lock.
    if !forced && store.lookup(&node.name, &k.key).is_some() {
        return Ok(Outcome::Reused);
    }
    store.discard_invalid(&lock, &node.name, &k.key)?;
    let clock = Instant::now();
    tracing::info!(stage = %node.name, key = %k.key, "running");
    build(graph, node, k, store, &lock)?;
    Ok(Outcome::Ran(clock.elapsed().as_secs_f64()))
}

/// Runs the node's stage into a temporary folder the store renames into place.
fn build(graph: &Graph, node: &Node, k: &Keyed, store: &Store, lock: &KeyLock) -> Result<()> {
    let inputs: BTreeMap<String, InputArtifact> = node
        .inputs
        .iter()
        .map(|name| {
            let key = k.inputs[name].clone();
            let dir = store.artifact_dir(name, &key);
            (name.clone(), InputArtifact { key, dir })
        })
        .collect();
    store.build(lock, &node.name, &k.key, node.stage.is_resumable(), |tmp| {
        let ctx = StageContext {
            name: &node.name,
            out_dir: tmp.to_path_buf(),
            inputs,
            root: &graph.root,
        };
        // A panic in a stage is that stage failing, not the whole tool crashing.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            node.stage.run_configured(&ctx, &node.config)
        }))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(anyhow::anyhow!("panicked: {msg}"))
        })
        .map_err(|source| EngineError::StageFailed {
            stage: node.name.clone(),
            source,
        })?;
        Ok(manifest_of(node, k))
    })?;
    Ok(())
}

/// The manifest fields known before the outputs are hashed.
fn manifest_of(node: &Node, k: &Keyed) -> Manifest {
    Manifest {
        format: manifest::FORMAT,
        stage: node.name.clone(),
        key: k.key.clone(),
        stage_version: node.stage.stage_version(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        params: node.params().clone(),
        inputs: k.inputs.clone(),
        externals: k
            .externals
            .iter()
            .map(|(path, blake3)| ExternalFile {
                path: path.clone(),
                blake3: blake3.clone(),
            })
            .collect(),
        outputs: Vec::new(),
        started: String::new(),
        finished: String::new(),
        wall_s: 0.0,
    }
}
