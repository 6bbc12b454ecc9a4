//! Fresh, stale or missing, and why: each node's current key against the store, and for a node
//! that must be rebuilt, what differs from its most recent artifact ("param lr 5e-05 -> 0.0002",
//! "data/models/dinov2.onnx changed", "stage version 3 -> 4", "input ingest changed").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::engine::graph::{Graph, Keyed, Keys};
use crate::engine::key;
use crate::engine::manifest::Manifest;
use crate::engine::shards;
use crate::engine::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// An artifact with the current key exists.
    Fresh,
    /// Built before, but something it depends on changed.
    Stale,
    /// Never built.
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub stage: String,
    pub state: State,
    pub key: String,
    pub reasons: Vec<String>,
    pub artifact: Option<String>,
    /// For a stage not built yet: its row shards built so far, count → shard indices.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub shards: BTreeMap<usize, Vec<usize>>,
    /// For a stage not built yet: the tasks an executor was given to build it
    /// (crate::executor::jobs fills them in).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

/// One task of an executor's submission (a Slurm job or array task), as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// "shard I/N" or "stage".
    pub what: String,
    /// Slurm's id: `123` or `123_4` for an array task.
    pub job: String,
    /// built, pending, running or failed (or Slurm's state when it is another).
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    pub log: String,
}

pub fn status(graph: &Graph, keys: &Keys, store: &Store) -> Vec<NodeStatus> {
    let mut rows = node_status(graph, keys, store);
    for (row, (&i, k)) in rows.iter_mut().zip(keys) {
        if row.state == State::Fresh || !graph.nodes[i].stage.is_shardable() {
            continue;
        }
        for (count, built) in shards::built(store, &row.stage, &k.key) {
            let built: Vec<usize> = built.into_keys().collect();
            row.reasons.push(if built.len() == count {
                format!("all {count} shards built: the next run assembles them")
            } else {
                let missing: Vec<String> = (0..count)
                    .filter(|i| !built.contains(i))
                    .map(|i| i.to_string())
                    .collect();
                format!(
                    "{} of {count} shards built (missing: {})",
                    built.len(),
                    missing.join(", ")
                )
            });
            row.shards.insert(count, built);
        }
    }
    rows
}

fn node_status(graph: &Graph, keys: &Keys, store: &Store) -> Vec<NodeStatus> {
    keys.iter()
        .map(|(&i, k)| {
            let node = &graph.nodes[i];
            if store.lookup(&node.name, &k.key).is_some() {
                return NodeStatus {
                    stage: node.name.clone(),
                    state: State::Fresh,
                    key: k.key.clone(),
                    reasons: Vec::new(),
                    artifact: Some(store.artifact_dir(&node.name, &k.key).display().to_string()),
                    shards: BTreeMap::new(),
                    tasks: Vec::new(),
                };
            }
            match store.history(&node.name).first() {
                None => NodeStatus {
                    stage: node.name.clone(),
                    state: State::Missing,
                    key: k.key.clone(),
                    reasons: vec!["never built".into()],
                    artifact: None,
                    shards: BTreeMap::new(),
                    tasks: Vec::new(),
                },
                Some(prev) => NodeStatus {
                    stage: node.name.clone(),
                    state: State::Stale,
                    key: k.key.clone(),
                    reasons: explain(node.stage.stage_version(), node.params(), k, prev),
                    artifact: None,
                    shards: BTreeMap::new(),
                    tasks: Vec::new(),
                },
            }
        })
        .collect()
}

/// What differs between the current inputs of a node and its previous artifact `prev`.
pub fn explain(version: u32, params: &Value, k: &Keyed, prev: &Manifest) -> Vec<String> {
    let mut reasons = Vec::new();
    if prev.stage_version != version {
        reasons.push(format!("stage version {} -> {version}", prev.stage_version));
    }
    let (old, new) = (flat(&prev.params), flat(params));
    for name in old.keys().chain(new.keys()).collect::<BTreeSet<_>>() {
        match (old.get(name), new.get(name)) {
            (Some(a), Some(b)) if a != b => reasons.push(format!("param {name} {a} -> {b}")),
            (None, Some(b)) => reasons.push(format!("param {name} added ({b})")),
            (Some(a), None) => reasons.push(format!("param {name} removed (was {a})")),
            _ => {}
        }
    }
    let prev_ext: BTreeMap<&str, &str> = prev
        .externals
        .iter()
        .map(|e| (e.path.as_str(), e.blake3.as_str()))
        .collect();
    for (path, hash) in &k.externals {
        match prev_ext.get(path.as_str()) {
            Some(h) if h != hash => reasons.push(format!("{path} changed")),
            None => reasons.push(format!("{path} is a new input")),
            _ => {}
        }
    }
    for path in prev_ext.keys() {
        if !k.externals.contains_key(*path) {
            reasons.push(format!("{path} is no longer read"));
        }
    }
    for (input, key) in &k.inputs {
        match prev.inputs.get(input) {
            Some(old) if old != key => reasons.push(format!(
                "input {input} changed ({} -> {})",
                key::short(old),
                key::short(key)
            )),
            None => reasons.push(format!("input {input} is new")),
            _ => {}
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "key {} differs from the last build",
            key::short(&k.key)
        ));
    }
    reasons
}

fn flat(v: &Value) -> BTreeMap<String, String> {
    let mut keys = BTreeSet::new();
    crate::config::flatten_json("", v, &mut keys);
    keys.into_iter()
        .map(|k| {
            let mut cur = v;
            for part in k.split('.') {
                cur = &cur[part];
            }
            (k, cur.to_string())
        })
        .collect()
}
