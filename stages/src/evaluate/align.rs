//! The `align:<name>` computation: every metric on the unimodal pairs (before training), the
//! trained adapters' pairs and the untrained adapters' pairs (the control), with intervals and
//! permutation p-values; H1/H2 against the measured unimodal baselines; the variance
//! difference to the reference before and after training.
//!
//! Outputs: `metrics.parquet` and `metrics.json` (one row per metric × pair), `hypotheses.json`
//! and `hypotheses.parquet`, `spaces.json` (per space: rows, width, mean pairwise cosine,
//! variance difference to the reference).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::dataset::Split;
use crate::error::{Error, Result};
use crate::evaluate::hypotheses::{self, Hypothesis, Test};
use crate::evaluate::rows;
use crate::evaluate::variance::{mean_pairwise_cosine, variance_difference};
use crate::features::FeatureMatrix;
use crate::metrics::resample::{self, ResampleOptions};
use crate::metrics::{self, Metric, Space};
use crate::table::{self, Column};
use crate::train::data::TrainingData;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlignConfig {
    /// Which split's pairs are scored.
    pub split: String,
    /// Cap on scored pairs (seeded choice); 0 = all.
    pub sample_size: usize,
    /// `all`, or metric names.
    pub metrics: Vec<String>,
    pub topk: usize,
    /// Clamp at the 0.95 quantile of |x| before normalising, as the PRH code does.
    pub clamp_outliers: bool,
    pub cca_dim: usize,
    /// Bootstrap replicates (kNN metrics) and random halves (kernel metrics).
    pub bootstrap: usize,
    /// SVCCA recomputes its SVD per half: it gets at most this many halves.
    pub svcca_resamples: usize,
    pub permutations: usize,
    pub seed: u64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            split: "val".into(),
            sample_size: 1000,
            metrics: vec!["all".into()],
            topk: 10,
            clamp_outliers: true,
            cca_dim: 10,
            bootstrap: 1000,
            svcca_resamples: 200,
            permutations: 1000,
            seed: 0,
        }
    }
}

impl AlignConfig {
    pub fn metric_list(&self) -> Result<Vec<Metric>> {
        let mut out = Vec::new();
        for m in &self.metrics {
            for x in metrics::parse_list(m)? {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
        Ok(out)
    }

    pub fn split(&self) -> Result<Split> {
        Split::parse(&self.split).ok_or_else(|| Error::Invalid {
            what: "[align] split".into(),
            message: format!("`{}`: expected `train` or `val`", self.split),
        })
    }
}

/// The spaces scored, in this order.
pub const SPACES: [&str; 7] = [
    "image",
    "text",
    "reference",
    "aligned_image",
    "aligned_text",
    "untrained_image",
    "untrained_text",
];

/// The pairs scored: (a, b, adapter state).
pub const PAIRS: [(usize, usize, &str); 9] = [
    (0, 1, "none"),
    (0, 2, "none"),
    (1, 2, "none"),
    (3, 2, "trained"),
    (4, 2, "trained"),
    (3, 4, "trained"),
    (5, 2, "untrained"),
    (6, 2, "untrained"),
    (5, 6, "untrained"),
];

fn pair_name(a: usize, b: usize) -> String {
    format!("{}-{}", SPACES[a], SPACES[b])
}

pub struct AlignSummary {
    pub rows: usize,
    pub tests: Vec<Test>,
}

/// Scores the `train` artifact's embeddings against the features in `data`.
pub fn run(
    config: &AlignConfig,
    data: &TrainingData,
    train_dir: &Path,
    out: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<AlignSummary> {
    let list = config.metric_list()?;
    let pairs_rows = rows::select(data, config.split()?, config.sample_size, config.seed);
    let n = pairs_rows.len();
    // Seven spaces with two Gram matrices each, plus one replicate's subsets or permutations per
    // thread, plus a pair's temporaries.
    let threads = rayon::current_num_threads() as u64;
    let matrices = 14 * (1 + threads) + metrics::PAIR_MATRICES;
    metrics::check_memory(n, matrices, "[align] sample_size")?;
    let open = |sub: &str| FeatureMatrix::open(&train_dir.join(sub));
    let (ai, at, ui, ut) = (
        open("aligned/image")?,
        open("aligned/text")?,
        open("untrained/image")?,
        open("untrained/text")?,
    );
    let image_rows = || pairs_rows.iter().map(|p| p.image_row);
    let text_rows = || pairs_rows.iter().map(|p| p.text_row);
    let raw = [
        rows::matrix(&data.image, image_rows()),
        rows::matrix(&data.text, text_rows()),
        rows::matrix(&data.reference, pairs_rows.iter().map(|p| p.reference_row)),
        rows::matrix(&ai, image_rows()),
        rows::matrix(&at, text_rows()),
        rows::matrix(&ui, image_rows()),
        rows::matrix(&ut, text_rows()),
    ];
    progress("preparing spaces");
    let options = metrics::options_for(&list, config.topk, config.clamp_outliers, config.cca_dim);
    let spaces: Vec<Space> = raw
        .iter()
        .zip(SPACES)
        .map(|(x, name)| {
            Space::new(
                x.view(),
                options,
                &format!("{name} features ({} split)", config.split),
            )
        })
        .collect::<Result<_>>()?;
    let pairs: Vec<(usize, usize)> = PAIRS.iter().map(|p| (p.0, p.1)).collect();
    let ro = ResampleOptions {
        bootstrap: config.bootstrap,
        permutations: config.permutations,
        svcca_resamples: config.svcca_resamples,
        seed: config.seed,
    };
    let scores = resample::evaluate(&spaces, &pairs, &list, ro, progress);

    // metrics.parquet / metrics.json
    let mut records = Vec::new();
    for (mi, m) in list.iter().enumerate() {
        for (pi, &(a, b, state)) in PAIRS.iter().enumerate() {
            let point = scores.point[mi][pi];
            let reps = &scores.replicates[mi][pi];
            let (lo, hi) = resample::interval(*m, point, reps);
            records.push(json!({
                "metric": m.name(),
                "pair": pair_name(a, b),
                "a": SPACES[a],
                "b": SPACES[b],
                "adapter": state,
                "score": point,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": scores.p_value[mi][pi],
                "n": n,
                "resamples": reps.len(),
                "interval": if m.per_row() { "bootstrap of per-row scores" } else { "half-sampling" },
            }));
        }
    }
    let col_s = |k: &str| {
        Column::Str(
            records
                .iter()
                .map(|r| r[k].as_str().unwrap_or("").to_string())
                .collect(),
        )
    };
    let col_f = |k: &str| {
        Column::F64(
            records
                .iter()
                .map(|r| r[k].as_f64().unwrap_or(f64::NAN))
                .collect(),
        )
    };
    let col_i = |k: &str| Column::I64(records.iter().map(|r| r[k].as_i64().unwrap_or(0)).collect());
    table::write(
        &out.join("metrics.parquet"),
        vec![
            ("metric", col_s("metric")),
            ("pair", col_s("pair")),
            ("a", col_s("a")),
            ("b", col_s("b")),
            ("adapter", col_s("adapter")),
            ("score", col_f("score")),
            ("ci_low", col_f("ci_low")),
            ("ci_high", col_f("ci_high")),
            ("p_value", col_f("p_value")),
            ("n", col_i("n")),
            ("resamples", col_i("resamples")),
            ("interval", col_s("interval")),
        ],
    )?;

    // Hypotheses, for the aligned image, the aligned text and their mean; trained and untrained.
    let mut tests = Vec::new();
    let find = |mi: usize, a: usize, b: usize| -> (f64, &[f64]) {
        let pi = PAIRS
            .iter()
            .position(|p| p.0 == a && p.1 == b)
            .expect("pair scored");
        (scores.point[mi][pi], &scores.replicates[mi][pi])
    };
    for (mi, m) in list.iter().enumerate() {
        let (image_ref, text_ref) = (find(mi, 0, 2), find(mi, 1, 2));
        for (state, img, txt) in [("trained", 3, 4), ("untrained", 5, 6)] {
            let (si, st) = (find(mi, img, 2), find(mi, txt, 2));
            let mean_reps: Vec<f64> = si.1.iter().zip(st.1).map(|(x, y)| (x + y) / 2.0).collect();
            let mean = ((si.0 + st.0) / 2.0, mean_reps.as_slice());
            for (tested, s) in [
                ("aligned_image", si),
                ("aligned_text", st),
                ("aligned_mean", mean),
            ] {
                for h in [Hypothesis::H1, Hypothesis::H2] {
                    let inputs = hypotheses::Inputs {
                        tested: s,
                        image_ref,
                        text_ref,
                    };
                    tests.push(hypotheses::test(h, *m, &inputs, tested, state));
                }
            }
        }
    }
    let tj: Vec<serde_json::Value> = tests
        .iter()
        .map(|t| serde_json::to_value(t).expect("plain struct"))
        .collect();
    let ts = |f: fn(&Test) -> &String| Column::Str(tests.iter().map(|t| f(t).clone()).collect());
    let tf = |f: fn(&Test) -> f64| Column::F64(tests.iter().map(f).collect());
    table::write(
        &out.join("hypotheses.parquet"),
        vec![
            ("hypothesis", ts(|t| &t.hypothesis)),
            ("metric", ts(|t| &t.metric)),
            ("tested", ts(|t| &t.tested)),
            ("adapter", ts(|t| &t.adapter)),
            ("score", tf(|t| t.score)),
            ("baseline", tf(|t| t.baseline)),
            ("margin", tf(|t| t.margin)),
            ("ci_low", tf(|t| t.ci_low)),
            ("ci_high", tf(|t| t.ci_high)),
            ("verdict", ts(|t| &t.verdict)),
        ],
    )?;

    // Per space: shape, mean pairwise cosine, variance difference to the reference.
    let space_info: Vec<serde_json::Value> = raw
        .iter()
        .zip(SPACES)
        .map(|(x, name)| {
            json!({
                "space": name,
                "rows": x.nrows(),
                "dim": x.ncols(),
                "mean_pairwise_cosine": mean_pairwise_cosine(x),
                "variance_difference_to_reference": variance_difference(x, &raw[2]),
            })
        })
        .collect();
    let settings = json!({
        "split": config.split,
        "n": n,
        "topk": config.topk,
        "clamp_outliers": config.clamp_outliers,
        "cca_dim": config.cca_dim,
        "bootstrap": config.bootstrap,
        "svcca_resamples": config.svcca_resamples,
        "permutations": config.permutations,
        "seed": config.seed,
    });
    write_json(
        &out.join("metrics.json"),
        &json!({"settings": settings, "rows": records}),
    )?;
    write_json(
        &out.join("hypotheses.json"),
        &json!({
            "settings": settings,
            "definition": {
                "H1": "m(aligned, reference) > mean(m(image, reference), m(text, reference))",
                "H2": "m(aligned, reference) > max(m(image, reference), m(text, reference))",
                "verdict": "supported: 95% interval of the margin above 0; contradicted: below 0; else inconclusive",
            },
            "tests": tj,
        }),
    )?;
    write_json(
        &out.join("spaces.json"),
        &json!({"settings": settings, "spaces": space_info}),
    )?;
    Ok(AlignSummary { rows: n, tests })
}

pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}
