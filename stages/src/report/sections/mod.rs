//! The page's sections, one function each, in the order a researcher reads them, with every
//! adapter side by side. Each takes the [`Page`] (what every section reads) and returns its HTML.

mod alignment;
mod configuration;
mod examples;
mod modelset;
mod projections;
mod summary;
mod tables;
mod training;

use std::path::PathBuf;

use crate::dataset::Split;
use crate::error::{Error, Result};
use crate::evaluate::competence::CompetenceArtifact;
use crate::evaluate::modelset::ModelsetArtifact;
use crate::evaluate::rows;
use crate::features::FeatureMatrix;
use crate::report::html::escape;
use crate::report::inputs::AdapterResults;
use crate::report::{ReportConfig, ReportInputs};
use crate::spaces::{Modality, Weights};
use crate::train::data::PairRow;

/// The sections every page has, by element id (the browser test checks them).
pub const SECTIONS: [&str; 12] = [
    "summary",
    "training",
    "alignment",
    "hypotheses",
    "projections",
    "similarity",
    "retrieval",
    "probe",
    "zero-shot",
    "modelset",
    "examples",
    "configuration",
];

/// What the sections read.
pub struct Page<'a> {
    pub config: &'a ReportConfig,
    pub inputs: &'a ReportInputs<'a>,
    pub results: &'a [AdapterResults],
    /// Where figures go (`fig/`), and the page's own folder.
    pub fig: PathBuf,
    pub out: PathBuf,
    /// Each adapter's aligned image and text embeddings, opened once.
    pub aligned: Vec<(FeatureMatrix, FeatureMatrix)>,
    /// The evaluation pairs, one per image.
    pub eval_rows: Vec<PairRow>,
    /// Neighbours per row of the align stage (lcs_knn's identical-input score).
    pub topk: usize,
    /// The model set's results, with its two artifacts' folders.
    pub modelset: Option<(modelset::ModelsetResults, PathBuf, PathBuf)>,
}

impl<'a> Page<'a> {
    pub fn new(
        config: &'a ReportConfig,
        inputs: &'a ReportInputs<'a>,
        results: &'a [AdapterResults],
        fig: PathBuf,
        out: PathBuf,
    ) -> Result<Page<'a>> {
        let eval_rows = rows::select(inputs.data, Split::Val, 0, config.seed);
        if eval_rows.is_empty() {
            return Err(Error::Invalid {
                what: inputs.ingest.display().to_string(),
                message:
                    "the val split holds no image–caption pairs: nothing to project or retrieve"
                        .into(),
            });
        }
        let aligned = results
            .iter()
            .map(|a| {
                Ok((
                    a.train.open_embeddings(Weights::Trained, Modality::Image)?,
                    a.train.open_embeddings(Weights::Trained, Modality::Text)?,
                ))
            })
            .collect::<Result<_>>()?;
        let topk = results.first().map_or(10, |a| a.align.settings().topk);
        let modelset = match &inputs.modelset {
            Some(m) => Some((
                modelset::ModelsetResults::load(
                    &ModelsetArtifact::at(&m.matrix),
                    &CompetenceArtifact::at(&m.competence),
                )?,
                m.matrix.clone(),
                m.competence.clone(),
            )),
            None => None,
        };
        Ok(Page {
            config,
            inputs,
            results,
            fig,
            out,
            aligned,
            eval_rows,
            topk,
            modelset,
        })
    }

    /// Every section, in order.
    pub fn body(&self) -> Result<String> {
        let mut body = String::new();
        body.push_str(&summary::summary(self));
        body.push_str(&training::training(self)?);
        body.push_str(&alignment::alignment(self)?);
        body.push_str(&alignment::hypotheses(self)?);
        body.push_str(&projections::projections(self)?);
        body.push_str(&projections::similarity(self)?);
        body.push_str(&tables::retrieval(self));
        body.push_str(&tables::probe(self));
        body.push_str(&tables::zero_shot(self));
        body.push_str(&modelset::modelset(self)?);
        body.push_str(&examples::examples(self)?);
        body.push_str(&configuration::configuration(self));
        Ok(body)
    }
}

fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\"><h2>{}</h2>\n{body}\n</section>\n",
        escape(title)
    )
}

/// Items side by side (one per adapter).
fn side(items: impl Iterator<Item = String>) -> String {
    let mut s = String::from("<div class=\"side\">");
    for i in items {
        s.push_str("<div>");
        s.push_str(&i);
        s.push_str("</div>");
    }
    s.push_str("</div>");
    s
}
