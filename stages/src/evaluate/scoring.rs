//! The scoring settings `[align]` and `[modelset]` share: which split's rows are scored, with
//! which metrics, and how each score's interval and permutation null are drawn. One type, so
//! the two stages mean the same by each key and check and draw it with the same code.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::dataset::Split;
use crate::evaluate::align::results::AlignSettings;
use crate::metrics::Metric;
use crate::metrics::resample::ResampleOptions;

/// One entry of a `metrics` list: `all`, or a metric by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricChoice {
    All,
    One(Metric),
}

impl Serialize for MetricChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            MetricChoice::All => "all",
            MetricChoice::One(m) => m.name(),
        })
    }
}

impl<'de> Deserialize<'de> for MetricChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "all" {
            return Ok(MetricChoice::All);
        }
        Metric::parse(&name).map(MetricChoice::One).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown metric `{name}`: expected `all` or metric names: {}",
                Metric::ALL.map(Metric::name).join(", ")
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoringConfig {
    /// Which split's pairs are scored (one caption per image).
    pub split: Split,
    /// Cap on scored pairs (seeded choice); 0 = all.
    pub sample_size: usize,
    /// The most rows the expensive replicates (kernel metrics' halves and permutations, CKNNA,
    /// SVCCA, RSA, Procrustes) use; above it they run on a seeded subsample of this many rows (reported).
    pub resample_rows: usize,
    pub metrics: Vec<MetricChoice>,
    pub topk: usize,
    /// Clamp at the 0.95 quantile of |x| before normalising, as the PRH code does.
    pub clamp_outliers: bool,
    pub cca_dim: usize,
    /// Bootstrap replicates (kNN metrics) and random halves (kernel metrics).
    pub bootstrap: usize,
    /// The replicates of the measures that refactor the rows per replicate: SVCCA's halves (an
    /// SVD each), Procrustes' halves and permutations (a cross product each).
    pub costly_resamples: usize,
    /// Permutations of the null (the second side's rows shuffled); the model set uses the same
    /// permutations for every pair.
    pub permutations: usize,
    /// The level of the null calibration's threshold τ (Gröger et al.): a score at or below the
    /// null's (1 − alpha) critical value calibrates to 0.
    pub alpha: f64,
    pub seed: u64,
}

impl Default for ScoringConfig {
    /// `[align]`'s defaults: every metric.
    fn default() -> Self {
        ScoringConfig {
            split: Split::Val,
            sample_size: 0,
            resample_rows: crate::metrics::space::GRAM_ROWS,
            metrics: vec![MetricChoice::All],
            topk: 10,
            clamp_outliers: true,
            cca_dim: 10,
            bootstrap: 1000,
            costly_resamples: 200,
            permutations: 1000,
            alpha: 0.05,
            seed: 0,
        }
    }
}

impl ScoringConfig {
    /// The metrics listed, `all` expanded, each once, in the order first named.
    pub fn metric_list(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for choice in &self.metrics {
            let named = match choice {
                MetricChoice::All => Metric::ALL.to_vec(),
                MetricChoice::One(m) => vec![*m],
            };
            for m in named {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// How the replicates and permutations are drawn.
    pub fn resample_options(&self) -> ResampleOptions {
        ResampleOptions {
            bootstrap: self.bootstrap,
            permutations: self.permutations,
            costly_resamples: self.costly_resamples,
            seed: self.seed,
            max_rows: self.resample_rows,
        }
    }

    /// What the stage's files repeat of these settings, with the `n` rows scored.
    pub fn settings(&self, n: usize) -> AlignSettings {
        AlignSettings {
            split: self.split.as_str().into(),
            n,
            resample_rows: self.resample_rows,
            topk: self.topk,
            clamp_outliers: self.clamp_outliers,
            cca_dim: self.cca_dim,
            bootstrap: self.bootstrap,
            costly_resamples: self.costly_resamples,
            permutations: self.permutations,
            alpha: self.alpha,
            seed: self.seed,
        }
    }

    /// Values the stages cannot use, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            !self.metrics.is_empty(),
            "metrics",
            "[]",
            "`all` or metric names",
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
            self.alpha > 0.0 && self.alpha < 1.0,
            "alpha",
            self.alpha,
            "a level between 0 and 1 (exclusive)",
        );
        c.expect(
            self.sample_size == 0 || self.sample_size > self.topk,
            "sample_size",
            self.sample_size,
            "0 (all rows) or more rows than topk",
        );
        c.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lists_read_and_write_as_names() {
        let c: ScoringConfig =
            serde_json::from_str(r#"{"metrics": ["cka", "all", "cka"], "split": "test"}"#).unwrap();
        assert_eq!(c.split, Split::Test);
        assert_eq!(c.metric_list().len(), Metric::ALL.len());
        assert_eq!(c.metric_list()[0], Metric::Cka);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["metrics"], serde_json::json!(["cka", "all", "cka"]));
        assert_eq!(json["split"], "test");
        let bad = serde_json::from_str::<ScoringConfig>(r#"{"metrics": ["cca"]}"#);
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("unknown metric `cca`")
        );
        let bad = serde_json::from_str::<ScoringConfig>(r#"{"split": "testing"}"#);
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("expected `train`, `val` or `test`")
        );
    }
}
