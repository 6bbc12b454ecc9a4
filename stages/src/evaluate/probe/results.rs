//! What `probe:<name>` writes, as types, and the artifact's layout, owned here:
//!
//! ```text
//! probe.json / probe.parquet          one ProbeRow per probed feature set
//! retrieval.json / retrieval.parquet  one RetrievalRow per weights × direction
//! zero_shot.json / zero_shot.parquet  one ZeroShotRow per weights
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluate::probe::ProbeConfig;
use crate::json::{self, nan_as_null};
use crate::metrics::retrieval::{Direction, Retrieval};
use crate::parquet_record;
use crate::spaces::{SpaceName, Weights};
use crate::table::{self, Cell, Column, Record, Table};

/// The linear probe on one feature set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRow {
    /// image, aligned_image (image encoder + trained adapter) or reference.
    pub features: SpaceName,
    pub dim: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    #[serde(with = "nan_as_null")]
    pub train_accuracy: f64,
    #[serde(with = "nan_as_null")]
    pub test_accuracy: f64,
    #[serde(with = "nan_as_null")]
    pub ratio_to_reference: f64,
}

parquet_record!(ProbeRow {
    features,
    dim,
    train_rows,
    test_rows,
    train_accuracy,
    test_accuracy,
    ratio_to_reference,
});

/// Zero-shot classification of the probe set's test images under one set of adapter weights
/// ([`crate::evaluate::zero_shot`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroShotRow {
    pub adapter: Weights,
    pub classes: usize,
    pub test_rows: usize,
    #[serde(with = "nan_as_null")]
    pub top1: f64,
    #[serde(with = "nan_as_null")]
    pub top5: f64,
    /// Guessing: 1 / classes and 5 / classes.
    #[serde(with = "nan_as_null")]
    pub chance_top1: f64,
    #[serde(with = "nan_as_null")]
    pub chance_top5: f64,
}

parquet_record!(ZeroShotRow {
    adapter,
    classes,
    test_rows,
    top1,
    top5,
    chance_top1,
    chance_top5,
});

/// Retrieval in one direction under one set of adapter weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalRow {
    pub adapter: Weights,
    #[serde(flatten)]
    pub retrieval: Retrieval,
}

const RECALL_PREFIX: &str = "recall_at_";

/// Columns: adapter, direction, queries, gallery, recall_at_<k> per k, median_rank, mean_rank.
impl Record for RetrievalRow {
    fn columns(rows: &[Self]) -> Vec<(String, Column)> {
        let ks: Vec<usize> = rows
            .first()
            .map(|r| r.retrieval.recall.iter().map(|x| x.0).collect())
            .unwrap_or_default();
        let mut cols = vec![
            (
                "adapter".to_string(),
                Cell::column(rows.iter().map(|r| r.adapter).collect()),
            ),
            (
                "direction".into(),
                Cell::column(rows.iter().map(|r| r.retrieval.direction).collect()),
            ),
            (
                "queries".into(),
                Cell::column(rows.iter().map(|r| r.retrieval.queries).collect()),
            ),
            (
                "gallery".into(),
                Cell::column(rows.iter().map(|r| r.retrieval.gallery).collect()),
            ),
        ];
        for k in ks {
            let recall = rows
                .iter()
                .map(|r| r.retrieval.recall_at(k).unwrap_or(f64::NAN))
                .collect();
            cols.push((format!("{RECALL_PREFIX}{k}"), Column::F64(recall)));
        }
        cols.push((
            "median_rank".into(),
            Column::F64(rows.iter().map(|r| r.retrieval.median_rank).collect()),
        ));
        cols.push((
            "mean_rank".into(),
            Column::F64(rows.iter().map(|r| r.retrieval.mean_rank).collect()),
        ));
        cols
    }

    fn from_table(t: &Table) -> Result<Vec<Self>> {
        let adapter: Vec<Weights> = Cell::read(t, "adapter")?;
        let direction: Vec<Direction> = Cell::read(t, "direction")?;
        let queries = t.counts("queries")?;
        let gallery = t.counts("gallery")?;
        let median = t.f64s("median_rank")?;
        let mean = t.f64s("mean_rank")?;
        let mut recalls = Vec::new();
        for name in t.column_names() {
            if let Some(k) = name.strip_prefix(RECALL_PREFIX) {
                let k: usize = k.parse().map_err(|_| Error::Invalid {
                    what: format!("column `{name}`"),
                    message: format!("expected {RECALL_PREFIX}<k>"),
                })?;
                recalls.push((k, t.f64s(&name)?));
            }
        }
        Ok((0..t.num_rows())
            .map(|i| RetrievalRow {
                adapter: adapter[i],
                retrieval: Retrieval {
                    direction: direction[i],
                    queries: queries[i],
                    gallery: gallery[i],
                    recall: recalls.iter().map(|(k, v)| (*k, v[i])).collect(),
                    median_rank: median[i],
                    mean_rank: mean[i],
                },
            })
            .collect())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeFile {
    pub settings: ProbeConfig,
    /// Classes of the probe set.
    pub classes: usize,
    pub rows: Vec<ProbeRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalFile {
    /// The split of the image–caption pairs searched.
    pub split: String,
    /// That split is the dataset's own (Karpathy's, a manifest's), not the seeded one (absent
    /// from the file when seeded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dataset_split: bool,
    pub rows: Vec<RetrievalRow>,
}

/// `zero_shot.json`: the class names and the prompts that stood for them, and the accuracies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroShotFile {
    /// By label.
    pub class_names: Vec<String>,
    /// Every prompt encoded, class by class.
    pub prompts: Vec<String>,
    pub rows: Vec<ZeroShotRow>,
}

/// Everything a probe artifact holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResults {
    pub probe: ProbeFile,
    pub retrieval: RetrievalFile,
    pub zero_shot: ZeroShotFile,
}

impl ProbeResults {
    /// Retrieval under `weights` in `direction`, if measured.
    pub fn retrieval(&self, weights: Weights, direction: Direction) -> Option<&Retrieval> {
        self.retrieval
            .rows
            .iter()
            .find(|r| r.adapter == weights && r.retrieval.direction == direction)
            .map(|r| &r.retrieval)
    }
}

const PROBE_JSON: &str = "probe.json";
const PROBE_PARQUET: &str = "probe.parquet";
const RETRIEVAL_JSON: &str = "retrieval.json";
const RETRIEVAL_PARQUET: &str = "retrieval.parquet";
const ZERO_SHOT_JSON: &str = "zero_shot.json";
const ZERO_SHOT_PARQUET: &str = "zero_shot.parquet";

/// A `probe:<name>` artifact folder.
#[derive(Debug, Clone)]
pub struct ProbeArtifact {
    dir: PathBuf,
}

impl ProbeArtifact {
    pub fn at(dir: &Path) -> ProbeArtifact {
        ProbeArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn probe_parquet(&self) -> PathBuf {
        self.dir.join(PROBE_PARQUET)
    }

    pub fn retrieval_parquet(&self) -> PathBuf {
        self.dir.join(RETRIEVAL_PARQUET)
    }

    pub fn zero_shot_parquet(&self) -> PathBuf {
        self.dir.join(ZERO_SHOT_PARQUET)
    }

    pub fn write(&self, r: &ProbeResults) -> Result<()> {
        json::write(&self.dir.join(PROBE_JSON), &r.probe)?;
        table::write_records(&self.probe_parquet(), &r.probe.rows)?;
        json::write(&self.dir.join(RETRIEVAL_JSON), &r.retrieval)?;
        table::write_records(&self.retrieval_parquet(), &r.retrieval.rows)?;
        json::write(&self.dir.join(ZERO_SHOT_JSON), &r.zero_shot)?;
        table::write_records(&self.zero_shot_parquet(), &r.zero_shot.rows)
    }

    pub fn read(&self) -> Result<ProbeResults> {
        Ok(ProbeResults {
            probe: json::read(&self.dir.join(PROBE_JSON))?,
            retrieval: json::read(&self.dir.join(RETRIEVAL_JSON))?,
            zero_shot: json::read(&self.dir.join(ZERO_SHOT_JSON))?,
        })
    }

    pub fn read_zero_shot_table(&self) -> Result<Vec<ZeroShotRow>> {
        table::read_records(&self.zero_shot_parquet())
    }

    pub fn read_probe_table(&self) -> Result<Vec<ProbeRow>> {
        table::read_records(&self.probe_parquet())
    }

    pub fn read_retrieval_table(&self) -> Result<Vec<RetrievalRow>> {
        table::read_records(&self.retrieval_parquet())
    }
}
