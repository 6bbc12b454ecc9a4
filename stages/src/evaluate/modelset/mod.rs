//! The `align:modelset` computation: every pair of a set of encoders scored on the same rows
//! (platonic-rep's alignment matrix), each score with its interval and its permutation null.
//!
//! A raw score mixes alignment with what two geometries give each other by chance (scale,
//! dimension, anisotropy: Groeger et al. 2026). Every score therefore comes with the null of
//! the same metric on the same two encoders with the rows of the second shuffled (the same
//! permutations for every pair): its mean and 95% quantile, the calibrated score (raw minus
//! the null mean) and the p-value.
//!
//! Each encoder's space (neighbour lists, moments, Gram matrix) is prepared once and reused by
//! every pair it is in ([`crate::metrics::resample::evaluate`]).
//!
//! - [`config`]: the `[modelset]` section;
//! - [`results`]: the rows the stage writes and the artifact's layout;
//! - [`figure`]: the matrix as an SVG.

pub mod config;
pub mod figure;
pub mod results;

use std::collections::HashMap;
use std::path::PathBuf;

use ndarray::Array2;

use crate::dataset::ingest::IngestArtifact;
use crate::error::{Error, Result};
use crate::evaluate::align::results::IntervalKind;
use crate::evaluate::rows;
use crate::features::spec::EncoderKind;
use crate::features::{FeatureMatrix, FeaturesArtifact};
use crate::metrics::resample::{self, ResampleOptions, Scores};
use crate::metrics::{self, Space};

pub use config::ModelsetConfig;
pub use results::{
    EncoderRow, ModelsetArtifact, ModelsetFile, ModelsetSettings, PairScore, ScoredRow,
};

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
    let list = config.metric_list()?;
    let records = IngestArtifact::at(ingest).read_records()?;
    let picked: Vec<ScoredRow> = rows::pick(
        &records,
        |r| (&r.id, &r.image_id, r.split),
        config.split()?,
        config.sample_size,
        config.seed,
    )
    .into_iter()
    .map(|r| ScoredRow {
        record_id: r.id,
        image_id: r.image_id,
    })
    .collect();
    let n = picked.len();
    if n <= config.topk {
        return Err(Error::Invalid {
            what: format!("[modelset] split = {:?}", config.split),
            message: format!(
                "{n} records to score: the kNN metrics need more rows than topk = {}",
                config.topk
            ),
        });
    }
    let raw = member_rows(members, &picked)?;
    let dims: Vec<usize> = raw.iter().map(Array2::ncols).collect();
    metrics::check_memory(
        metrics::memory_needed(
            n,
            config.resample_rows,
            &dims,
            config.topk,
            rayon::current_num_threads(),
        ),
        "[modelset] sample_size",
    )?;
    progress("preparing spaces");
    let options = metrics::options_for(&list, config.topk, config.clamp_outliers, config.cca_dim);
    let spaces: Vec<Space> = raw
        .into_iter()
        .zip(members)
        .map(|(x, m)| {
            Space::from_rows(
                x,
                options,
                &format!("{} features ({} split)", m.name, config.split),
            )
        })
        .collect::<Result<_>>()?;
    let pairs = pairs(config, members);
    let ro = ResampleOptions {
        bootstrap: config.bootstrap,
        permutations: config.permutations,
        svcca_resamples: config.svcca_resamples,
        seed: config.seed,
        max_rows: config.resample_rows,
    };
    let scores = resample::evaluate(&spaces, &pairs, &list, ro, progress);
    let file = ModelsetFile {
        settings: ModelsetSettings {
            split: config.split.clone(),
            n,
            all_pairs: config.all_pairs,
            resample_rows: config.resample_rows,
            topk: config.topk,
            clamp_outliers: config.clamp_outliers,
            cca_dim: config.cca_dim,
            bootstrap: config.bootstrap,
            svcca_resamples: config.svcca_resamples,
            permutations: config.permutations,
            seed: config.seed,
        },
        encoders: members
            .iter()
            .zip(&dims)
            .map(|(m, &dim)| EncoderRow {
                name: m.name.clone(),
                kind: m.kind,
                dim,
                rows: n,
            })
            .collect(),
        scores: pair_scores(&scores, members, n, config.permutations),
    };
    out.write(&file, &picked)?;
    Ok(file)
}

/// One row per metric × pair, with the null's summary.
fn pair_scores(
    scores: &Scores,
    members: &[Member],
    n: usize,
    permutations: usize,
) -> Vec<PairScore> {
    let mut out = Vec::new();
    for (mi, &metric) in scores.metrics.iter().enumerate() {
        for (pi, &(a, b)) in scores.pairs.iter().enumerate() {
            let score = scores.point[mi][pi];
            let reps = &scores.replicates[mi][pi];
            let null = &scores.null[mi][pi];
            let (ci_low, ci_high) = resample::interval(metric, score, reps);
            let null_mean = if null.is_empty() {
                f64::NAN
            } else {
                null.iter().sum::<f64>() / null.len() as f64
            };
            out.push(PairScore {
                metric,
                a: members[a].name.clone(),
                a_kind: members[a].kind,
                b: members[b].name.clone(),
                b_kind: members[b].kind,
                score,
                ci_low,
                ci_high,
                null_mean,
                null_q95: resample::quantile(null, 0.95),
                calibrated: score - null_mean,
                p_value: scores.p_value[mi][pi],
                n,
                resamples: reps.len(),
                resample_rows: scores.resample_rows[mi],
                permutations,
                interval: IntervalKind::of(metric),
            });
        }
    }
    out
}
