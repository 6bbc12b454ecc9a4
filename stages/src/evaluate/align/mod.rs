//! The `align:<name>` computation: every metric on the unimodal pairs (before training), the
//! trained adapters' pairs and the untrained adapters' pairs (the control), with intervals and
//! permutation p-values; H1/H2 against the measured unimodal baselines; the variance
//! difference to the reference before and after training.
//!
//! - [`config`]: the `[align]` section;
//! - [`score`](mod@score): the scored spaces and every metric on every pair, with replicates;
//! - [`results`]: the rows the stage writes and the artifact's layout.

pub mod config;
pub mod results;
pub mod score;

use crate::error::Result;
use crate::evaluate::hypotheses::HypothesisTest;
use crate::train::TrainArtifact;
use crate::train::data::TrainingData;

pub use config::AlignConfig;
pub use results::{AlignArtifact, AlignResults, AlignSettings, MetricRow, SpaceRow};

pub struct AlignSummary {
    pub rows: usize,
    pub tests: Vec<HypothesisTest>,
}

/// Scores the `train` artifact's embeddings against the features in `data` into `out`.
pub fn run(
    config: &AlignConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    out: &AlignArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<AlignSummary> {
    let scored = score::score(config, data, train, progress)?;
    let results = scored.results(config);
    out.write(&results)?;
    Ok(AlignSummary {
        rows: scored.rows(),
        tests: results.hypotheses.tests,
    })
}
