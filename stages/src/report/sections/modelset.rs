//! The model set: the alignment matrix of every listed encoder pair against its permutation
//! null, the best layer pairs with their selection-corrected p-values, and alignment against
//! each encoder's competence with Spearman's rho (`align:modelset`, `probe:modelset`). Their
//! figures are copied beside the page's own.

use std::path::Path;

use super::{Page, section};
use crate::error::{Error, Result};
use crate::evaluate::competence::{CompetenceArtifact, CompetenceFile, Measure};
use crate::evaluate::modelset::{ModelsetArtifact, ModelsetFile};
use crate::report::artifact::FIG;
use crate::report::html::{self, escape, num};

/// The model set's two artifacts, read.
pub struct ModelsetResults {
    pub matrix: ModelsetFile,
    pub competence: CompetenceFile,
}

impl ModelsetResults {
    pub fn load(modelset: &ModelsetArtifact, competence: &CompetenceArtifact) -> Result<Self> {
        Ok(ModelsetResults {
            matrix: modelset.read()?,
            competence: competence.read()?,
        })
    }
}

/// `src` copied into the page's figure folder under its own name; the `<figure>` showing it.
fn svg_figure(page: &Page, src: &std::path::Path, alt: &str, caption: &str) -> Result<String> {
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let to = page.fig.join(&name);
    std::fs::copy(src, &to).map_err(|e| Error::io(src, e))?;
    Ok(format!(
        "<figure><a href=\"{FIG}/{0}\"><img src=\"{FIG}/{0}\" alt=\"{1}\"></a>\
         <figcaption>{caption} <a href=\"{FIG}/{0}\">SVG</a></figcaption></figure>",
        escape(&name),
        escape(alt)
    ))
}

fn side(name: &str, layer: &str) -> String {
    if layer.is_empty() {
        escape(name)
    } else {
        format!("{} / {}", escape(name), escape(layer))
    }
}

pub fn modelset(page: &Page) -> Result<String> {
    let Some((results, matrix_dir, competence_dir)) = &page.modelset else {
        return Ok(section(
            "modelset",
            "Model set",
            "<p>No model set was given to this page.</p>",
        ));
    };
    let m = &results.matrix;
    let c = &results.competence;
    let mut body = format!(
        "<p>{} encoders scored on the same {} records of the {} split; each score against its \
         permutation null ({} permutations of the second encoder's rows, the same for every \
         pair). The calibrated score (Gröger et al.) is 0 for a score at or below the null's \
         critical value τ at level {} and rises to 1 at the metric's maximum. With a layer \
         axis, each encoder pair's best layer pair has, besides its own p-value, a p and a \
         calibrated score against the null of the maximum over all its layer pairs, which pay \
         for having chosen it.</p>",
        m.encoders.len(),
        m.settings.n,
        escape(&m.settings.split),
        m.settings.permutations,
        m.settings.alpha
    );
    body.push_str(&svg_figure(
        page,
        &ModelsetArtifact::at(matrix_dir).matrix_svg(),
        "the alignment matrix",
        "Every encoder pair (and layer pair) under each metric, shaded by calibrated score; \
         each encoder pair's best layer pair outlined.",
    )?);
    body.push_str(&best_table(m));
    body.push_str(&competence_part(page, c, competence_dir)?);
    Ok(section(
        "modelset",
        "Model set: many encoders compared",
        &body,
    ))
}

/// Each encoder pair's best layer pair, with its p-values.
fn best_table(m: &ModelsetFile) -> String {
    let best: Vec<Vec<String>> = m
        .best
        .iter()
        .map(|b| {
            vec![
                escape(b.metric.name()),
                side(&b.a, &b.a_layer),
                side(&b.b, &b.b_layer),
                num(b.score),
                num(b.p_value),
                num(b.corrected_p),
                num(b.calibrated),
                b.layer_pairs.to_string(),
            ]
        })
        .collect();
    html::table(
        &[
            "metric",
            "encoder (layer)",
            "encoder (layer)",
            "best score",
            "p",
            "p corrected for the choice",
            "calibrated (corrected)",
            "layer pairs",
        ],
        &best,
        "modelset-best",
    )
}

/// Alignment against competence: the competence table, the figure and the rho table.
fn competence_part(page: &Page, c: &CompetenceFile, competence_dir: &Path) -> Result<String> {
    let competence: Vec<Vec<String>> = c
        .competence
        .iter()
        .map(|r| {
            let measure = match r.measure {
                Measure::LinearProbe => "linear probe".to_string(),
                Measure::Score => c.settings.score_name.clone(),
            };
            vec![
                escape(&r.encoder),
                escape(r.kind.as_str()),
                escape(&measure),
                num(r.value),
                escape(&r.layer),
            ]
        })
        .collect();
    let mut body = format!(
        "<h3>Alignment against competence</h3><p>Competence: the linear probe on the probe set \
         ({} classes; the image encoders, at their last layer) and {}. Spearman's ρ across the \
         encoders of a kind, each at its best layer pair with the anchor, with a 95% bootstrap \
         interval over the encoders and a permutation p-value; two encoders give ρ = ±1 whatever \
         they are, with neither.</p>{}",
        c.classes,
        escape(&c.settings.score_name),
        html::table(
            &["encoder", "kind", "measure", "value", "layer probed"],
            &competence,
            "competence"
        )
    );
    body.push_str(&svg_figure(
        page,
        &CompetenceArtifact::at(competence_dir).figure_svg(),
        "alignment against competence",
        "Each encoder's competence against its alignment with the anchor, a panel per metric.",
    )?);
    let rho: Vec<Vec<String>> = c
        .rho
        .iter()
        .map(|r| {
            vec![
                escape(r.metric.name()),
                escape(r.measure.as_str()),
                escape(r.kind.as_str()),
                escape(&r.anchor),
                r.encoders.to_string(),
                num(r.rho),
                format!("[{}, {}]", num(r.ci_low), num(r.ci_high)),
                num(r.p_value),
            ]
        })
        .collect();
    body.push_str(&html::table(
        &[
            "metric", "measure", "kind", "anchor", "encoders", "ρ", "95% CI", "p",
        ],
        &rho,
        "competence-rho",
    ));
    Ok(body)
}
