//! Artifacts built in one shared pass ([`Stage::pass`](crate::engine::stage::Stage::pass)):
//! encoders that read one model file over the same items each have their artifact and key, but
//! the model runs once for all of those a run builds.
//!
//! The runner groups the items it is about to compute whose [`pass_id`]s are equal: the same
//! stage type and version, the same pass, the same input artifacts and external files, the same
//! shard. The group's keys are locked in one order (any two runs take them in the same order,
//! so neither waits on the other); what another run built meanwhile is reused; the rest are
//! built in nested temporary folders, each renamed into place only after the pass has filled
//! all of them, so a failed pass leaves none of them behind.

use std::path::PathBuf;
use std::time::Instant;

use crate::engine::build::{self, Outcome, artifact_of, reusable};
use crate::engine::error::{EngineError, Result};
use crate::engine::lock::KeyLock;
use crate::engine::plan::Item;
use crate::engine::stage::{AnyStage, Configured, StageContext};
use crate::engine::store::Store;

/// What must be equal for two items to share one pass; None for a stage without passes.
pub(crate) fn pass_id(item: &Item) -> Option<String> {
    let node = &item.graph.nodes[item.node];
    let pass = node.config.pass.as_ref()?;
    let identity = serde_json::json!({
        "stage_type": node.stage.type_name(),
        "version": node.stage.stage_version(),
        "pass": pass,
        "inputs": item.keyed.inputs,
        "externals": item.keyed.externals,
        "shard": item.shard.map(|s| s.to_string()),
    });
    Some(identity.to_string())
}

/// Builds `items` (of one pass id) together; each one's outcome, in order. `on_wait` is told
/// when a key is held by another run.
pub(crate) fn run_together(
    items: &[&Item],
    store: &Store,
    on_wait: &dyn Fn(&Item, Option<u32>),
) -> Vec<Result<Outcome>> {
    let mut outcomes: Vec<Option<Result<Outcome>>> = items.iter().map(|_| None).collect();
    let mut locks: Vec<Option<KeyLock>> = items.iter().map(|_| None).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&m| artifact_of(items[m]));
    for m in order {
        let (name, key) = artifact_of(items[m]);
        let locked = store
            .lock(&name, &key, |pid| on_wait(items[m], pid))
            .and_then(|lock| {
                store.discard_invalid(&lock, &name, &key)?;
                Ok(lock)
            });
        match locked {
            // Another run may have built it while we waited for the lock.
            Ok(_) if reusable(items[m], store) => outcomes[m] = Some(Ok(Outcome::Reused)),
            Ok(lock) => locks[m] = Some(lock),
            Err(e) => outcomes[m] = Some(Err(e)),
        }
    }
    let members: Vec<(usize, KeyLock)> = locks
        .into_iter()
        .enumerate()
        .filter_map(|(m, lock)| Some((m, lock?)))
        .collect();
    if !members.is_empty() {
        let clock = Instant::now();
        tracing::info!(stages = members.len(), "running one shared pass");
        let built: Vec<(&Item, &KeyLock)> = members.iter().map(|(m, l)| (items[*m], l)).collect();
        let result = nest(&built, &built, store, &mut Vec::new());
        let secs = clock.elapsed().as_secs_f64();
        let n = built.len();
        match result {
            Ok(()) => {
                for (m, _) in &members {
                    outcomes[*m] = Some(Ok(Outcome::Shared(secs, n)));
                }
            }
            Err(e) => {
                // The first member carries the error; the others say they shared it.
                let message = e.to_string();
                let mut first = Some(e);
                for (m, _) in &members {
                    let err = first.take().unwrap_or_else(|| EngineError::StageFailed {
                        stage: items[*m].name().to_string(),
                        source: anyhow::anyhow!("its shared pass failed: {message}"),
                    });
                    outcomes[*m] = Some(Err(err));
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every member has an outcome"))
        .collect()
}

/// Opens a temporary folder for each of `rest` inside the previous one's build, then runs the
/// pass into all of them: each folder is published when the builds inside it have returned.
fn nest(
    all: &[(&Item, &KeyLock)],
    rest: &[(&Item, &KeyLock)],
    store: &Store,
    dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    let Some(((item, lock), rest)) = rest.split_first() else {
        return run_pass(all, store, dirs);
    };
    let node = &item.graph.nodes[item.node];
    let manifest = build::manifest_for(item);
    let (name, key) = (manifest.stage.clone(), manifest.key.clone());
    store.build(lock, &name, &key, node.stage.is_resumable(), |tmp| {
        dirs.push(tmp.to_path_buf());
        nest(all, rest, store, dirs)?;
        Ok(manifest)
    })?;
    Ok(())
}

/// The pass itself: each member's context on its temporary folder, one call of the stage.
fn run_pass(members: &[(&Item, &KeyLock)], store: &Store, dirs: &[PathBuf]) -> Result<()> {
    let contexts: Vec<StageContext> = members
        .iter()
        .zip(dirs)
        .map(|((item, _), dir)| {
            let node = &item.graph.nodes[item.node];
            build::context(item.graph, node, &item.keyed, store, dir.clone())
        })
        .collect();
    let args: Vec<(&dyn AnyStage, &StageContext, &Configured)> = members
        .iter()
        .zip(&contexts)
        .map(|((item, _), ctx)| {
            let node = &item.graph.nodes[item.node];
            (node.stage.as_ref(), ctx, &node.config)
        })
        .collect();
    let first = &members[0].0;
    let names: Vec<&str> = members.iter().map(|(item, _)| item.name()).collect();
    build::caught(|| {
        let node = &first.graph.nodes[first.node];
        node.stage.run_pass_configured(&args, first.shard)
    })
    .map_err(|source| EngineError::StageFailed {
        stage: names.join(" + "),
        source,
    })
}
