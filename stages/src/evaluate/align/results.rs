//! What `align:<name>` writes, as types, and the artifact's layout, owned here: the stage writes
//! through [`AlignArtifact::write`] and the report reads through [`AlignArtifact::read`], so a
//! field renamed on one side is an error naming the file on the other, never a NaN on the page.
//!
//! ```text
//! metrics.json / metrics.parquet        one MetricRow per metric × pair
//! hypotheses.json / hypotheses.parquet  one HypothesisTest per hypothesis × metric × tested × weights
//! spaces.json                           one SpaceRow per space
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::evaluate::hypotheses::HypothesisTest;
use crate::json::{self, nan_as_null};
use crate::metrics::Metric;
use crate::spaces::{Pair, SpaceName, Weights, weights_or_none};
use crate::table;
use crate::{named_enum, parquet_record};

named_enum! {
    /// How a score's 95% interval was measured.
    pub enum IntervalKind {
        PerRowBootstrap = "bootstrap of per-row scores",
        HalfSampling = "half-sampling",
    }
}

impl IntervalKind {
    pub fn of(metric: Metric) -> IntervalKind {
        if metric.per_row() {
            IntervalKind::PerRowBootstrap
        } else {
            IntervalKind::HalfSampling
        }
    }
}

/// One metric on one pair of spaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRow {
    pub metric: Metric,
    /// `a-b`
    pub pair: String,
    pub a: SpaceName,
    pub b: SpaceName,
    /// The adapter weights behind the pair; `none` for two encoders' spaces.
    #[serde(with = "weights_or_none")]
    pub adapter: Option<Weights>,
    #[serde(with = "nan_as_null")]
    pub score: f64,
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    /// Permutation p-value; NaN when no permutations were asked for.
    #[serde(with = "nan_as_null")]
    pub p_value: f64,
    /// The null's critical value at level `alpha` (Gröger et al.'s τ; `measures::calibration`).
    #[serde(with = "nan_as_null")]
    pub tau: f64,
    /// clamp((s − τ)/(s_max − τ), 0, 1) of the score the null is compared with: 0 at or below
    /// chance, 1 at the metric's maximum. Above `resample_rows` rows the kernel metrics' null
    /// and this score are on that subsample.
    #[serde(with = "nan_as_null")]
    pub calibrated: f64,
    pub n: usize,
    pub resamples: usize,
    /// Rows the replicates and permutations used: n, or `resample_rows` below it.
    pub resample_rows: usize,
    pub interval: IntervalKind,
}

parquet_record!(MetricRow {
    metric,
    pair,
    a,
    b,
    adapter,
    score,
    ci_low,
    ci_high,
    p_value,
    tau,
    calibrated,
    n,
    resamples,
    resample_rows,
    interval,
});

impl MetricRow {
    pub fn pair(&self) -> Pair {
        Pair {
            a: self.a,
            b: self.b,
        }
    }
}

/// One scored space: its shape, mean pairwise cosine and distribution distance to the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceRow {
    pub space: SpaceName,
    pub rows: usize,
    pub dim: usize,
    #[serde(with = "nan_as_null")]
    pub mean_pairwise_cosine: f64,
    #[serde(with = "nan_as_null")]
    pub variance_difference_to_reference: f64,
}

/// The settings every align file repeats, so each file says how its numbers were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignSettings {
    pub split: String,
    /// Rows scored.
    pub n: usize,
    /// The most rows the expensive replicates used.
    pub resample_rows: usize,
    pub topk: usize,
    pub clamp_outliers: bool,
    pub cca_dim: usize,
    pub bootstrap: usize,
    pub costly_resamples: usize,
    pub permutations: usize,
    /// The calibration's level.
    pub alpha: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    pub settings: AlignSettings,
    pub rows: Vec<MetricRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesesFile {
    pub settings: AlignSettings,
    /// H1, H2 and the verdicts, in words.
    pub definition: BTreeMap<String, String>,
    pub tests: Vec<HypothesisTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpacesFile {
    pub settings: AlignSettings,
    pub spaces: Vec<SpaceRow>,
}

/// Everything an align artifact holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignResults {
    pub metrics: MetricsFile,
    pub hypotheses: HypothesesFile,
    pub spaces: SpacesFile,
}

impl AlignResults {
    pub fn settings(&self) -> &AlignSettings {
        &self.metrics.settings
    }

    /// The metrics scored, in file order.
    pub fn metrics_scored(&self) -> Vec<Metric> {
        let mut out: Vec<Metric> = Vec::new();
        for r in &self.metrics.rows {
            if !out.contains(&r.metric) {
                out.push(r.metric);
            }
        }
        out
    }

    /// The row of `metric` on `pair`, if scored.
    pub fn row(&self, metric: Metric, pair: Pair) -> Option<&MetricRow> {
        self.metrics
            .rows
            .iter()
            .find(|r| r.metric == metric && r.pair() == pair)
    }

    /// The score of `metric` on `pair`; NaN if not scored.
    pub fn score(&self, metric: Metric, pair: Pair) -> f64 {
        self.row(metric, pair).map_or(f64::NAN, |r| r.score)
    }

    /// The row of `space`, if scored.
    pub fn space(&self, space: SpaceName) -> Option<&SpaceRow> {
        self.spaces.spaces.iter().find(|s| s.space == space)
    }
}

const METRICS_JSON: &str = "metrics.json";
const METRICS_PARQUET: &str = "metrics.parquet";
const HYPOTHESES_JSON: &str = "hypotheses.json";
const HYPOTHESES_PARQUET: &str = "hypotheses.parquet";
const SPACES_JSON: &str = "spaces.json";

/// An `align:<name>` artifact folder.
#[derive(Debug, Clone)]
pub struct AlignArtifact {
    dir: PathBuf,
}

impl AlignArtifact {
    pub fn at(dir: &Path) -> AlignArtifact {
        AlignArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn metrics_parquet(&self) -> PathBuf {
        self.dir.join(METRICS_PARQUET)
    }

    pub fn hypotheses_parquet(&self) -> PathBuf {
        self.dir.join(HYPOTHESES_PARQUET)
    }

    pub fn write(&self, r: &AlignResults) -> Result<()> {
        table::write_records(&self.metrics_parquet(), &r.metrics.rows)?;
        table::write_records(&self.hypotheses_parquet(), &r.hypotheses.tests)?;
        json::write(&self.dir.join(METRICS_JSON), &r.metrics)?;
        json::write(&self.dir.join(HYPOTHESES_JSON), &r.hypotheses)?;
        json::write(&self.dir.join(SPACES_JSON), &r.spaces)
    }

    pub fn read(&self) -> Result<AlignResults> {
        Ok(AlignResults {
            metrics: json::read(&self.dir.join(METRICS_JSON))?,
            hypotheses: json::read(&self.dir.join(HYPOTHESES_JSON))?,
            spaces: json::read(&self.dir.join(SPACES_JSON))?,
        })
    }

    /// The metric rows from `metrics.parquet`.
    pub fn read_metric_table(&self) -> Result<Vec<MetricRow>> {
        table::read_records(&self.metrics_parquet())
    }

    /// The tests from `hypotheses.parquet`.
    pub fn read_hypothesis_table(&self) -> Result<Vec<HypothesisTest>> {
        table::read_records(&self.hypotheses_parquet())
    }
}
