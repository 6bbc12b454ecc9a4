//! What `probe:modelset` writes, as types, and the artifact's layout, owned here.
//!
//! ```text
//! competence.json              everything below, with the settings
//! competence.parquet           one CompetenceRow per encoder × measure
//! probe_layers.parquet         one LayerProbe per image encoder × layer: the probe's accuracy
//! competence_rho.parquet       one RhoRow per metric × measure × anchor × kind
//! competence.svg               alignment against competence, a panel per RhoRow (figure.rs)
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::evaluate::competence::config::CompetenceConfig;
use crate::evaluate::probe::LinearProbeSettings;
use crate::features::spec::EncoderKind;
use crate::json::{self, nan_as_null};
use crate::metrics::Metric;
use crate::table;
use crate::{named_enum, parquet_record};

named_enum! {
    /// Where an encoder's competence comes from.
    pub enum Measure {
        /// Test accuracy of the linear probe on the probe set (image encoders).
        LinearProbe = "linear_probe",
        /// `[competence] scores`: the user's number.
        Score = "score",
    }
}

/// The linear probe on one layer of an image encoder (the whole row without a layer axis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerProbe {
    pub encoder: String,
    /// The layer's output name; "" without a layer axis.
    pub layer: String,
    pub dim: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

parquet_record!(LayerProbe {
    encoder,
    layer,
    dim,
    train_rows,
    test_rows,
    train_accuracy,
    test_accuracy,
});

/// One encoder's competence under one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetenceRow {
    pub encoder: String,
    pub kind: EncoderKind,
    pub measure: Measure,
    pub value: f64,
    /// The layer the probe read (an encoder with a layer axis: its last); "" otherwise.
    pub layer: String,
}

parquet_record!(CompetenceRow {
    encoder,
    kind,
    measure,
    value,
    layer,
});

/// Spearman's rho between competence and alignment across the encoders of one kind, each
/// encoder's alignment being its score with one `anchor` encoder (of the best layer pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RhoRow {
    pub metric: Metric,
    pub measure: Measure,
    /// The kind of the encoders correlated.
    pub kind: EncoderKind,
    /// The encoder each one's alignment is measured with.
    pub anchor: String,
    /// How many encoders: rho needs 2, its interval and p-value 3.
    pub encoders: usize,
    #[serde(with = "nan_as_null")]
    pub rho: f64,
    /// 95% bootstrap interval over the encoders (resampled with replacement).
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    /// Two-sided permutation p-value of rho.
    #[serde(with = "nan_as_null")]
    pub p_value: f64,
}

parquet_record!(RhoRow {
    metric,
    measure,
    kind,
    anchor,
    encoders,
    rho,
    ci_low,
    ci_high,
    p_value,
});

/// One point of the figure: an encoder's competence against its alignment with an anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub metric: Metric,
    pub measure: Measure,
    pub anchor: String,
    pub encoder: String,
    pub kind: EncoderKind,
    pub competence: f64,
    /// The score of the encoder pair's best layer pair ([`crate::evaluate::modelset::BestLayers`]).
    #[serde(with = "nan_as_null")]
    pub alignment: f64,
    /// The best layer pair, as "<encoder layer> ~ <anchor layer>" ("" without layer axes).
    pub layers: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetenceFile {
    pub settings: CompetenceConfig,
    pub probe: LinearProbeSettings,
    /// Classes of the probe set (its chance accuracy is about 1 / classes).
    pub classes: usize,
    pub probes: Vec<LayerProbe>,
    pub competence: Vec<CompetenceRow>,
    pub rho: Vec<RhoRow>,
    pub points: Vec<Point>,
}

const COMPETENCE_JSON: &str = "competence.json";
const COMPETENCE_PARQUET: &str = "competence.parquet";
const PROBE_LAYERS_PARQUET: &str = "probe_layers.parquet";
const RHO_PARQUET: &str = "competence_rho.parquet";
const FIGURE_SVG: &str = "competence.svg";

/// A `probe:modelset` artifact folder.
#[derive(Debug, Clone)]
pub struct CompetenceArtifact {
    dir: PathBuf,
}

impl CompetenceArtifact {
    pub fn at(dir: &Path) -> CompetenceArtifact {
        CompetenceArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn competence_parquet(&self) -> PathBuf {
        self.dir.join(COMPETENCE_PARQUET)
    }

    pub fn probe_layers_parquet(&self) -> PathBuf {
        self.dir.join(PROBE_LAYERS_PARQUET)
    }

    pub fn rho_parquet(&self) -> PathBuf {
        self.dir.join(RHO_PARQUET)
    }

    /// The figure (drawn by `crate::report::charts::competence`).
    pub fn figure_svg(&self) -> PathBuf {
        self.dir.join(FIGURE_SVG)
    }

    pub fn write(&self, file: &CompetenceFile) -> Result<()> {
        table::write_records(&self.competence_parquet(), &file.competence)?;
        table::write_records(&self.probe_layers_parquet(), &file.probes)?;
        table::write_records(&self.rho_parquet(), &file.rho)?;
        json::write(&self.dir.join(COMPETENCE_JSON), file)
    }

    pub fn read(&self) -> Result<CompetenceFile> {
        json::read(&self.dir.join(COMPETENCE_JSON))
    }
}
