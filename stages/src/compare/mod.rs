//! `compare:<sweep>`: one table of a sweep's members, their across-seed aggregates and the
//! alignment–performance correlations, built with polars.
//!
//! ```text
//! members.parquet / .csv        one row per member: `member`, each swept value, every number
//!                               its artifacts report (align scores, probe accuracies, recalls)
//! aggregates.parquet / .csv     per configuration (the swept values but the seed) and column:
//!                               n, mean, std, and the 95% Student t interval across seeds
//! correlations.parquet / .csv   each alignment column against each performance column across
//!                               members: Spearman and Pearson, bootstrap interval, permutation p
//! compare.json                  all three, for `pipeline compare --json` and the page
//! index.html, fig/              the sweep's page (figures as PNG and SVG), from compare.json
//! ```
//!
//! The aggregates are the members' numbers, one row per (column, member), grouped by
//! configuration and column with polars.

pub mod page;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use table::write;

/// Bump when the tables' or the page's content changes for the same members. (4: the tables
/// are written by `crate::table`, not polars' writer: `member` and `n` are int64, the Parquet
/// files snappy-compressed; the numbers are the same. 6: a column of one value, up to rounding,
/// has no Pearson correlation, where it had a meaningless 0.)
pub const VERSION: u32 = 6;

/// The swept parameter the aggregates average over.
pub const SEED_AXIS: &str = "seed";

/// What a reported number is, for the comparisons across members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An alignment score: correlated against every performance column.
    Alignment,
    /// A downstream performance (probe accuracy, retrieval recall).
    Performance,
    /// Anything else worth a column (a loss).
    Detail,
}

/// A swept value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl std::fmt::Display for Value {
    /// As a person writes it: `0.2`, `3`, `linear`, `true`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// One swept parameter: its value for each member.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<Value>,
}

/// One reported number: its value for each member (NaN where a member did not report it).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub role: Role,
    pub values: Vec<f64>,
}

/// A sweep's members as columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Members {
    /// Each member's index in its sweep.
    pub member: Vec<u32>,
    pub axes: Vec<Axis>,
    pub columns: Vec<Column>,
}

impl Members {
    pub fn len(&self) -> usize {
        self.member.len()
    }

    pub fn is_empty(&self) -> bool {
        self.member.is_empty()
    }
}

/// How the correlations' intervals and p-values are resampled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resampling {
    pub bootstrap: usize,
    pub permutations: usize,
    pub seed: u64,
}

impl Default for Resampling {
    fn default() -> Self {
        Resampling {
            bootstrap: 1000,
            permutations: 1000,
            seed: 0,
        }
    }
}

/// One member in compare.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub member: u32,
    /// Swept parameter → value.
    pub values: BTreeMap<String, Value>,
    /// Column → number (null where not reported).
    pub results: BTreeMap<String, Option<f64>>,
}

/// One configuration × column across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateRow {
    /// The swept values but the seed.
    pub values: BTreeMap<String, Value>,
    pub column: String,
    pub n: usize,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// One alignment column against one performance column, across members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationRow {
    pub metric: String,
    pub against: String,
    /// Members with both numbers.
    pub n: usize,
    pub spearman: Option<f64>,
    pub spearman_ci_low: Option<f64>,
    pub spearman_ci_high: Option<f64>,
    pub spearman_p: Option<f64>,
    pub pearson: Option<f64>,
    pub pearson_ci_low: Option<f64>,
    pub pearson_ci_high: Option<f64>,
    pub pearson_p: Option<f64>,
}

/// compare.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub sweep: String,
    /// The swept parameters, in the sweep's order.
    pub axes: Vec<String>,
    /// Column → its role, for every reported column.
    pub roles: BTreeMap<String, Role>,
    pub resampling: Resampling,
    pub members: Vec<MemberRow>,
    pub aggregates: Vec<AggregateRow>,
    pub correlations: Vec<CorrelationRow>,
}

/// The compare artifact's files.
pub struct CompareArtifact {
    dir: PathBuf,
}

impl CompareArtifact {
    pub fn at(dir: &Path) -> CompareArtifact {
        CompareArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn members(&self) -> PathBuf {
        self.dir.join("members.parquet")
    }

    pub fn aggregates(&self) -> PathBuf {
        self.dir.join("aggregates.parquet")
    }

    pub fn correlations(&self) -> PathBuf {
        self.dir.join("correlations.parquet")
    }

    /// Each table's CSV copy, beside its Parquet file.
    pub fn csv(parquet: &Path) -> PathBuf {
        parquet.with_extension("csv")
    }

    pub fn json(&self) -> PathBuf {
        self.dir.join("compare.json")
    }

    /// The sweep's page.
    pub fn index(&self) -> PathBuf {
        self.dir.join("index.html")
    }

    /// The page's figures (named as the report names its own).
    pub fn figures(&self) -> PathBuf {
        self.dir.join(crate::report::artifact::FIG)
    }

    pub fn read(&self) -> crate::Result<Comparison> {
        crate::json::read(&self.json())
    }
}

/// A finite number, or None (JSON null).
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
