//! The `align:modelset` computation: every pair of a set of encoders scored on the same rows
//! (platonic-rep's alignment matrix), each score with its interval and its permutation null.
//!
//! A raw score mixes alignment with what two geometries give each other by chance (scale,
//! dimension, anisotropy: Groeger et al. 2026). Every score therefore comes with the null of
//! the same metric on the same two encoders with the rows of the second shuffled (the same
//! permutations for every pair): its mean and 95% quantile, the score above the null mean, the
//! p-value, and Gröger et al.'s calibrated score (how far the score rises above the null's
//! critical value τ towards the metric's maximum; [`crate::metrics::calibration`]).
//!
//! An encoder with a layer axis (`layers` in its `[encoders.<name>]`) brings every layer: a pair
//! of encoders is then scored on every layer pair, and the best layer pair (platonic-rep reports
//! the maximum) gets, besides its own p-value, a selection-corrected one: its score against the
//! null of the maximum over all the layer pairs, on the same permutations, and a calibrated
//! score against that null (their Algorithm 2). Picking the best of many noisy scores is then
//! not a free lunch.
//!
//! Each encoder-layer's space (neighbour lists, moments, Gram matrix) is prepared once and reused
//! by every pair it is in ([`crate::metrics::resample::evaluate`]).
//!
//! - [`config`]: the `[modelset]` section;
//! - [`results`]: the rows the stage writes and the artifact's layout;

pub mod config;
pub mod results;

use std::collections::HashMap;
use std::path::PathBuf;

use ndarray::Array2;

use crate::dataset::ingest::IngestArtifact;
use crate::error::{Error, Result};
use crate::evaluate::align::results::IntervalKind;
use crate::evaluate::rows;
use crate::evaluate::scoring::ScoringConfig;
use crate::features::spec::EncoderKind;
use crate::features::{FeatureMatrix, FeaturesArtifact};
use crate::metrics::resample::{self, Scores};
use crate::metrics::{self, Space, calibration};

pub use config::ModelsetConfig;
pub use results::{BestLayers, EncoderRow, ModelsetArtifact, ModelsetFile, PairScore, ScoredRow};

use crate::features::output::layers_of;

/// One encoder of the set: its name, kind and features artifact.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub kind: EncoderKind,
    pub dir: PathBuf,
}

/// The pairs `config` asks for, as indices into `members` (named by `config.members()`):
/// image × text, or every pair of distinct encoders with `all_pairs`.
pub fn pairs(config: &ModelsetConfig, members: &[Member]) -> Vec<(usize, usize)> {
    let at = |name: &String| members.iter().position(|m| &m.name == name);
    if config.all_pairs {
        let n = members.len();
        (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .collect()
    } else {
        let mut out = Vec::new();
        for i in config.image.iter().filter_map(at) {
            for t in config.text.iter().filter_map(at) {
                out.push((i, t));
            }
        }
        out
    }
}

/// One scored space: an encoder, or one layer of an encoder with a layer axis.
struct Unit {
    member: usize,
    /// The layer's output name; "" for an encoder without a layer axis.
    layer: String,
}

/// Whether every row equals the first (to float32 rounding).
fn is_constant(x: &Array2<f64>) -> bool {
    let Some(first) = x.rows().into_iter().next() else {
        return true;
    };
    x.rows().into_iter().all(|r| {
        r.iter()
            .zip(first)
            .all(|(a, b)| (a - b).abs() <= 1e-6 * (1.0 + b.abs()))
    })
}

/// Each member's rows for the records `picked` (image encoders by image id, text encoders by
/// record id), as f64 matrices.
fn member_rows(members: &[Member], picked: &[ScoredRow]) -> Result<Vec<Array2<f64>>> {
    members
        .iter()
        .map(|m| {
            let ids = FeaturesArtifact::at(&m.dir)
                .read_columns(&["id"])?
                .strings("id")?;
            let index: HashMap<&str, usize> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            let matrix = FeatureMatrix::open(&m.dir)?;
            let rows = picked
                .iter()
                .map(|r| {
                    let id = match m.kind {
                        EncoderKind::Image => &r.image_id,
                        EncoderKind::Text => &r.record_id,
                    };
                    index.get(id.as_str()).copied().ok_or_else(|| Error::Invalid {
                        what: m.dir.display().to_string(),
                        message: format!(
                            "no `{}` features for `{id}`: the encoder's features and the ingest \
                             artifact disagree",
                            m.name
                        ),
                    })
                })
                .collect::<Result<Vec<usize>>>()?;
            Ok(rows::matrix(&matrix, rows.into_iter()))
        })
        .collect()
}

/// Scores every pair of `members` (in `config.members()` order) on the records of `ingest`,
/// into `out`.
pub fn run(
    config: &ModelsetConfig,
    ingest: &std::path::Path,
    members: &[Member],
    out: &ModelsetArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ModelsetFile> {
    let scoring = &config.scoring;
    let list = scoring.metric_list();
    let picked = pick_rows(scoring, ingest)?;
    let n = picked.len();
    let layered = layer_columns(members, &member_rows(members, &picked)?, n)?;
    let dims: Vec<usize> = layered.columns.iter().map(Array2::ncols).collect();
    metrics::check_memory(
        metrics::memory_needed(
            n,
            scoring.resample_rows,
            &dims,
            scoring.topk,
            rayon::current_num_threads(),
        ),
        "[modelset] sample_size",
    )?;
    progress("preparing spaces");
    let options =
        metrics::options_for(&list, scoring.topk, scoring.clamp_outliers, scoring.cca_dim);
    let units = &layered.units;
    let spaces: Vec<Space> = layered
        .columns
        .into_iter()
        .zip(units)
        .map(|(x, u)| {
            let m = &members[u.member];
            let what = if u.layer.is_empty() {
                format!("{} features ({} split)", m.name, scoring.split)
            } else {
                format!("{} layer {} ({} split)", m.name, u.layer, scoring.split)
            };
            Space::from_rows(x, options, &what)
        })
        .collect::<crate::metrics::error::Result<_>>()?;
    let (space_pairs, groups) = layer_pairs(config, members, units);
    let scores = resample::evaluate(
        &spaces,
        &space_pairs,
        &list,
        scoring.resample_options(),
        progress,
    );
    let file = ModelsetFile {
        settings: scoring.settings(n),
        all_pairs: config.all_pairs,
        encoders: layered.encoders,
        scores: pair_scores(&scores, members, units, n, scoring),
        best: best_layers(&scores, members, units, &groups, scoring),
    };
    out.write(&file, &picked)?;
    Ok(file)
}

/// The records scored: of the split, capped and seeded as `scoring` says; more than topk.
fn pick_rows(scoring: &ScoringConfig, ingest: &std::path::Path) -> Result<Vec<ScoredRow>> {
    let records = IngestArtifact::at(ingest).read_records()?;
    let picked: Vec<ScoredRow> = rows::pick(
        &records,
        |r| (&r.id, &r.image_id, r.split),
        scoring.split,
        scoring.sample_size,
        scoring.seed,
    )
    .into_iter()
    .map(|r| ScoredRow {
        record_id: r.id,
        image_id: r.image_id,
    })
    .collect();
    let n = picked.len();
    if n <= scoring.topk {
        return Err(Error::Invalid {
            what: format!("[modelset] split = {:?}", scoring.split.as_str()),
            message: format!(
                "{n} records to score: the kNN metrics need more rows than topk = {}",
                scoring.topk
            ),
        });
    }
    Ok(picked)
}

/// Every member's layers as columns of their own, less the layers whose rows are one vector.
struct Layered {
    units: Vec<Unit>,
    columns: Vec<Array2<f64>>,
    encoders: Vec<EncoderRow>,
}

/// Cuts each member's rows `raw` (n of them) into its layers: its layers.json, or the whole
/// row as one unnamed layer. A layer whose rows are all one vector (DINOv2's CLS token before
/// the first block is the learned token itself) has no geometry, every metric 0/0 there: it is
/// left out and said so; a member with no other layer is an error.
fn layer_columns(members: &[Member], raw: &[Array2<f64>], n: usize) -> Result<Layered> {
    let mut out = Layered {
        units: Vec::new(),
        columns: Vec::new(),
        encoders: Vec::new(),
    };
    for (mi, (m, x)) in members.iter().zip(raw).enumerate() {
        let layers = layers_of(&m.dir, x.ncols())?;
        let mut constant: Vec<String> = Vec::new();
        for l in &layers {
            let block = x
                .slice(ndarray::s![.., l.offset..l.offset + l.dim])
                .to_owned();
            if is_constant(&block) {
                constant.push(l.name.clone());
                continue;
            }
            out.columns.push(block);
            out.units.push(Unit {
                member: mi,
                layer: l.name.clone(),
            });
        }
        if !out.units.iter().any(|u| u.member == mi) {
            let every = if constant.len() > 1 {
                ", in every layer"
            } else {
                ""
            };
            return Err(Error::Invalid {
                what: m.dir.display().to_string(),
                message: format!(
                    "every row of `{}` is the same vector on the {n} scored records{every}: \
                     the encoder has no geometry to compare",
                    m.name
                ),
            });
        }
        out.encoders.push(EncoderRow {
            name: m.name.clone(),
            kind: m.kind,
            dim: layers.iter().map(|l| l.dim).max().unwrap_or(0),
            layers: layers
                .iter()
                .map(|l| l.name.clone())
                .filter(|n| !n.is_empty() && !constant.contains(n))
                .collect(),
            constant_layers: constant,
            rows: n,
        });
    }
    Ok(out)
}

/// Every layer pair of every encoder pair, and each encoder pair's range of them.
fn layer_pairs(
    config: &ModelsetConfig,
    members: &[Member],
    units: &[Unit],
) -> (Vec<(usize, usize)>, Vec<std::ops::Range<usize>>) {
    let mut space_pairs = Vec::new();
    let mut groups = Vec::new();
    for (a, b) in pairs(config, members) {
        let start = space_pairs.len();
        for ua in (0..units.len()).filter(|&u| units[u].member == a) {
            for ub in (0..units.len()).filter(|&u| units[u].member == b) {
                space_pairs.push((ua, ub));
            }
        }
        groups.push(start..space_pairs.len());
    }
    (space_pairs, groups)
}

/// One row per metric × pair, with the null's summary.
fn pair_scores(
    scores: &Scores,
    members: &[Member],
    units: &[Unit],
    n: usize,
    scoring: &ScoringConfig,
) -> Vec<PairScore> {
    let mut out = Vec::new();
    for (mi, &metric) in scores.metrics.iter().enumerate() {
        let s_max = Some(metric.identical_score(scoring.topk));
        for (pi, &(ua, ub)) in scores.pairs.iter().enumerate() {
            let (a, b) = (units[ua].member, units[ub].member);
            let score = scores.point[mi][pi];
            let reps = &scores.replicates[mi][pi];
            let null = &scores.null[mi][pi];
            let (ci_low, ci_high) = resample::interval(metric, score, reps);
            let null_mean = if null.is_empty() {
                f64::NAN
            } else {
                null.iter().sum::<f64>() / null.len() as f64
            };
            let tested = scores.tested[mi][pi];
            let calibration = calibration::calibrate(tested, null, scoring.alpha, s_max);
            out.push(PairScore {
                metric,
                a: members[a].name.clone(),
                a_layer: units[ua].layer.clone(),
                a_kind: members[a].kind,
                b: members[b].name.clone(),
                b_layer: units[ub].layer.clone(),
                b_kind: members[b].kind,
                score,
                ci_low,
                ci_high,
                null_mean,
                null_q95: resample::quantile(null, 0.95),
                above_null: score - null_mean,
                tau: calibration.tau,
                calibrated: calibration.calibrated,
                p_value: scores.p_value[mi][pi],
                n,
                resamples: reps.len(),
                resample_rows: scores.resample_rows[mi],
                permutations: scoring.permutations,
                interval: IntervalKind::of(metric),
            });
        }
    }
    out
}

/// Per metric and encoder pair: the layer pair with the highest score, its own p-value, and the
/// selection-corrected p and calibrated score (against the null of the maximum over the group's
/// layer pairs: Gröger et al.'s Algorithm 2).
fn best_layers(
    scores: &Scores,
    members: &[Member],
    units: &[Unit],
    groups: &[std::ops::Range<usize>],
    scoring: &ScoringConfig,
) -> Vec<BestLayers> {
    let mut out = Vec::new();
    for (mi, &metric) in scores.metrics.iter().enumerate() {
        let s_max = Some(metric.identical_score(scoring.topk));
        for group in groups.iter().filter(|g| !g.is_empty()) {
            let best = group
                .clone()
                .max_by(|&i, &j| scores.point[mi][i].total_cmp(&scores.point[mi][j]))
                .expect("a non-empty group");
            let (ua, ub) = scores.pairs[best];
            let nulls: Vec<&[f64]> = group
                .clone()
                .map(|pi| scores.null[mi][pi].as_slice())
                .collect();
            let tested = &scores.tested[mi][group.clone()];
            let corrected = calibration::calibrate_max(tested, &nulls, scoring.alpha, s_max);
            out.push(BestLayers {
                metric,
                a: members[units[ua].member].name.clone(),
                b: members[units[ub].member].name.clone(),
                a_layer: units[ua].layer.clone(),
                b_layer: units[ub].layer.clone(),
                score: scores.point[mi][best],
                p_value: scores.p_value[mi][best],
                corrected_p: corrected.p_value,
                tau: corrected.tau,
                calibrated: corrected.calibrated,
                layer_pairs: group.len(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_of_one_repeated_vector_is_constant_and_its_p_is_nan() {
        let same = Array2::from_shape_fn((5, 3), |(_, j)| j as f64 + 0.5);
        assert!(is_constant(&same));
        let mut moved = same.clone();
        moved[[4, 1]] += 1e-3;
        assert!(!is_constant(&moved));
        assert!(resample::permutation_p(f64::NAN, &[0.1, 0.2]).is_nan());
        assert_eq!(resample::permutation_p(0.15, &[0.1, 0.2]), 2.0 / 3.0);
    }

    #[test]
    fn pairs_are_image_by_text_or_all() {
        let member = |name: &str, kind| Member {
            name: name.into(),
            kind,
            dir: PathBuf::new(),
        };
        let members = [
            member("a", EncoderKind::Image),
            member("b", EncoderKind::Image),
            member("t", EncoderKind::Text),
        ];
        let mut config = ModelsetConfig {
            image: vec!["a".into(), "b".into()],
            text: vec!["t".into()],
            ..ModelsetConfig::default()
        };
        assert_eq!(pairs(&config, &members), vec![(0, 2), (1, 2)]);
        config.all_pairs = true;
        assert_eq!(pairs(&config, &members), vec![(0, 1), (0, 2), (1, 2)]);
    }
}
