//! What the report reads from one adapter's artifacts (train, align, probe), read once through
//! the types their stages wrote them with.

use crate::error::Result;
use crate::evaluate::align::{AlignArtifact, AlignResults};
use crate::evaluate::hypotheses::{Hypothesis, HypothesisTest, Tested};
use crate::evaluate::probe::{ProbeArtifact, ProbeResults};
use crate::metrics::Metric;
use crate::spaces::Weights;
use crate::train::TrainConfig;
use crate::train::artifact::TrainArtifact;
use crate::train::history::EpochRow;

/// One adapter configuration's artifacts.
#[derive(Debug, Clone)]
pub struct AdapterArtifacts {
    pub name: String,
    pub train: TrainArtifact,
    pub align: AlignArtifact,
    pub probe: ProbeArtifact,
}

pub struct AdapterResults {
    pub name: String,
    pub train: TrainArtifact,
    pub train_config: TrainConfig,
    pub history: Vec<EpochRow>,
    pub align: AlignResults,
    pub probe: ProbeResults,
}

impl AdapterResults {
    pub fn load(a: &AdapterArtifacts) -> Result<AdapterResults> {
        Ok(AdapterResults {
            name: a.name.clone(),
            train: a.train.clone(),
            train_config: a.train.read_config()?,
            history: a.train.read_history()?,
            align: a.align.read()?,
            probe: a.probe.read()?,
        })
    }

    /// The test of `h` on `metric` for the aligned image under `weights`.
    pub fn image_test(
        &self,
        h: Hypothesis,
        metric: Metric,
        weights: Weights,
    ) -> Option<&HypothesisTest> {
        self.align.hypotheses.tests.iter().find(|t| {
            t.hypothesis == h
                && t.metric == metric
                && t.tested == Tested::AlignedImage
                && t.adapter == weights
        })
    }

    /// A history column over the epochs.
    pub fn history_column(&self, f: fn(&EpochRow) -> f64) -> Vec<f64> {
        self.history.iter().map(f).collect()
    }
}
