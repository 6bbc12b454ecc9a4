//! `[competence]`: what the model set's alignment is plotted against, besides the linear probe
//! the pipeline measures for every image encoder, and how Spearman's rho is resampled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompetenceConfig {
    /// What `scores` measure, for the tables and the figure's axis ("ImageNet top-1").
    pub score_name: String,
    /// A number per encoder of `[modelset]` (any kind), higher meaning more competent: a
    /// published benchmark result, say. Encoders without one are left out of its correlations.
    pub scores: BTreeMap<String, f64>,
    /// Bootstrap resamples of the encoders for rho's 95% interval.
    pub resamples: usize,
    /// Permutations of the competence values for rho's p-value.
    pub permutations: usize,
    pub seed: u64,
}

impl Default for CompetenceConfig {
    fn default() -> Self {
        CompetenceConfig {
            score_name: "score".into(),
            scores: BTreeMap::new(),
            resamples: 1000,
            permutations: 1000,
            seed: 0,
        }
    }
}

impl CompetenceConfig {
    /// Values the stage cannot use, each naming its field (the names in `scores` are checked
    /// against `[modelset]` by the stage that knows it).
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            !self.score_name.trim().is_empty(),
            "score_name",
            format!("{:?}", self.score_name),
            "a name for what `scores` measure",
        );
        for (name, v) in &self.scores {
            c.expect(
                v.is_finite(),
                &format!("scores.{name}"),
                v,
                "a finite number",
            );
        }
        c.into_vec()
    }
}
