//! `train:<name>`: one node per adapter configuration (`[train.<name>]`); by default the research's
//! two experiments, `train:linear` and `train:mlp` (`mlp_adapter_compact_distribution`).

use serde_json::Value;
use stages::train::{TrainArtifact, TrainConfig, training};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext, StageId};
use crate::nodes::ids;

/// The key-only parameter naming a non-default training backend (see `key_params`).
const BACKEND_KEY: &str = "backend";

pub struct TrainNode {
    pub name: String,
}

/// The adapter configurations of a config: the tables under `[train]`, or both research
/// experiments when there are none.
pub fn adapters(config: &Config) -> Vec<String> {
    let names: Vec<String> = config.section("train").keys().cloned().collect();
    if names.is_empty() {
        vec!["linear".into(), "mlp".into()]
    } else {
        names
    }
}

impl Stage for TrainNode {
    type Params = TrainConfig;

    fn name(&self) -> StageId {
        ids::train(&self.name)
    }

    fn version(&self) -> u32 {
        stages::train::VERSION
    }

    fn section(&self) -> String {
        format!("train.{}", self.name)
    }

    fn inputs(&self) -> Vec<StageId> {
        super::paired_features()
    }

    fn defaults(&self) -> TrainConfig {
        match self.name.as_str() {
            "mlp" => TrainConfig::mlp_compact_distribution(),
            _ => TrainConfig::linear(),
        }
    }

    fn problems(&self, config: &TrainConfig) -> Vec<Problem> {
        Problem::in_section(&self.section(), config.problems())
    }

    /// The training config; in a build that trains on another backend than the default
    /// (ndarray), also `backend`, so that its artifacts get their own keys (float results differ
    /// between backends) while the default build's keys stay as they are.
    fn key_params(&self, config: &TrainConfig) -> Result<Value> {
        let mut params = serde_json::to_value(config)
            .map_err(|e| EngineError::Other(format!("{}: {e}", self.name())))?;
        if stages::train::BACKEND != "ndarray"
            && let Value::Object(map) = &mut params
        {
            map.insert(BACKEND_KEY.into(), stages::train::BACKEND.into());
        }
        Ok(params)
    }

    /// Epoch checkpoints of a killed run are picked up (stages::train::checkpoint).
    fn resumable(&self) -> bool {
        true
    }

    /// The last epoch's validation loss and R@1 in both directions.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let history = TrainArtifact::at(dir).read_history()?;
        let Some(last) = history.last() else {
            return Ok(Vec::new());
        };
        Ok([
            ("val_loss", last.val_loss),
            ("val_r1_i2t", last.val_r1_i2t),
            ("val_r1_t2i", last.val_r1_t2i),
        ]
        .into_iter()
        .map(|(column, value)| Reported {
            column: column.into(),
            value,
            role: Role::Detail,
        })
        .collect())
    }

    fn run(&self, ctx: &StageContext, config: &TrainConfig) -> anyhow::Result<()> {
        let data = super::open_paired_features(ctx)?;
        let clock = std::time::Instant::now();
        let out = TrainArtifact::at(&ctx.out_dir);
        let outcome = training::train_on_selected_backend(config, &data, &out, ctx.name)?;
        let (first, last) = (outcome.history.first(), outcome.history.last());
        if let (Some(f), Some(l)) = (first, last) {
            eprintln!(
                "{}: {} train / {} val pairs, {} epochs x {} steps in {:.1} s on {}; val loss {:.4} -> {:.4}, val R@1 {:.3} -> {:.3}",
                ctx.name,
                outcome.train_pairs,
                outcome.val_pairs,
                config.epochs,
                outcome.steps_per_epoch,
                clock.elapsed().as_secs_f64(),
                stages::train::BACKEND,
                f.val_loss,
                l.val_loss,
                f.val_r1_i2t,
                l.val_r1_i2t
            );
        }
        Ok(())
    }
}
