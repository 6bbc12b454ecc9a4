//! `[align]`: which rows are scored, with which metrics, and how their uncertainty is measured.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::dataset::Split;
use crate::error::{Error, Result};
use crate::evaluate::align::results::AlignSettings;
use crate::metrics::resample::ResampleOptions;
use crate::metrics::{self, Metric};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlignConfig {
    /// Which split's pairs are scored.
    pub split: String,
    /// Cap on scored pairs (seeded choice); 0 = all.
    pub sample_size: usize,
    /// The most rows the expensive replicates (kernel metrics' halves and permutations, CKNNA,
    /// SVCCA) use; above it they run on a seeded subsample of this many rows (reported).
    pub resample_rows: usize,
    /// `all`, or metric names.
    pub metrics: Vec<String>,
    pub topk: usize,
    /// Clamp at the 0.95 quantile of |x| before normalising, as the PRH code does.
    pub clamp_outliers: bool,
    pub cca_dim: usize,
    /// Bootstrap replicates (kNN metrics) and random halves (kernel metrics).
    pub bootstrap: usize,
    /// SVCCA recomputes its SVD per half: it gets at most this many halves.
    pub svcca_resamples: usize,
    pub permutations: usize,
    pub seed: u64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            split: "val".into(),
            sample_size: 0,
            resample_rows: crate::metrics::space::GRAM_ROWS,
            metrics: vec!["all".into()],
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

impl AlignConfig {
    pub fn metric_list(&self) -> Result<Vec<Metric>> {
        let mut out = Vec::new();
        for m in &self.metrics {
            for x in metrics::parse_list(m)? {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
        Ok(out)
    }

    /// How the replicates and permutations are drawn.
    pub fn resample_options(&self) -> ResampleOptions {
        ResampleOptions {
            bootstrap: self.bootstrap,
            permutations: self.permutations,
            svcca_resamples: self.svcca_resamples,
            seed: self.seed,
            max_rows: self.resample_rows,
        }
    }

    /// What the stage's files repeat of these settings, with the `n` rows scored.
    pub fn settings(&self, n: usize) -> AlignSettings {
        AlignSettings {
            split: self.split.clone(),
            n,
            resample_rows: self.resample_rows,
            topk: self.topk,
            clamp_outliers: self.clamp_outliers,
            cca_dim: self.cca_dim,
            bootstrap: self.bootstrap,
            svcca_resamples: self.svcca_resamples,
            permutations: self.permutations,
            seed: self.seed,
        }
    }

    pub fn split(&self) -> Result<Split> {
        Split::parse(&self.split).ok_or_else(|| Error::Invalid {
            what: "[align] split".into(),
            message: format!("`{}`: expected `train`, `val` or `test`", self.split),
        })
    }

    /// Values the stage cannot use, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        let names = |v: &[String]| format!("{v:?}");
        c.expect(
            self.metric_list().is_ok(),
            "metrics",
            names(&self.metrics),
            &format!(
                "`all` or metric names: {}",
                Metric::ALL.map(Metric::name).join(", ")
            ),
        );
        c.expect(
            self.split().is_ok(),
            "split",
            format!("{:?}", self.split),
            "`train`, `val` or `test` (test: a dataset's own split only)",
        );
        c.positive_count("topk", self.topk);
        c.expect(
            self.resample_rows > self.topk,
            "resample_rows",
            self.resample_rows,
            "more rows than topk",
        );
        c.positive_count("cca_dim", self.cca_dim);
        c.expect(
            self.sample_size == 0 || self.sample_size > self.topk,
            "sample_size",
            self.sample_size,
            "0 (all rows) or more rows than topk",
        );
        c.into_vec()
    }
}
