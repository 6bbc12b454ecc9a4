//! What a node of the graph is: a name, a version, typed parameters read from the config, its
//! inputs and the external files it reads, and a `run` that writes its outputs into a folder it
//! is given.
//!
//! A stage never sees the artifact store: it reads its inputs' folders and writes into `out_dir`
//! (a temporary folder the store renames into place once the stage returns successfully).
//!
//! Nodes implement [`Stage`], whose parameters are a typed struct; the graph holds them as
//! [`AnyStage`] (implemented for every [`Stage`]), which reads the parameters once, hashes their
//! canonical JSON into the key and hands the typed value back to [`Stage::run`]. So no node
//! deserialises JSON by hand, and every configuration error comes from [`Config::typed_over`].

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use stages::compare::Role;
pub use stages::shard::Shard;

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
pub use crate::engine::id::StageId;

pub trait Stage: Send + Sync + 'static {
    /// The stage's parameters, read from its config section with defaults filled in.
    type Params: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Unique, readable in the CLI: `ingest`, `features:image`, `train:linear`.
    fn name(&self) -> StageId;

    /// Bump whenever the stage's output would change for the same inputs and parameters.
    fn version(&self) -> u32;

    /// The config section holding this stage's parameters (`""` for none).
    fn section(&self) -> String;

    /// The nodes whose artifacts this stage reads.
    fn inputs(&self) -> Vec<StageId>;

    /// The parameters when the config says nothing (some depend on the node: each encoder's
    /// preset, each adapter's experiment).
    fn defaults(&self) -> Self::Params;

    /// Reads the parameters: [`Stage::section`] over [`Stage::defaults`]. Stages that read
    /// several sections override this and [`Stage::config_sections`] together.
    fn read_params(&self, config: &Config) -> Result<Self::Params> {
        config.typed_over(&self.section(), &self.defaults())
    }

    /// The config sections this stage reads and, for each, the part of `defaults` (the params at
    /// their defaults, as JSON) that section holds: what `--set` may name.
    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![(self.section(), defaults.clone())]
    }

    /// Values the stage cannot use, each with its full key; found when the graph is built and
    /// reported for every stage a run touches, before any of them runs.
    fn problems(&self, _params: &Self::Params) -> Vec<Problem> {
        Vec::new()
    }

    /// The canonical JSON of the parameters, hashed into the key and kept in the manifest.
    fn key_params(&self, params: &Self::Params) -> Result<Value> {
        serde_json::to_value(params)
            .map_err(|e| EngineError::Other(format!("{}: parameters: {e}", self.name())))
    }

    /// External files and folders the stage reads (model files, datasets), given its params.
    fn externals(&self, _params: &Self::Params, _config: &Config) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    /// True if `run` can continue from what an interrupted attempt left in `out_dir` (it then
    /// finds that attempt's files there and must decide what to keep); false: `out_dir` starts
    /// empty.
    fn resumable(&self) -> bool {
        false
    }

    /// Computes the outputs into `ctx.out_dir`.
    fn run(&self, ctx: &StageContext, params: &Self::Params) -> anyhow::Result<()>;

    /// True if the stage splits into row shards (`pipeline run --shard I/N`): [`Stage::run_shard`]
    /// computes one, [`Stage::assemble`] puts all of them together into the files [`Stage::run`]
    /// writes, byte for byte.
    fn shardable(&self) -> bool {
        false
    }

    /// Computes shard `shard` of the outputs into `ctx.out_dir` (a shard artifact's folder).
    fn run_shard(
        &self,
        ctx: &StageContext,
        _params: &Self::Params,
        shard: Shard,
    ) -> anyhow::Result<()> {
        anyhow::bail!(
            "{} does not split into shards (asked for shard {shard})",
            ctx.name
        )
    }

    /// Writes into `ctx.out_dir` what [`Stage::run`] would, from the folders of shards 0..N of
    /// one count, in order, without computing them again.
    fn assemble(
        &self,
        ctx: &StageContext,
        _params: &Self::Params,
        _shards: &[PathBuf],
    ) -> anyhow::Result<()> {
        anyhow::bail!("{} does not split into shards", ctx.name)
    }

    /// What a user should know about how this stage is configured here (an optional encoder
    /// left out, say): shown by `pipeline status` and at the start of a run that selects it,
    /// not by every command.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// What a build computes before it splits into this stage's outputs, for stages whose
    /// artifacts can share that computation (encoders that read one model file over the same
    /// items and keep different outputs of it). Artifacts of stages of one type, with equal
    /// passes, the same input artifacts and the same external files, that one run builds, are
    /// built together by [`Stage::run_pass`]. None (the default): always built alone.
    fn pass(&self, _params: &Self::Params) -> Option<Value> {
        None
    }

    /// Builds the artifacts of `members` (this stage among them, all of one [`Stage::pass`]) in
    /// one computation, each into its own `ctx.out_dir`, with the bytes its own [`Stage::run`]
    /// (or, with `shard`, [`Stage::run_shard`]) would write. The default builds them one by one.
    fn run_pass(&self, members: &[PassMember<Self>], shard: Option<Shard>) -> anyhow::Result<()>
    where
        Self: Sized,
    {
        for m in members {
            match shard {
                None => m.stage.run(m.ctx, m.params)?,
                Some(shard) => m.stage.run_shard(m.ctx, m.params, shard)?,
            }
        }
        Ok(())
    }

    /// The numbers a built artifact of this stage (its folder `dir`) reports, for the tables
    /// that compare a sweep's members (`compare:<sweep>`). Stages without results report none.
    fn report(&self, _dir: &Path) -> anyhow::Result<Vec<Reported>> {
        Ok(Vec::new())
    }
}

/// One number an artifact reports (a metric's score, a probe's accuracy), under a column name
/// unique within its stage family.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub column: String,
    pub value: f64,
    pub role: Role,
}

/// One artifact of a shared pass ([`Stage::run_pass`]): its node, context and parameters.
pub struct PassMember<'a, S: Stage> {
    pub stage: &'a S,
    pub ctx: &'a StageContext<'a>,
    pub params: &'a S::Params,
}

/// A parameter value a stage cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The full dotted key (`train.mlp.temperature`).
    pub key: String,
    pub value: String,
    pub expected: String,
}

impl Problem {
    /// The `values` of config section `section` (their fields relative to it).
    pub fn in_section(section: &str, values: Vec<stages::check::BadValue>) -> Vec<Problem> {
        values
            .into_iter()
            .map(|v| Problem {
                key: if section.is_empty() {
                    v.field
                } else {
                    format!("{section}.{}", v.field)
                },
                value: v.value,
                expected: v.expected,
            })
            .collect()
    }
}

/// The stage an input name refers to: `align:linear@3` (the align artifact of a sweep's member
/// 3, as `compare:<sweep>` reads it) is `align:linear`.
pub fn input_stage(input: &str) -> &str {
    input.split_once('@').map_or(input, |(stage, _)| stage)
}

/// An input of a running stage: the artifact of another node.
#[derive(Debug, Clone)]
pub struct InputArtifact {
    pub key: String,
    pub dir: PathBuf,
}

/// What a running stage sees.
pub struct StageContext<'a> {
    pub name: &'a str,
    /// Where to write outputs (a temporary folder; renamed into place on success).
    pub out_dir: PathBuf,
    /// Input node name → its artifact.
    pub inputs: BTreeMap<String, InputArtifact>,
    /// The folder of the config file (relative paths resolve against it).
    pub root: &'a Path,
}

impl StageContext<'_> {
    /// The artifact folder of input `id` (a stage or, for a stage reading several artifacts of
    /// one stage, the stage at a tag).
    pub fn input(&self, id: &StageId) -> anyhow::Result<&Path> {
        Ok(&self.artifact(id)?.dir)
    }

    /// The artifact (key and folder) of input `id`.
    pub fn artifact(&self, id: &StageId) -> anyhow::Result<&InputArtifact> {
        self.inputs
            .get(&id.to_string())
            .ok_or_else(|| anyhow::anyhow!("stage {} has no input named {id}", self.name))
    }
}

/// A stage's parameters as read from one configuration.
pub struct Configured {
    /// Canonical JSON: hashed into the key, recorded in the manifest.
    pub params: Value,
    /// What [`Stage::externals`] named.
    pub externals: Vec<PathBuf>,
    /// What [`Stage::pass`] said: builds of equal passes may share one computation.
    pub pass: Option<Value>,
    /// The typed parameters, handed back to [`Stage::run`].
    typed: Box<dyn Any + Send + Sync>,
}

/// A [`Stage`] with its parameter type erased, as the graph holds it.
///
/// Its methods have names of their own, so that calling a [`Stage`] method on a node type is
/// never ambiguous.
pub trait AnyStage: Send + Sync {
    fn stage_name(&self) -> StageId;
    fn stage_version(&self) -> u32;
    fn stage_inputs(&self) -> Vec<StageId>;
    fn is_resumable(&self) -> bool;
    /// The sections and keys `--set` may name, from the parameters at their defaults.
    fn known_sections(&self, defaults: &Config) -> Result<Vec<(String, Value)>>;
    /// Reads the parameters from `config`, with the values the stage cannot use listed.
    fn configure(&self, config: &Config) -> Result<(Configured, Vec<Problem>)>;
    fn run_configured(&self, ctx: &StageContext, params: &Configured) -> anyhow::Result<()>;
    fn is_shardable(&self) -> bool;
    fn run_shard_configured(
        &self,
        ctx: &StageContext,
        params: &Configured,
        shard: Shard,
    ) -> anyhow::Result<()>;
    fn assemble_configured(
        &self,
        ctx: &StageContext,
        params: &Configured,
        shards: &[PathBuf],
    ) -> anyhow::Result<()>;
    fn stage_report(&self, dir: &Path) -> anyhow::Result<Vec<Reported>>;
    fn stage_notes(&self) -> Vec<String>;
    /// The node's type, which a shared pass's members must share.
    fn type_name(&self) -> &'static str;
    fn as_any(&self) -> &dyn Any;
    /// [`Stage::run_pass`] over `members`, each (its node, context, parameters); every node
    /// of this one's type.
    fn run_pass_configured(
        &self,
        members: &[(&dyn AnyStage, &StageContext, &Configured)],
        shard: Option<Shard>,
    ) -> anyhow::Result<()>;
}

impl<S: Stage> AnyStage for S {
    fn stage_name(&self) -> StageId {
        self.name()
    }

    fn stage_version(&self) -> u32 {
        self.version()
    }

    fn stage_inputs(&self) -> Vec<StageId> {
        self.inputs()
    }

    fn is_resumable(&self) -> bool {
        self.resumable()
    }

    fn known_sections(&self, defaults: &Config) -> Result<Vec<(String, Value)>> {
        let params = self.read_params(defaults)?;
        Ok(self.config_sections(&self.key_params(&params)?))
    }

    fn configure(&self, config: &Config) -> Result<(Configured, Vec<Problem>)> {
        let typed = self.read_params(config)?;
        let problems = self.problems(&typed);
        let configured = Configured {
            params: self.key_params(&typed)?,
            externals: self.externals(&typed, config)?,
            pass: self.pass(&typed),
            typed: Box::new(typed),
        };
        Ok((configured, problems))
    }

    fn run_configured(&self, ctx: &StageContext, params: &Configured) -> anyhow::Result<()> {
        self.run(ctx, typed::<S>(ctx, params)?)
    }

    fn is_shardable(&self) -> bool {
        self.shardable()
    }

    fn run_shard_configured(
        &self,
        ctx: &StageContext,
        params: &Configured,
        shard: Shard,
    ) -> anyhow::Result<()> {
        self.run_shard(ctx, typed::<S>(ctx, params)?, shard)
    }

    fn assemble_configured(
        &self,
        ctx: &StageContext,
        params: &Configured,
        shards: &[PathBuf],
    ) -> anyhow::Result<()> {
        self.assemble(ctx, typed::<S>(ctx, params)?, shards)
    }

    fn stage_report(&self, dir: &Path) -> anyhow::Result<Vec<Reported>> {
        self.report(dir)
    }

    fn stage_notes(&self) -> Vec<String> {
        self.notes()
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<S>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn run_pass_configured(
        &self,
        members: &[(&dyn AnyStage, &StageContext, &Configured)],
        shard: Option<Shard>,
    ) -> anyhow::Result<()> {
        let members = members
            .iter()
            .map(|&(stage, ctx, params)| {
                let stage = stage.as_any().downcast_ref::<S>().ok_or_else(|| {
                    anyhow::anyhow!("{}: not a stage of {}'s type", ctx.name, self.name())
                })?;
                Ok(PassMember {
                    stage,
                    ctx,
                    params: typed::<S>(ctx, params)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.run_pass(&members, shard)
    }
}

/// The typed parameters of stage `S` that [`AnyStage::configure`] read.
fn typed<'p, S: Stage>(
    ctx: &StageContext,
    params: &'p Configured,
) -> anyhow::Result<&'p S::Params> {
    params
        .typed
        .downcast_ref::<S::Params>()
        .ok_or_else(|| anyhow::anyhow!("{}: parameters of another stage", ctx.name))
}

/// Builds the list of stages for a config (e.g. one `train:<adapter>` node per adapter).
pub type Registry = fn(&Config) -> Result<Vec<Box<dyn AnyStage>>>;
