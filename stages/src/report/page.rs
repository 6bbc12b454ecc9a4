//! The page and the report artifact's layout, owned here:
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

use crate::error::{Error, Result};
use crate::evaluate::align::results::{HypothesesFile, MetricsFile, SpacesFile};
use crate::evaluate::competence::{CompetenceRow, RhoRow};
use crate::evaluate::modelset::BestLayers;
use crate::evaluate::probe::{ProbeFile, RetrievalFile, ZeroShotFile};
use crate::json;
use crate::report::html::{self, escape};
use crate::report::inputs::{AdapterArtifacts, AdapterResults};
use crate::report::sections::Page;
use crate::report::{ReportConfig, font};
use crate::train::TrainConfig;
use crate::train::data::TrainingData;

pub use crate::report::sections::SECTIONS;

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

pub struct ReportInputs<'a> {
    pub data: &'a TrainingData,
    pub ingest: &'a Path,
    pub adapters: Vec<AdapterArtifacts>,
    /// Stage name → artifact key of everything the page was built from.
    pub keys: BTreeMap<String, String>,
    /// Where relative paths (image files, fonts) resolve.
    pub root: &'a Path,
    /// The model set's artifacts (`align:modelset`, `probe:modelset`), when the page has one.
    pub modelset: Option<ModelsetInputs>,
}

/// The folders of the model set's two artifacts.
pub struct ModelsetInputs {
    pub matrix: PathBuf,
    pub competence: PathBuf,
}

impl ReportInputs<'_> {
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        }
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

/// Builds the page into `out`; returns the path of index.html.
pub fn run(config: &ReportConfig, inputs: &ReportInputs, out: &Path) -> Result<PathBuf> {
    font::register(
        &inputs.resolve(&config.font),
        Some(&inputs.resolve(&config.font_bold))
            .filter(|p| p.is_file())
            .map(PathBuf::as_path),
    )?;
    let artifact = ReportArtifact::at(out);
    let fig = out.join(FIG);
    std::fs::create_dir_all(&fig).map_err(|e| Error::io(&fig, e))?;
    let results: Vec<AdapterResults> = inputs
        .adapters
        .iter()
        .map(AdapterResults::load)
        .collect::<Result<_>>()?;
    if results.is_empty() {
        return Err(Error::Invalid {
            what: "report".into(),
            message: "no trained adapters to report on".into(),
        });
    }
    let page = Page::new(config, inputs, &results, fig, out.to_path_buf())?;
    let body = page.body()?;
    let modelset = page.modelset.as_ref().map(|(m, _, _)| ModelsetNumbers {
        best: m.matrix.best.clone(),
        competence: m.competence.competence.clone(),
        rho: m.competence.rho.clone(),
    });
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Platonic alignment report</title>\
         <style>{}</style></head><body><h1>Aligning unimodal encoders: does the aligned space approach the reference?</h1>\
         <p class=\"sub\">Adapters: {}. Every number on this page is in metrics.json beside it.</p>\n{body}</body></html>\n",
        html::STYLE,
        results
            .iter()
            .map(|a| escape(&a.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let index = artifact.index();
    std::fs::write(&index, page).map_err(|e| Error::io(&index, e))?;
    let numbers = ReportNumbers {
        adapters: results
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    AdapterNumbers {
                        train_config: a.train_config.clone(),
                        metrics: a.align.metrics.clone(),
                        hypotheses: a.align.hypotheses.clone(),
                        spaces: a.align.spaces.clone(),
                        probe: a.probe.probe.clone(),
                        retrieval: a.probe.retrieval.clone(),
                        zero_shot: a.probe.zero_shot.clone(),
                    },
                )
            })
            .collect(),
        modelset,
        keys: inputs.keys.clone(),
        report: config.clone(),
    };
    json::write(&artifact.metrics(), &numbers)?;
    Ok(index)
}
