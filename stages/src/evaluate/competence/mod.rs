//! The `probe:modelset` computation: each encoder of the model set given a competence, and its
//! alignment plotted against it, as platonic-rep's figures do.
//!
//! - Competence: the linear probe's test accuracy on the probe set, for every image encoder
//!   (at every layer of one with a layer axis; its last layer is its competence), and
//!   `[competence] scores`, a number the user gives for any encoder (a published benchmark).
//! - Alignment: an encoder's score with an *anchor* (an encoder of the other side, or any other
//!   with `all_pairs`) under each metric, at the pair's best layer pair, as `align:modelset`
//!   chose it.
//! - For each metric, measure and anchor: Spearman's rho across the encoders of one kind, with
//!   a bootstrap interval over the encoders and a permutation p-value
//!   ([`crate::stats::correlation`], the sweeps' own). Few encoders give a wide
//!   interval, or none: rho of two encoders is ±1 whatever they are.
//!
//! - [`config`]: the `[competence]` section;
//! - [`results`]: the rows the stage writes and the artifact's layout;

pub mod config;
pub mod results;

use std::path::PathBuf;

use ndarray::s;

use crate::error::{Error, Result};
use crate::evaluate::modelset::ModelsetFile;
use crate::evaluate::probe::{LinearProbeSettings, ProbeRows, ProbeSet};
use crate::evaluate::rows;
use crate::features::output::layers_of;
use crate::features::spec::EncoderKind;
use crate::metrics::Metric;
use crate::stats::{Coefficient, correlation};

pub use config::CompetenceConfig;
pub use results::{
    CompetenceArtifact, CompetenceFile, CompetenceRow, LayerProbe, Measure, Point, RhoRow,
};

/// An image encoder of the model set and its `features:probe-<name>` artifact.
#[derive(Debug, Clone)]
pub struct Probed {
    pub name: String,
    pub dir: PathBuf,
}

/// Competence for every encoder of `modelset`, and its correlation with alignment, into `out`.
pub fn run(
    config: &CompetenceConfig,
    probe: &LinearProbeSettings,
    modelset: &ModelsetFile,
    probed: &[Probed],
    out: &CompetenceArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<CompetenceFile> {
    let kind_of = |name: &str| {
        modelset
            .encoders
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.kind)
    };
    let (classes, probes) = probe_layers(probe, probed, progress)?;
    let mut competence = Vec::new();
    for p in probed {
        let kind = kind_of(&p.name).ok_or_else(|| not_in_set(&p.name, modelset))?;
        // The encoder's own output: its last layer.
        if let Some(last) = probes.iter().rfind(|r| r.encoder == p.name) {
            competence.push(CompetenceRow {
                encoder: p.name.clone(),
                kind,
                measure: Measure::LinearProbe,
                value: last.test_accuracy,
                layer: last.layer.clone(),
            });
        }
    }
    for (name, &value) in &config.scores {
        let kind = kind_of(name).ok_or_else(|| not_in_set(name, modelset))?;
        competence.push(CompetenceRow {
            encoder: name.clone(),
            kind,
            measure: Measure::Score,
            value,
            layer: String::new(),
        });
    }
    let (rho, points) = correlations(config, modelset, &competence);
    let file = CompetenceFile {
        settings: config.clone(),
        probe: probe.clone(),
        classes,
        probes,
        competence,
        rho,
        points,
    };
    out.write(&file)?;
    Ok(file)
}

fn not_in_set(name: &str, modelset: &ModelsetFile) -> Error {
    Error::Invalid {
        what: "[competence]".into(),
        message: format!(
            "`{name}` is not an encoder of the model set ({})",
            modelset
                .encoders
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The linear probe on every layer of every probed encoder, on the same rows (the probe sets
/// must list the same images); with the probe set's class count.
fn probe_layers(
    settings: &LinearProbeSettings,
    probed: &[Probed],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(usize, Vec<LayerProbe>)> {
    let mut out = Vec::new();
    // The first encoder's probe set picks the rows; every other must list the same images.
    let mut first: Option<ProbeSet> = None;
    let mut picked: Option<ProbeRows> = None;
    for p in probed {
        let set = ProbeSet::open(&p.dir)?;
        match &first {
            Some(f) => f.same_rows(&set)?,
            None => picked = Some(ProbeRows::of(&set, settings)?),
        }
        let rows = picked.as_ref().expect("picked from the first probe set");
        let x_all = rows::matrix(&set.matrix, 0..set.matrix.rows());
        let layers = layers_of(&p.dir, x_all.ncols())?;
        for l in &layers {
            progress(&format!("probe: {} {}", p.name, l.name));
            let x = x_all.slice(s![.., l.offset..l.offset + l.dim]);
            let train = x.select(ndarray::Axis(0), &rows.train);
            let test = x.select(ndarray::Axis(0), &rows.test);
            let fit = rows.fit(&train, &test, settings);
            out.push(LayerProbe {
                encoder: p.name.clone(),
                layer: l.name.clone(),
                dim: l.dim,
                train_rows: rows.train.len(),
                test_rows: rows.test.len(),
                train_accuracy: fit.train_accuracy,
                test_accuracy: fit.test_accuracy,
            });
        }
        if first.is_none() {
            first = Some(set);
        }
    }
    Ok((picked.map_or(0, |r| r.classes), out))
}

/// Rho per metric × measure × anchor × kind with at least two encoders, and the points.
fn correlations(
    config: &CompetenceConfig,
    modelset: &ModelsetFile,
    competence: &[CompetenceRow],
) -> (Vec<RhoRow>, Vec<Point>) {
    let mut metrics: Vec<Metric> = Vec::new();
    for b in &modelset.best {
        if !metrics.contains(&b.metric) {
            metrics.push(b.metric);
        }
    }
    let mut rho = Vec::new();
    let mut points = Vec::new();
    for &metric in &metrics {
        for &measure in Measure::ALL {
            for anchor in &modelset.encoders {
                for &kind in EncoderKind::ALL {
                    let mut group: Vec<Point> = Vec::new();
                    for c in competence
                        .iter()
                        .filter(|c| c.measure == measure && c.kind == kind)
                        .filter(|c| c.encoder != anchor.name)
                    {
                        let pair = modelset.best.iter().find(|b| {
                            b.metric == metric
                                && ((b.a == c.encoder && b.b == anchor.name)
                                    || (b.b == c.encoder && b.a == anchor.name))
                        });
                        let Some(pair) = pair else { continue };
                        let (own, theirs) = if pair.a == c.encoder {
                            (&pair.a_layer, &pair.b_layer)
                        } else {
                            (&pair.b_layer, &pair.a_layer)
                        };
                        group.push(Point {
                            metric,
                            measure,
                            anchor: anchor.name.clone(),
                            encoder: c.encoder.clone(),
                            kind,
                            competence: c.value,
                            alignment: pair.score,
                            layers: if own.is_empty() && theirs.is_empty() {
                                String::new()
                            } else {
                                format!("{own} ~ {theirs}")
                            },
                        });
                    }
                    if group.len() < 2 {
                        continue;
                    }
                    let x: Vec<f64> = group.iter().map(|p| p.competence).collect();
                    let y: Vec<f64> = group.iter().map(|p| p.alignment).collect();
                    let r = correlation(
                        Coefficient::Spearman,
                        &x,
                        &y,
                        config.resamples,
                        config.permutations,
                        config.seed,
                    );
                    rho.push(RhoRow {
                        metric,
                        measure,
                        kind,
                        anchor: anchor.name.clone(),
                        encoders: group.len(),
                        rho: r.r,
                        ci_low: r.ci_low,
                        ci_high: r.ci_high,
                        p_value: r.p_value,
                    });
                    points.extend(group);
                }
            }
        }
    }
    (rho, points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::modelset::{BestLayers, EncoderRow, ModelsetConfig};

    fn encoder(name: &str, kind: EncoderKind) -> EncoderRow {
        EncoderRow {
            name: name.into(),
            kind,
            dim: 4,
            layers: Vec::new(),
            constant_layers: Vec::new(),
            rows: 20,
        }
    }

    fn best(a: &str, b: &str, score: f64) -> BestLayers {
        BestLayers {
            metric: Metric::MutualKnn,
            a: a.into(),
            b: b.into(),
            a_layer: String::new(),
            b_layer: if b == "d" { "l3".into() } else { String::new() },
            score,
            p_value: 0.01,
            corrected_p: 0.01,
            tau: 0.2,
            calibrated: 0.5,
            layer_pairs: 1,
        }
    }

    /// Four image encoders against one text anchor: rho of ranks (1,2,3,4) and (1,3,2,4) is
    /// 1 - 6·(0+1+1+0) / (4·15) = 0.8 by the rank-difference formula; a user score on two of
    /// them gives a rho of ±1 with no interval.
    #[test]
    fn rho_across_encoders_is_spearman_by_hand() {
        let modelset = ModelsetFile {
            settings: ModelsetConfig::default().scoring.settings(20),
            all_pairs: false,
            encoders: vec![
                encoder("a", EncoderKind::Image),
                encoder("b", EncoderKind::Image),
                encoder("c", EncoderKind::Image),
                encoder("d", EncoderKind::Image),
                encoder("t", EncoderKind::Text),
            ],
            scores: Vec::new(),
            best: vec![
                best("a", "t", 0.1),
                best("b", "t", 0.3),
                best("c", "t", 0.2),
                best("t", "d", 0.4),
            ],
        };
        let row = |name: &str, measure, value| CompetenceRow {
            encoder: name.into(),
            kind: EncoderKind::Image,
            measure,
            value,
            layer: String::new(),
        };
        let competence = vec![
            row("a", Measure::LinearProbe, 0.5),
            row("b", Measure::LinearProbe, 0.6),
            row("c", Measure::LinearProbe, 0.7),
            row("d", Measure::LinearProbe, 0.8),
            row("a", Measure::Score, 80.0),
            row("b", Measure::Score, 70.0),
        ];
        let config = CompetenceConfig {
            resamples: 200,
            permutations: 200,
            ..CompetenceConfig::default()
        };
        let (rho, points) = correlations(&config, &modelset, &competence);
        assert_eq!(rho.len(), 2, "{rho:?}");
        let probe = &rho[0];
        assert_eq!(
            (probe.measure, probe.anchor.as_str(), probe.encoders),
            (Measure::LinearProbe, "t", 4)
        );
        assert!((probe.rho - 0.8).abs() < 1e-12, "{}", probe.rho);
        assert!(probe.ci_low <= probe.rho && probe.rho <= probe.ci_high);
        // |rho| >= 0.8 for 4 of the 24 orders of (1,2,3,4) each way: p near 8/24.
        assert!((probe.p_value - 1.0 / 3.0).abs() < 0.1, "{}", probe.p_value);
        let score = &rho[1];
        assert_eq!((score.measure, score.encoders), (Measure::Score, 2));
        assert_eq!(score.rho, -1.0);
        assert!(score.ci_low.is_nan() && score.p_value.is_nan());
        // The anchor may be either side of the pair; the layers are the encoder's, then the
        // anchor's.
        let d = points
            .iter()
            .find(|p| p.encoder == "d" && p.measure == Measure::LinearProbe)
            .unwrap();
        assert_eq!((d.alignment, d.layers.as_str()), (0.4, "l3 ~ "));
        assert_eq!(points.len(), 6);
    }
}
