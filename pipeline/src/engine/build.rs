//! Building one planned artifact: reused if it exists, else built under its key's lock into a
//! temporary folder the store renames into place — the whole artifact, one row shard of it, or
//! the whole from its complete shards.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keyed, Node};
use crate::engine::lock::KeyLock;
use crate::engine::manifest::{self, ExternalFile, Manifest};
use crate::engine::plan::Item;
use crate::engine::shards;
use crate::engine::stage::{InputArtifact, StageContext, input_stage};
use crate::engine::store::Store;

/// What happened to one item.
pub(crate) enum Outcome {
    Reused,
    Ran(f64),
    /// Built from this many shard artifacts, in seconds.
    Assembled(f64, usize),
    /// Built in one pass with others (this many artifacts in all), in seconds.
    Shared(f64, usize),
}

/// What a build computes.
enum Work<'a> {
    /// The whole artifact.
    Whole,
    /// One row shard of it, as its own artifact.
    Shard(crate::engine::stage::Shard),
    /// The whole artifact, from these built shards.
    Assemble(&'a [PathBuf]),
}

/// The artifact an item builds: its stage folder's name and key (a shard's own for `--shard`).
pub(crate) fn artifact_of(item: &Item) -> (String, String) {
    let (name, key) = (item.name(), &item.keyed.key);
    match item.shard {
        Some(shard) => (shards::stage_name(name), shards::key(key, shard)),
        None => (name.to_string(), key.clone()),
    }
}

/// True if the item's artifact exists and is not to be rebuilt (for a shard: the whole
/// artifact, which needs no shard, or the shard's own).
pub(crate) fn reusable(item: &Item, store: &Store) -> bool {
    if item.forced {
        return false;
    }
    if store.lookup(item.name(), &item.keyed.key).is_some() {
        return true;
    }
    let (name, key) = artifact_of(item);
    item.shard.is_some() && store.lookup(&name, &key).is_some()
}

/// True if building the item computes it (rather than reusing it or assembling it from its
/// complete shards).
pub(crate) fn computes(item: &Item, store: &Store) -> bool {
    if reusable(item, store) {
        return false;
    }
    let node = &item.graph.nodes[item.node];
    item.shard.is_some()
        || item.forced
        || !node.stage.is_shardable()
        || shards::complete(store, item.name(), &item.keyed.key).is_none()
}

/// Reuses the item's artifact if it exists (and it is not forced), else builds it under its
/// key's lock: from a complete set of its shards where one is built, or just the shard the item
/// asks for.
pub(crate) fn run_item(
    item: &Item,
    store: &Store,
    on_wait: &dyn Fn(Option<u32>),
) -> Result<Outcome> {
    if reusable(item, store) {
        return Ok(Outcome::Reused);
    }
    let node = &item.graph.nodes[item.node];
    let (name, key) = artifact_of(item);
    let lock = store.lock(&name, &key, on_wait)?;
    // Another run may have built it while we waited for the lock.
    if reusable(item, store) {
        return Ok(Outcome::Reused);
    }
    store.discard_invalid(&lock, &name, &key)?;
    let clock = Instant::now();
    tracing::info!(stage = %name, key = %key, "running");
    let parts = match item.shard {
        None if !item.forced && node.stage.is_shardable() => {
            shards::complete(store, item.name(), &item.keyed.key)
        }
        _ => None,
    };
    let work = match (item.shard, &parts) {
        (Some(shard), _) => Work::Shard(shard),
        (None, Some(parts)) => Work::Assemble(parts),
        (None, None) => Work::Whole,
    };
    build(item, store, &lock, work)?;
    let secs = clock.elapsed().as_secs_f64();
    Ok(match parts {
        Some(parts) => Outcome::Assembled(secs, parts.len()),
        None => Outcome::Ran(secs),
    })
}

/// Runs the node's stage (or its shard, or its assembly) into a temporary folder the store
/// renames into place.
fn build(item: &Item, store: &Store, lock: &KeyLock, work: Work) -> Result<()> {
    let node = &item.graph.nodes[item.node];
    let manifest = manifest_for(item);
    let (name, key) = (manifest.stage.clone(), manifest.key.clone());
    store.build(lock, &name, &key, node.stage.is_resumable(), |tmp| {
        let ctx = context(item.graph, node, &item.keyed, store, tmp.to_path_buf());
        caught(|| match work {
            Work::Whole => node.stage.run_configured(&ctx, &node.config),
            Work::Shard(shard) => node.stage.run_shard_configured(&ctx, &node.config, shard),
            Work::Assemble(parts) => node.stage.assemble_configured(&ctx, &node.config, parts),
        })
        .map_err(|source| EngineError::StageFailed {
            stage: name.clone(),
            source,
        })?;
        Ok(manifest)
    })?;
    Ok(())
}

/// What a running stage sees: its output folder and its inputs' artifacts.
pub(crate) fn context<'g>(
    graph: &'g Graph,
    node: &'g Node,
    k: &Keyed,
    store: &Store,
    out_dir: PathBuf,
) -> StageContext<'g> {
    let inputs: BTreeMap<String, InputArtifact> = node
        .inputs
        .iter()
        .map(|name| {
            let key = k.inputs[name].clone();
            let dir = store.artifact_dir(input_stage(name), &key);
            (name.clone(), InputArtifact { key, dir })
        })
        .collect();
    StageContext {
        name: &node.name,
        out_dir,
        inputs,
        root: &graph.root,
    }
}

/// Runs `f`; a panic in a stage is that stage failing, not the whole tool crashing.
pub(crate) fn caught(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(anyhow::anyhow!("panicked: {msg}"))
    })
}

/// The manifest fields of the item's artifact known before its outputs are hashed.
pub(crate) fn manifest_for(item: &Item) -> Manifest {
    let node = &item.graph.nodes[item.node];
    let k = &item.keyed;
    let mut m = Manifest {
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
    };
    if let Some(shard) = item.shard {
        m.stage = shards::stage_name(&node.name);
        m.key = shards::key(&k.key, shard);
        m.params = shards::params(&k.key, shard);
    }
    m
}
