//! The page: its sections assembled into `index.html`, and `metrics.json` (the layout is
//! [`crate::report::artifact`]'s).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::json;
use crate::report::html::{self, escape};
use crate::report::inputs::{AdapterArtifacts, AdapterResults};
use crate::report::sections::Page;
use crate::report::{ReportConfig, font};
use crate::train::data::TrainingData;

pub use crate::report::artifact::{
    AdapterNumbers, FIG, ModelsetNumbers, ReportArtifact, ReportNumbers, THUMBS,
};
pub use crate::report::sections::SECTIONS;

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
