//! The stage graph for one configuration: nodes with their parameters, in dependency order, and
//! their keys.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Config, flatten_json};
use crate::engine::error::{EngineError, Result};
use crate::engine::hash_index::HashIndex;
use crate::engine::key::{self, KeyInput};
use crate::engine::stage::{AnyStage, Configured};

pub struct Node {
    pub stage: Box<dyn AnyStage>,
    pub name: String,
    /// The parameters read from the configuration (their canonical JSON is `config.params`).
    pub config: Configured,
    /// Values in the parameters the stage cannot use (checked before a run starts).
    pub problems: Vec<String>,
    pub inputs: Vec<String>,
}

impl Node {
    /// The canonical JSON of the node's parameters.
    pub fn params(&self) -> &Value {
        &self.config.params
    }
}

pub struct Graph {
    /// Topologically sorted: every node comes after its inputs.
    pub nodes: Vec<Node>,
    pub root: PathBuf,
}

/// Node index → its key.
pub type Keys = BTreeMap<usize, Keyed>;

/// A node's key and what went into it.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub key: String,
    pub inputs: BTreeMap<String, String>,
    /// External path (relative to the config folder when inside it) → content hash.
    pub externals: BTreeMap<String, String>,
}

impl Graph {
    /// The notes of the nodes at `order` ([`crate::engine::stage::Stage::notes`]), each once.
    pub fn notes(&self, order: &[usize]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for note in order
            .iter()
            .flat_map(|&i| self.nodes[i].stage.stage_notes())
        {
            if !out.contains(&note) {
                out.push(note);
            }
        }
        out
    }

    pub fn build(stages: Vec<Box<dyn AnyStage>>, config: &Config) -> Result<Graph> {
        // Unknown keys are reported first, against every stage's defaults, so that a typo gets
        // the list of valid keys rather than one section's deserialisation error.
        let defaults = config.with_empty_table();
        let mut known = BTreeSet::new();
        let mut open_sections = BTreeSet::new();
        for stage in &stages {
            for (section, part) in stage.known_sections(&defaults)? {
                flatten_json(&section, &part, &mut known);
                collect_open_maps(&section, &part, &mut open_sections);
            }
        }
        config.check_known(&known, &open_sections)?;
        let mut nodes = Vec::new();
        let mut names = BTreeSet::new();
        // Every section's type errors at once (nodes sharing a section report it once).
        let mut type_errors = BTreeSet::new();
        for stage in stages {
            let name = stage.stage_name().to_string();
            if !names.insert(name.clone()) {
                return Err(EngineError::Other(format!("two stages are named {name}")));
            }
            let (configured, problems) = match stage.configure(config) {
                Ok(c) => c,
                Err(EngineError::Config(msg)) => {
                    type_errors.insert(msg);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let problems = problems
                .into_iter()
                .map(|p| {
                    format!(
                        "`{}` = {} ({}): expected {}",
                        p.key,
                        p.value,
                        config.origin(&p.key),
                        p.expected
                    )
                })
                .collect();
            let inputs = stage
                .stage_inputs()
                .iter()
                .map(ToString::to_string)
                .collect();
            nodes.push(Node {
                stage,
                name,
                config: configured,
                problems,
                inputs,
            });
        }
        if !type_errors.is_empty() {
            // With them, every value the other stages cannot use: all mistakes at once.
            type_errors.extend(nodes.iter().flat_map(|n| n.problems.iter().cloned()));
            return Err(EngineError::Config(format!(
                "the configuration has errors:\n  {}",
                type_errors.into_iter().collect::<Vec<_>>().join("\n  ")
            )));
        }
        for n in &nodes {
            for i in &n.inputs {
                if !names.contains(i) {
                    return Err(EngineError::Other(format!(
                        "stage {} reads unknown stage {i}",
                        n.name
                    )));
                }
            }
        }
        Ok(Graph {
            nodes: toposort(nodes)?,
            root: config.root.clone(),
        })
    }

    /// A graph of the one stage `stage`, whose inputs are artifacts of other graphs (a sweep's
    /// members): it is configured from `config` but its inputs are not looked up here; key it
    /// with [`Graph::key_with_inputs`].
    pub fn detached(stage: Box<dyn AnyStage>, config: &Config) -> Result<Graph> {
        let name = stage.stage_name().to_string();
        let (configured, problems) = stage.configure(config)?;
        let inputs = stage
            .stage_inputs()
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok(Graph {
            nodes: vec![Node {
                stage,
                name,
                config: configured,
                problems: problems
                    .into_iter()
                    .map(|p| format!("`{}` = {}: expected {}", p.key, p.value, p.expected))
                    .collect(),
                inputs,
            }],
            root: config.root.clone(),
        })
    }

    /// The key of node `i` given the keys of its inputs (by input name) from elsewhere.
    pub fn key_with_inputs(
        &self,
        index: &mut HashIndex,
        i: usize,
        inputs: BTreeMap<String, String>,
    ) -> Result<Keyed> {
        let node = &self.nodes[i];
        for name in &node.inputs {
            if !inputs.contains_key(name) {
                return Err(EngineError::Other(format!(
                    "{}: no key for its input {name}",
                    node.name
                )));
            }
        }
        let mut externals = BTreeMap::new();
        for path in &node.config.externals {
            if !path.exists() {
                return Err(EngineError::Config(format!(
                    "stage {}: input {} does not exist",
                    node.name,
                    path.display()
                )));
            }
            externals.insert(self.display_path(path), index.hash_path(path)?);
        }
        let key = key::compute(&KeyInput {
            stage: &node.name,
            version: node.stage.stage_version(),
            params: node.params(),
            inputs: &inputs,
            externals: &externals,
        });
        Ok(Keyed {
            key,
            inputs,
            externals,
        })
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    /// Resolves a `--stage` (and `--adapter`) selection to node names. `NAME` matches a node
    /// exactly or a family (`features` → every `features:*`); `--adapter A` narrows a family to
    /// `NAME:A`.
    pub fn resolve(&self, stage: &str, adapter: Option<&str>) -> Result<Vec<String>> {
        let wanted = match adapter {
            Some(a) if !stage.contains(':') => format!("{stage}:{a}"),
            _ => stage.to_string(),
        };
        let exact: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.name == wanted)
            .map(|n| n.name.clone())
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        let family: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.name.split(':').next() == Some(wanted.as_str()))
            .map(|n| n.name.clone())
            .collect();
        if !family.is_empty() {
            return Ok(family);
        }
        Err(EngineError::Config(format!(
            "unknown stage `{wanted}`; stages of this configuration: {}",
            self.names().join(", ")
        )))
    }

    /// The targets and everything they need, in run order.
    pub fn closure(&self, targets: &[String]) -> Vec<usize> {
        let mut needed = BTreeSet::new();
        let mut stack: Vec<String> = targets.to_vec();
        while let Some(name) = stack.pop() {
            if needed.insert(name.clone())
                && let Some(i) = self.index_of(&name)
            {
                stack.extend(self.nodes[i].inputs.iter().cloned());
            }
        }
        (0..self.nodes.len())
            .filter(|&i| needed.contains(&self.nodes[i].name))
            .collect()
    }

    /// Fails, before anything runs, with every value the nodes at `order` cannot use (a value
    /// several nodes read is listed once).
    pub fn check_params(&self, order: &[usize]) -> Result<()> {
        let problems: BTreeSet<&String> = order
            .iter()
            .flat_map(|&i| self.nodes[i].problems.iter())
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(EngineError::Config(format!(
            "the configuration has values its stages cannot use:\n  {}",
            problems
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n  ")
        )))
    }

    /// Every node's key, in graph order.
    pub fn keys(&self, index: &mut HashIndex) -> Result<Keys> {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.keys_for(index, &all)
    }

    /// The keys of the nodes at `order` (which must hold each node's inputs before it, as
    /// [`Graph::closure`] returns them). Only those nodes' external files are hashed.
    pub fn keys_for(&self, index: &mut HashIndex, order: &[usize]) -> Result<Keys> {
        let mut out = Keys::new();
        for &i in order {
            let node = &self.nodes[i];
            let mut inputs = BTreeMap::new();
            for name in &node.inputs {
                let j = self.index_of(name).expect("inputs checked at build");
                let k = out.get(&j).ok_or_else(|| {
                    EngineError::Other(format!("{name} must be keyed before {}", node.name))
                })?;
                inputs.insert(name.clone(), k.key.clone());
            }
            out.insert(i, self.key_with_inputs(index, i, inputs)?);
        }
        Ok(out)
    }

    /// A path as recorded in keys and manifests: relative to the config folder when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .to_string()
    }
}

/// Params whose default is an empty map take user-chosen keys (e.g. named encoders).
fn collect_open_maps(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = v {
        if map.is_empty() {
            out.insert(prefix.to_string());
        }
        for (k, child) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            collect_open_maps(&key, child, out);
        }
    }
}

/// Orders nodes so that each comes after its inputs, keeping declaration order where free.
fn toposort(nodes: Vec<Node>) -> Result<Vec<Node>> {
    let mut remaining: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    loop {
        let mut progressed = false;
        for slot in remaining.iter_mut() {
            let ready = slot
                .as_ref()
                .is_some_and(|n| n.inputs.iter().all(|i| done.contains(i)));
            if ready {
                let n = slot.take().expect("checked above");
                done.insert(n.name.clone());
                out.push(n);
                progressed = true;
            }
        }
        remaining.retain(Option::is_some);
        if remaining.is_empty() {
            return Ok(out);
        }
        if !progressed {
            let stuck: Vec<String> = remaining.iter().flatten().map(|n| n.name.clone()).collect();
            return Err(EngineError::Other(format!(
                "stage graph has a cycle among {}",
                stuck.join(", ")
            )));
        }
    }
}
