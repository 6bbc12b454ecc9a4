//! The report artifact's layout, owned here:
//!
//! ```text
//! index.html         the page (relative paths only, no scripts, no network)
//! metrics.json       every number on the page and the artifact keys it came from
//! fig/<stem>.png|svg the figures
//! thumbs/NN.png      thumbnails of the example images
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::evaluate::align::results::{HypothesesFile, MetricsFile, SpacesFile};
use crate::evaluate::competence::{CompetenceRow, RhoRow};
use crate::evaluate::modelset::BestLayers;
use crate::evaluate::probe::{ProbeFile, RetrievalFile, ZeroShotFile};
use crate::json;
use crate::report::ReportConfig;
use crate::train::TrainConfig;

/// The figures' folder, relative to the page.
pub const FIG: &str = "fig";
/// The thumbnails' folder, relative to the page.
pub const THUMBS: &str = "thumbs";
const INDEX: &str = "index.html";
const METRICS: &str = "metrics.json";

/// A `report` artifact folder.
#[derive(Debug, Clone)]
pub struct ReportArtifact {
    dir: PathBuf,
}

impl ReportArtifact {
    pub fn at(dir: &Path) -> ReportArtifact {
        ReportArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn index(&self) -> PathBuf {
        self.dir.join(INDEX)
    }

    pub fn metrics(&self) -> PathBuf {
        self.dir.join(METRICS)
    }

    pub fn read_metrics(&self) -> Result<ReportNumbers> {
        json::read(&self.metrics())
    }
}

/// One adapter's numbers in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterNumbers {
    pub train_config: TrainConfig,
    pub metrics: MetricsFile,
    pub hypotheses: HypothesesFile,
    pub spaces: SpacesFile,
    pub probe: ProbeFile,
    pub retrieval: RetrievalFile,
    pub zero_shot: ZeroShotFile,
}

/// The model set's numbers in `metrics.json` (its full tables are in its own artifacts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsetNumbers {
    pub best: Vec<BestLayers>,
    pub competence: Vec<CompetenceRow>,
    pub rho: Vec<RhoRow>,
}

/// `metrics.json`: every number on the page, and the keys of the artifacts it was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportNumbers {
    pub adapters: BTreeMap<String, AdapterNumbers>,
    /// The model set's best layer pairs, competence and rho, when the page has a model set.
    pub modelset: Option<ModelsetNumbers>,
    pub keys: BTreeMap<String, String>,
    pub report: ReportConfig,
}
