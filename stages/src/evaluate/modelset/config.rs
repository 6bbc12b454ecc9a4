//! `[modelset]`: which encoders are compared with which, on which rows, with which metrics, and
//! how each score's interval and permutation null are measured.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::evaluate::align::AlignConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Which split's records are scored (one caption per image, as in `[align]`).
    pub split: String,
    /// Cap on scored rows (seeded choice); 0 = all.
    pub sample_size: usize,
    /// The most rows the kernel metrics' halves and permutations use (subsampled above).
    pub resample_rows: usize,
    /// `all`, or metric names; platonic-rep's three by default.
    pub metrics: Vec<String>,
    pub topk: usize,
    pub clamp_outliers: bool,
    pub cca_dim: usize,
    pub bootstrap: usize,
    pub svcca_resamples: usize,
    /// Permutations of the null (the second encoder's rows shuffled); the same permutations
    /// for every pair.
    pub permutations: usize,
    pub seed: u64,
}

impl Default for ModelsetConfig {
    fn default() -> Self {
        ModelsetConfig {
            image: vec!["image".into(), "reference".into()],
            text: vec!["text".into()],
            optional: Vec::new(),
            all_pairs: false,
            split: "val".into(),
            sample_size: 0,
            resample_rows: crate::metrics::space::GRAM_ROWS,
            metrics: vec!["mutual_knn".into(), "unbiased_cka".into(), "cknna".into()],
            topk: 10,
            clamp_outliers: true,
            cca_dim: 10,
            bootstrap: 1000,
            svcca_resamples: 200,
            permutations: 1000,
            seed: 0,
        }
    }
}

impl ModelsetConfig {
    /// The scoring settings as `[align]` holds them: the rows, metrics, intervals and nulls
    /// mean the same in both stages, and are checked and drawn by the same code.
    pub fn scoring(&self) -> AlignConfig {
        AlignConfig {
            split: self.split.clone(),
            sample_size: self.sample_size,
            resample_rows: self.resample_rows,
            metrics: self.metrics.clone(),
            topk: self.topk,
            clamp_outliers: self.clamp_outliers,
            cca_dim: self.cca_dim,
            bootstrap: self.bootstrap,
            svcca_resamples: self.svcca_resamples,
            permutations: self.permutations,
            seed: self.seed,
        }
    }

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
        let mut out = self.scoring().problems();
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
