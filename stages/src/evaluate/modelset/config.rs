//! `[modelset]`: which encoders are compared with which, on which rows, with which metrics, and
//! how each score's interval and permutation null are measured.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::evaluate::scoring::{MetricChoice, ScoringConfig};
use crate::metrics::Metric;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelsetConfig {
    /// Image encoders by name (`[encoders.<name>]`).
    pub image: Vec<String>,
    /// Text encoders by name.
    pub text: Vec<String>,
    /// Listed encoders that may be missing: one whose model file is not installed (the large
    /// models of `make setup-large`) is left out, and said so, instead of failing the run.
    pub optional: Vec<String>,
    /// Every pair of the listed encoders (image–image and text–text too), not only image–text.
    pub all_pairs: bool,
    /// The rows, metrics, intervals and nulls, as `[align]` has them (in the same table). The
    /// null shuffles the second encoder's rows, with the same permutations for every pair.
    #[serde(flatten)]
    pub scoring: ScoringConfig,
}

impl Default for ModelsetConfig {
    fn default() -> Self {
        ModelsetConfig {
            image: vec!["image".into(), "reference".into()],
            text: vec!["text".into()],
            optional: Vec::new(),
            all_pairs: false,
            scoring: ScoringConfig {
                // platonic-rep's three.
                metrics: [Metric::MutualKnn, Metric::UnbiasedCka, Metric::Cknna]
                    .map(MetricChoice::One)
                    .to_vec(),
                ..ScoringConfig::default()
            },
        }
    }
}

impl ModelsetConfig {
    /// The lists without `absent` (optional encoders that are not installed).
    pub fn without(mut self, absent: &[String]) -> ModelsetConfig {
        self.image.retain(|n| !absent.contains(n));
        self.text.retain(|n| !absent.contains(n));
        self
    }

    /// Every listed encoder, image ones first, each once.
    pub fn members(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.image.iter().chain(&self.text) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// Values the stage cannot use, each naming its field: the scoring settings' (as
    /// `[align]`'s), and the lists' (the names are checked against `[encoders]` by the stage
    /// that knows them).
    pub fn problems(&self) -> Vec<BadValue> {
        let mut out = self.scoring.problems();
        let mut c = Checks::new();
        let pairs = if self.all_pairs {
            self.members().len() >= 2
        } else {
            !self.image.is_empty() && !self.text.is_empty()
        };
        c.expect(
            pairs,
            "image",
            format!("{:?} with text {:?}", self.image, self.text),
            "at least one image and one text encoder (or two encoders with all_pairs)",
        );
        let twice = self
            .image
            .iter()
            .find(|n| self.text.contains(n))
            .cloned()
            .unwrap_or_default();
        c.expect(
            twice.is_empty(),
            "text",
            format!("{twice:?}"),
            "an encoder listed as image or as text, not both",
        );
        out.extend(c.into_vec());
        out
    }
}
