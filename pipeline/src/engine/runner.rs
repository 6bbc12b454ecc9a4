//! Runs what is stale and reuses what is fresh, one line per stage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keys};
use crate::engine::key;
use crate::engine::manifest::{self, ExternalFile, Manifest};
use crate::engine::stage::StageContext;
use crate::engine::store::Store;

#[derive(Debug, Default)]
pub struct Summary {
    pub ran: Vec<String>,
    pub reused: Vec<String>,
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
        let forced = force.contains(&node.name);
        let line = |out: &mut dyn Write, verb: &str, extra: String| {
            let _ = writeln!(
                out,
                "{verb:<7} {:<width$}  {}{extra}",
                node.name,
                key::short(&k.key)
            );
            let _ = out.flush();
        };
        if !forced && store.lookup(&node.name, &k.key).is_some() {
            line(out, "reused", String::new());
            summary.reused.push(node.name.clone());
            continue;
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
            line(out, "reused", String::new());
            summary.reused.push(node.name.clone());
            continue;
        }
        store.discard_invalid(&lock, &node.name, &k.key)?;
        let inputs: BTreeMap<String, std::path::PathBuf> = node
            .inputs
            .iter()
            .map(|name| (name.clone(), store.artifact_dir(name, &k.inputs[name])))
            .collect();
        let clock = Instant::now();
        tracing::info!(stage = %node.name, key = %k.key, "running");
        let built = store.build(&lock, &node.name, &k.key, node.stage.resumable(), |tmp| {
            let ctx = StageContext {
                name: &node.name,
                out_dir: tmp.to_path_buf(),
                params: &node.params,
                inputs,
                root: &graph.root,
            };
            // A panic in a stage is that stage failing, not the whole tool crashing.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.stage.run(&ctx)))
                    .unwrap_or_else(|panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("unknown panic");
                        Err(anyhow::anyhow!("panicked: {msg}"))
                    });
            result.map_err(|source| EngineError::StageFailed {
                stage: node.name.clone(),
                source,
            })?;
            Ok(Manifest {
                format: manifest::FORMAT,
                stage: node.name.clone(),
                key: k.key.clone(),
                stage_version: node.stage.version(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                params: node.params.clone(),
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
            })
        });
        match built {
            Ok(_) => {
                line(
                    out,
                    "ran",
                    format!("  {:.2} s", clock.elapsed().as_secs_f64()),
                );
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
