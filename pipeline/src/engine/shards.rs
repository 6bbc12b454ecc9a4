//! Shard artifacts: one row shard `I/N` of a shardable stage's artifact, built on its own
//! (`pipeline run --stage S --shard I/N`, a Slurm array task) and stored like any artifact, under
//! the stage `S:shard` (`artifacts/features.image.shard/<key>/`), so that it is atomic, locked
//! and verified the same way.
//!
//! Its key derives from the stage's key and `I/N`; its manifest's params say which stage key it
//! is a shard of (`of`). When every shard of one count is built, building the stage itself
//! assembles them instead of computing: the count is a way of running, not a parameter, so the
//! assembled artifact has the stage's own key and a whole run's bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::engine::key::KEY_HEX_LEN;
use crate::engine::manifest::Manifest;
use crate::engine::stage::Shard;
use crate::engine::store::Store;

const SUFFIX: &str = ":shard";
const DOMAIN: &str = "pipeline shard key v1\n";

/// The stage name shard artifacts of `stage` are stored under.
pub fn stage_name(stage: &str) -> String {
    format!("{stage}{SUFFIX}")
}

/// The stage a shard artifact's stage name belongs to (None for other stages).
pub fn parent_stage(shard_stage: &str) -> Option<&str> {
    shard_stage.strip_suffix(SUFFIX)
}

/// The key of shard `shard` of the artifact keyed `parent`.
pub fn key(parent: &str, shard: Shard) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(DOMAIN.as_bytes());
    hasher.update(format!("{parent}\n{}\n{}", shard.index, shard.count).as_bytes());
    hasher.finalize().to_hex()[..KEY_HEX_LEN].to_string()
}

/// The params a shard artifact's manifest records.
pub fn params(parent: &str, shard: Shard) -> Value {
    json!({ "of": parent, "shard": shard.index, "count": shard.count })
}

/// The stage key a shard artifact's manifest says it is a shard of, and which shard.
pub fn of(m: &Manifest) -> Option<(String, Shard)> {
    parent_stage(&m.stage)?;
    let parent = m.params.get("of")?.as_str()?.to_string();
    let index = m.params.get("shard")?.as_u64()? as usize;
    let count = m.params.get("count")?.as_u64()? as usize;
    Some((parent, Shard::new(index, count)?))
}

/// The built shards of `stage`'s artifact keyed `parent`: count → index → folder.
pub fn built(
    store: &Store,
    stage: &str,
    parent: &str,
) -> BTreeMap<usize, BTreeMap<usize, PathBuf>> {
    let name = stage_name(stage);
    let dir = store.root().join(Store::stage_dir_name(&name));
    let mut out: BTreeMap<usize, BTreeMap<usize, PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let folder = entry.file_name().to_string_lossy().to_string();
        if folder.starts_with('.') {
            continue;
        }
        let Some(m) = Manifest::read_valid(&entry.path(), &name, &folder) else {
            continue;
        };
        if let Some((of, shard)) = of(&m)
            && of == parent
            && key(parent, shard) == folder
        {
            out.entry(shard.count)
                .or_default()
                .insert(shard.index, entry.path());
        }
    }
    out
}

/// The folders of a complete set of shards (every index of one count, in order), the smallest
/// complete count if several are.
pub fn complete(store: &Store, stage: &str, parent: &str) -> Option<Vec<PathBuf>> {
    built(store, stage, parent)
        .into_iter()
        .find(|(count, shards)| shards.len() == *count)
        .map(|(_, shards)| shards.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_keys_differ_by_parent_index_and_count() {
        let k = |p: &str, i, n| key(p, Shard::new(i, n).unwrap());
        let base = k("a", 0, 2);
        assert_eq!(base.len(), KEY_HEX_LEN);
        assert_eq!(base, k("a", 0, 2));
        for other in [k("b", 0, 2), k("a", 1, 2), k("a", 0, 3)] {
            assert_ne!(base, other);
        }
        assert_eq!(
            parent_stage(&stage_name("features:image")),
            Some("features:image")
        );
        assert_eq!(parent_stage("features:image"), None);
    }
}
