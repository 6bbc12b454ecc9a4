//! The scoring itself: the seven spaces on the same rows, every metric on the nine pairs with
//! its replicates and p-value, then the rows the stage writes: metric rows, H1/H2 tests, and
//! per-space summaries.

use ndarray::Array2;

use crate::error::Result;
use crate::evaluate::align::config::AlignConfig;
use crate::evaluate::align::results::{
    AlignResults, HypothesesFile, IntervalKind, MetricRow, MetricsFile, SpaceRow, SpacesFile,
};
use crate::evaluate::hypotheses::{self, Hypothesis, HypothesisTest, Tested};
use crate::evaluate::rows;
use crate::evaluate::variance::{mean_pairwise_cosine, variance_difference};
use crate::metrics::calibration;
use crate::metrics::resample::{self, Scores};
use crate::metrics::{self, Space};
use crate::spaces::{Modality, PAIRS, Pair, SpaceName, Weights};
use crate::train::TrainArtifact;
use crate::train::data::{PairRow, TrainingData};

/// Every metric on every pair of [`PAIRS`], on the same rows.
pub struct Scored {
    /// Each space's rows (f64), in [`SpaceName::ALL`] order.
    raw: Vec<Array2<f64>>,
    scores: Scores,
}

/// The seven spaces' rows for the evaluation pairs `picked`.
fn spaces(
    picked: &[PairRow],
    data: &TrainingData,
    train: &TrainArtifact,
) -> Result<Vec<Array2<f64>>> {
    let image_rows = || picked.iter().map(|p| p.image_row);
    let text_rows = || picked.iter().map(|p| p.text_row);
    let open = |w, m| train.open_embeddings(w, m);
    SpaceName::ALL
        .iter()
        .map(|&s| {
            Ok(match s {
                SpaceName::Image => rows::matrix(&data.image, image_rows()),
                SpaceName::Text => rows::matrix(&data.text, text_rows()),
                SpaceName::Reference => {
                    rows::matrix(&data.reference, picked.iter().map(|p| p.reference_row))
                }
                SpaceName::AlignedImage => {
                    rows::matrix(&open(Weights::Trained, Modality::Image)?, image_rows())
                }
                SpaceName::AlignedText => {
                    rows::matrix(&open(Weights::Trained, Modality::Text)?, text_rows())
                }
                SpaceName::UntrainedImage => {
                    rows::matrix(&open(Weights::Untrained, Modality::Image)?, image_rows())
                }
                SpaceName::UntrainedText => {
                    rows::matrix(&open(Weights::Untrained, Modality::Text)?, text_rows())
                }
            })
        })
        .collect()
}

/// Scores every metric of `config` on every pair.
pub fn score(
    config: &AlignConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Scored> {
    let list = config.metric_list();
    let split = config.split;
    let picked = rows::select(data, split, config.sample_size, config.seed);
    let n = picked.len();
    if n == 0 {
        return Err(rows::empty_split("[align] split", split, data));
    }
    let dims = [
        data.image.dim(),
        data.text.dim(),
        data.reference.dim(),
        train
            .open_embeddings(Weights::Trained, Modality::Image)?
            .dim(),
        train
            .open_embeddings(Weights::Trained, Modality::Text)?
            .dim(),
        train
            .open_embeddings(Weights::Untrained, Modality::Image)?
            .dim(),
        train
            .open_embeddings(Weights::Untrained, Modality::Text)?
            .dim(),
    ];
    let threads = rayon::current_num_threads();
    metrics::check_memory(
        metrics::memory_needed(n, config.resample_rows, &dims, config.topk, threads),
        "[align] sample_size",
    )?;
    let raw = spaces(&picked, data, train)?;
    progress("preparing spaces");
    let options = metrics::options_for(&list, config.topk, config.clamp_outliers, config.cca_dim);
    let prepared: Vec<Space> = raw
        .iter()
        .zip(SpaceName::ALL)
        .map(|(x, name)| {
            Space::new(
                x.view(),
                options,
                &format!("{name} features ({} split)", config.split),
            )
        })
        .collect::<crate::metrics::error::Result<_>>()?;
    let pairs: Vec<(usize, usize)> = PAIRS.iter().map(|p| (p.a as usize, p.b as usize)).collect();
    let scores = resample::evaluate(
        &prepared,
        &pairs,
        &list,
        config.resample_options(),
        progress,
    );
    Ok(Scored { raw, scores })
}

impl Scored {
    /// Rows scored per space.
    pub fn rows(&self) -> usize {
        self.raw.first().map_or(0, Array2::nrows)
    }

    fn at(&self, metric: usize, pair: Pair) -> (f64, &[f64]) {
        let p = PAIRS
            .iter()
            .position(|&q| q == pair)
            .expect("every pair of the tests is in PAIRS");
        (
            self.scores.point[metric][p],
            &self.scores.replicates[metric][p],
        )
    }

    /// Everything the artifact holds.
    pub fn results(&self, config: &AlignConfig) -> AlignResults {
        let settings = config.settings(self.rows());
        AlignResults {
            metrics: MetricsFile {
                settings: settings.clone(),
                rows: self.metric_rows(config),
            },
            hypotheses: HypothesesFile {
                settings: settings.clone(),
                definition: hypotheses::definitions(),
                tests: self.tests(),
            },
            spaces: SpacesFile {
                settings,
                spaces: self.space_rows(),
            },
        }
    }

    /// One row per metric × pair, each score calibrated against its null at `config.alpha`.
    pub fn metric_rows(&self, config: &AlignConfig) -> Vec<MetricRow> {
        let mut out = Vec::new();
        for (mi, &m) in self.scores.metrics.iter().enumerate() {
            let s_max = Some(m.identical_score(config.topk));
            for (pi, pair) in PAIRS.iter().enumerate() {
                let point = self.scores.point[mi][pi];
                let reps = &self.scores.replicates[mi][pi];
                let (ci_low, ci_high) = resample::interval(m, point, reps);
                let (tested, null) = (self.scores.tested[mi][pi], &self.scores.null[mi][pi]);
                let calibration = calibration::calibrate(tested, null, config.alpha, s_max);
                out.push(MetricRow {
                    metric: m,
                    pair: pair.name(),
                    a: pair.a,
                    b: pair.b,
                    adapter: pair.weights(),
                    score: point,
                    ci_low,
                    ci_high,
                    p_value: self.scores.p_value[mi][pi],
                    tau: calibration.tau,
                    calibrated: calibration.calibrated,
                    n: self.rows(),
                    resamples: reps.len(),
                    resample_rows: self.scores.resample_rows[mi],
                    interval: IntervalKind::of(m),
                });
            }
        }
        out
    }

    /// H1 and H2 for the aligned image, the aligned text and their mean; trained and untrained.
    pub fn tests(&self) -> Vec<HypothesisTest> {
        let mut tests = Vec::new();
        let image_ref = Pair {
            a: SpaceName::Image,
            b: SpaceName::Reference,
        };
        let text_ref = Pair {
            a: SpaceName::Text,
            b: SpaceName::Reference,
        };
        for (mi, &m) in self.scores.metrics.iter().enumerate() {
            let (image_ref, text_ref) = (self.at(mi, image_ref), self.at(mi, text_ref));
            for weights in Weights::ALL.iter().copied() {
                let si = self.at(mi, Pair::to_reference(weights, Modality::Image));
                let st = self.at(mi, Pair::to_reference(weights, Modality::Text));
                let mean_reps: Vec<f64> =
                    si.1.iter().zip(st.1).map(|(x, y)| (x + y) / 2.0).collect();
                let mean = ((si.0 + st.0) / 2.0, mean_reps.as_slice());
                for (tested, s) in [
                    (Tested::AlignedImage, si),
                    (Tested::AlignedText, st),
                    (Tested::AlignedMean, mean),
                ] {
                    for h in Hypothesis::ALL.iter().copied() {
                        let inputs = hypotheses::Inputs {
                            tested: s,
                            image_ref,
                            text_ref,
                        };
                        tests.push(hypotheses::test(h, m, &inputs, tested, weights));
                    }
                }
            }
        }
        tests
    }

    /// Per space: shape, mean pairwise cosine, variance difference to the reference.
    pub fn space_rows(&self) -> Vec<SpaceRow> {
        let reference = &self.raw[SpaceName::Reference as usize];
        self.raw
            .iter()
            .zip(SpaceName::ALL)
            .map(|(x, &space)| SpaceRow {
                space,
                rows: x.nrows(),
                dim: x.ncols(),
                mean_pairwise_cosine: mean_pairwise_cosine(x),
                variance_difference_to_reference: variance_difference(x, reference),
            })
            .collect()
    }
}
