//! What a node of the graph is: a name, a version, a config section, its inputs and the external
//! files it reads, and a `run` that writes its outputs into a folder it is given.
//!
//! A stage never sees the artifact store: it reads its inputs' folders and writes into `out_dir`
//! (a temporary folder the store renames into place once the stage returns successfully).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::Config;
use crate::engine::error::Result;

pub trait Stage: Send + Sync {
    /// Unique, readable in the CLI: `ingest`, `features:image`, `train:linear`.
    fn name(&self) -> String;

    /// Bump whenever the stage's output would change for the same inputs and parameters.
    fn version(&self) -> u32;

    /// The config section holding this stage's parameters (`""` for none).
    fn section(&self) -> String;

    /// Names of the nodes whose artifacts this stage reads.
    fn inputs(&self) -> Vec<String>;

    /// The config sections this stage reads and, for each, the part of `defaults` (the params at
    /// their defaults) that section holds: what `--set` may name. One section by default.
    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![(self.section(), defaults.clone())]
    }

    /// The stage's parameters, read from its section with defaults filled in, as canonical JSON.
    fn params(&self, config: &Config) -> Result<Value>;

    /// External files and folders the stage reads (model files, datasets), given its params.
    fn externals(&self, _params: &Value, _config: &Config) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    /// True if `run` can continue from what an interrupted attempt left in `out_dir` (it then
    /// finds that attempt's files there and must decide what to keep); false: `out_dir` starts
    /// empty.
    fn resumable(&self) -> bool {
        false
    }

    /// Computes the outputs into `ctx.out_dir`.
    fn run(&self, ctx: &StageContext) -> anyhow::Result<()>;
}

/// What a running stage sees.
pub struct StageContext<'a> {
    pub name: &'a str,
    /// Where to write outputs (a temporary folder; renamed into place on success).
    pub out_dir: PathBuf,
    pub params: &'a Value,
    /// Input node name → its artifact folder.
    pub inputs: BTreeMap<String, PathBuf>,
    /// The folder of the config file (relative paths resolve against it).
    pub root: &'a Path,
}

impl StageContext<'_> {
    /// The parameters as the stage's typed struct.
    pub fn params<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        Ok(serde_json::from_value(self.params.clone())?)
    }

    /// The artifact folder of input `name`.
    pub fn input(&self, name: &str) -> anyhow::Result<&Path> {
        self.inputs
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| anyhow::anyhow!("stage {} has no input named {name}", self.name))
    }
}

/// Builds the list of stages for a config (e.g. one `train:<adapter>` node per adapter).
pub type Registry = fn(&Config) -> Result<Vec<Box<dyn Stage>>>;
