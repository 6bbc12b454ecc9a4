//! What `align:modelset` writes, as types, and the artifact's layout, owned here.
//!
//! ```text
//! modelset.json / modelset.parquet   one PairScore per metric × encoder pair × layer pair
//! best_layers.parquet                one BestLayers per metric × encoder pair (also in the JSON)
//! encoders.json                      one EncoderRow per encoder (kind, width, rows scored)
//! rows.parquet                       the scored records (record id, image id), in row order
//! modelset.svg                       the matrix, one panel per metric (figure.rs)
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::evaluate::align::results::{AlignSettings, IntervalKind};
use crate::features::spec::EncoderKind;
use crate::json::{self, nan_as_null};
use crate::metrics::Metric;
use crate::parquet_record;
use crate::table::{self, Column};

/// One metric on one pair of encoders, with its permutation null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairScore {
    pub metric: Metric,
    pub a: String,
    /// The layer (a model output name); "" for an encoder without a layer axis.
    pub a_layer: String,
    pub a_kind: EncoderKind,
    /// The side whose rows the permutations shuffle.
    pub b: String,
    pub b_layer: String,
    pub b_kind: EncoderKind,
    #[serde(with = "nan_as_null")]
    pub score: f64,
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    /// The null's mean and 95% quantile: what the metric gives these two encoders' geometry
    /// with the correspondence between rows destroyed.
    #[serde(with = "nan_as_null")]
    pub null_mean: f64,
    #[serde(with = "nan_as_null")]
    pub null_q95: f64,
    /// score − null_mean: the alignment beyond what scale and shape alone give, on average.
    #[serde(with = "nan_as_null")]
    pub above_null: f64,
    /// The null's critical value at level `alpha` (Gröger et al.'s τ).
    #[serde(with = "nan_as_null")]
    pub tau: f64,
    /// clamp((s − τ)/(s_max − τ), 0, 1): 0 at or below chance at level `alpha`, 1 at the
    /// metric's maximum (of the score the null is compared with: on `resample_rows` rows when
    /// fewer than n).
    #[serde(with = "nan_as_null")]
    pub calibrated: f64,
    /// (1 + #{null ≥ score}) / (1 + permutations).
    #[serde(with = "nan_as_null")]
    pub p_value: f64,
    pub n: usize,
    pub resamples: usize,
    /// Rows the replicates and permutations used: n, or `resample_rows` below it.
    pub resample_rows: usize,
    pub permutations: usize,
    pub interval: IntervalKind,
}

parquet_record!(PairScore {
    metric,
    a,
    a_layer,
    a_kind,
    b,
    b_layer,
    b_kind,
    score,
    ci_low,
    ci_high,
    null_mean,
    null_q95,
    above_null,
    tau,
    calibrated,
    p_value,
    n,
    resamples,
    resample_rows,
    permutations,
    interval,
});

/// The best layer pair of two encoders under one metric (the highest score), with its own
/// p-value and the selection-corrected one: the score against the null of the maximum over all
/// `layer_pairs`, on the same permutations (never below `p_value`), with τ and the calibrated
/// score against that null (Gröger et al.'s Algorithm 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BestLayers {
    pub metric: Metric,
    pub a: String,
    pub b: String,
    pub a_layer: String,
    pub b_layer: String,
    #[serde(with = "nan_as_null")]
    pub score: f64,
    #[serde(with = "nan_as_null")]
    pub p_value: f64,
    #[serde(with = "nan_as_null")]
    pub corrected_p: f64,
    /// The critical value of the maximum's null.
    #[serde(with = "nan_as_null")]
    pub tau: f64,
    /// The best score calibrated against the maximum's null.
    #[serde(with = "nan_as_null")]
    pub calibrated: f64,
    pub layer_pairs: usize,
}

parquet_record!(BestLayers {
    metric,
    a,
    b,
    a_layer,
    b_layer,
    score,
    p_value,
    corrected_p,
    tau,
    calibrated,
    layer_pairs,
});

/// One encoder of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderRow {
    pub name: String,
    pub kind: EncoderKind,
    /// The widest layer's width (the row's, without a layer axis).
    pub dim: usize,
    /// The layers scored, in order; empty without a layer axis.
    pub layers: Vec<String>,
    /// Layers not scored: every row the same vector on the scored records (no geometry).
    pub constant_layers: Vec<String>,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsetFile {
    /// How the numbers were made (the scoring settings, as `[align]`'s files repeat them).
    pub settings: AlignSettings,
    /// Every pair of the listed encoders, not only image–text.
    pub all_pairs: bool,
    pub encoders: Vec<EncoderRow>,
    pub scores: Vec<PairScore>,
    pub best: Vec<BestLayers>,
}

impl ModelsetFile {
    /// The score of `metric` between encoders `a` and `b` (either order), if scored.
    pub fn score(&self, metric: Metric, a: &str, b: &str) -> Option<&PairScore> {
        self.scores
            .iter()
            .find(|s| s.metric == metric && ((s.a == a && s.b == b) || (s.a == b && s.b == a)))
    }
}

/// A scored record: the row's ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRow {
    pub record_id: String,
    pub image_id: String,
}

const MODELSET_JSON: &str = "modelset.json";
const MODELSET_PARQUET: &str = "modelset.parquet";
const ROWS_PARQUET: &str = "rows.parquet";
const BEST_PARQUET: &str = "best_layers.parquet";
const MATRIX_SVG: &str = "modelset.svg";

/// An `align:modelset` artifact folder.
#[derive(Debug, Clone)]
pub struct ModelsetArtifact {
    dir: PathBuf,
}

impl ModelsetArtifact {
    pub fn at(dir: &Path) -> ModelsetArtifact {
        ModelsetArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn scores_parquet(&self) -> PathBuf {
        self.dir.join(MODELSET_PARQUET)
    }

    pub fn best_parquet(&self) -> PathBuf {
        self.dir.join(BEST_PARQUET)
    }

    pub fn rows_parquet(&self) -> PathBuf {
        self.dir.join(ROWS_PARQUET)
    }

    pub fn write(&self, file: &ModelsetFile, rows: &[ScoredRow]) -> Result<()> {
        table::write_records(&self.scores_parquet(), &file.scores)?;
        table::write_records(&self.best_parquet(), &file.best)?;
        table::write(
            &self.rows_parquet(),
            vec![
                (
                    "record_id",
                    Column::Str(rows.iter().map(|r| r.record_id.clone()).collect()),
                ),
                (
                    "image_id",
                    Column::Str(rows.iter().map(|r| r.image_id.clone()).collect()),
                ),
            ],
        )?;
        json::write(&self.dir.join(MODELSET_JSON), file)
    }

    /// The matrix's figure (drawn by `crate::report::charts::modelset`).
    pub fn matrix_svg(&self) -> PathBuf {
        self.dir.join(MATRIX_SVG)
    }

    pub fn read(&self) -> Result<ModelsetFile> {
        json::read(&self.dir.join(MODELSET_JSON))
    }

    /// The scored records' ids, in row order.
    pub fn read_rows(&self) -> Result<Vec<ScoredRow>> {
        let t = table::Table::read(&self.rows_parquet())?;
        Ok(t.strings("record_id")?
            .into_iter()
            .zip(t.strings("image_id")?)
            .map(|(record_id, image_id)| ScoredRow {
                record_id,
                image_id,
            })
            .collect())
    }

    /// The scores from `modelset.parquet`.
    pub fn read_table(&self) -> Result<Vec<PairScore>> {
        table::read_records(&self.scores_parquet())
    }
}
