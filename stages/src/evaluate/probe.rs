//! The `probe:<name>` computation.
//!
//! 1. Downstream linear probe: the probe set (Fashion-MNIST by default) through the image
//!    encoder, the image encoder + trained image adapter, and the reference encoder; a
//!    multinomial logistic regression ([`crate::evaluate::logistic`]) trained on the probe's
//!    train split, accuracy on its test split, and each accuracy's ratio to the reference's.
//! 2. Image ↔ text retrieval on the evaluation split ([`crate::evaluate::retrieval`]) for the
//!    trained adapters and the untrained ones (the floor).
//!
//! Outputs: probe.json / probe.parquet, retrieval.json / retrieval.parquet.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::dataset::Split;
use crate::dataset::split::rank;
use crate::error::{Error, Result};
use crate::evaluate::align::write_json;
use crate::evaluate::logistic::LogisticModel;
use crate::evaluate::retrieval::{self, Retrieval};
use crate::evaluate::rows;
use crate::features::FeatureMatrix;
use crate::features::output::PARQUET;
use crate::table::{self, Column, Table};
use crate::train::data::TrainingData;
use crate::train::inference::TrainedAdapters;

/// Rows of one feature set, as an f64 matrix.
type RowsOf<'a> = Box<dyn Fn(&[usize]) -> Array2<f64> + 'a>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    /// Caps on the probe set's train and test rows (seeded choice); 0 = all encoded.
    pub probe_train_samples: usize,
    pub probe_test_samples: usize,
    /// Full-batch gradient epochs of the logistic regression.
    pub epochs: usize,
    /// L2 penalty on the weights.
    pub l2: f64,
    pub seed: u64,
    /// Split of the image–caption pairs for retrieval.
    pub retrieval_split: String,
    pub retrieval_ks: Vec<usize>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            probe_train_samples: 1000,
            probe_test_samples: 500,
            epochs: 300,
            l2: 1e-3,
            seed: 0,
            retrieval_split: "val".into(),
            retrieval_ks: vec![1, 5, 10],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeRow {
    pub features: String,
    pub dim: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub ratio_to_reference: f64,
}

pub struct ProbeSummary {
    pub probe: Vec<ProbeRow>,
    pub retrieval: Vec<(String, Retrieval)>,
}

struct ProbeSet {
    labels: Vec<i64>,
    splits: Vec<String>,
    ids: Vec<String>,
    matrix: FeatureMatrix,
}

fn open_probe(dir: &Path) -> Result<ProbeSet> {
    let t = Table::read(&dir.join(PARQUET))?;
    Ok(ProbeSet {
        labels: t.i64s("label")?,
        splits: t.strings("split")?,
        ids: t.strings("id")?,
        matrix: FeatureMatrix::open(dir)?,
    })
}

/// Rows of `split`, capped at `cap` by a seeded choice, in row order.
fn pick(set: &ProbeSet, split: &str, cap: usize, seed: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..set.ids.len())
        .filter(|&i| set.splits[i] == split)
        .collect();
    if cap > 0 && rows.len() > cap {
        rows.sort_by_key(|&i| (rank(seed, "probe-sample", &set.ids[i]), i));
        rows.truncate(cap);
        rows.sort_unstable();
    }
    rows
}

fn labels_of(set: &ProbeSet, rows: &[usize], path: &Path) -> Result<Vec<usize>> {
    rows.iter()
        .map(|&i| {
            usize::try_from(set.labels[i]).map_err(|_| Error::Invalid {
                what: path.display().to_string(),
                message: format!(
                    "row {i} (`{}`): negative label {}",
                    set.ids[i], set.labels[i]
                ),
            })
        })
        .collect()
}

pub fn run(
    config: &ProbeConfig,
    data: &TrainingData,
    train_dir: &Path,
    probe_image: &Path,
    probe_reference: &Path,
    out: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ProbeSummary> {
    let img = open_probe(probe_image)?;
    let refr = open_probe(probe_reference)?;
    if img.ids != refr.ids || img.labels != refr.labels {
        return Err(Error::Invalid {
            what: format!(
                "{} and {}",
                probe_image.display(),
                probe_reference.display()
            ),
            message: "the two probe feature sets list different images or labels".into(),
        });
    }
    let train_rows = pick(&img, "train", config.probe_train_samples, config.seed);
    let test_rows = pick(&img, "test", config.probe_test_samples, config.seed);
    if train_rows.is_empty() || test_rows.is_empty() {
        return Err(Error::Invalid {
            what: probe_image.display().to_string(),
            message: format!(
                "{} train and {} test rows: the probe needs both",
                train_rows.len(),
                test_rows.len()
            ),
        });
    }
    let y_train = labels_of(&img, &train_rows, probe_image)?;
    let y_test = labels_of(&img, &test_rows, probe_image)?;
    let classes = y_train.iter().chain(&y_test).max().map_or(0, |m| m + 1);

    let adapters = TrainedAdapters::load(train_dir, data.image.dim(), data.text.dim())?;
    let all_rows: Vec<usize> = (0..img.matrix.rows()).collect();
    let projected = adapters.project_image(
        crate::train::data::gather(&img.matrix, all_rows.into_iter()),
        img.matrix.rows(),
    )?;
    let aligned = Array2::from_shape_vec(
        (img.matrix.rows(), adapters.d_embed),
        projected.into_iter().map(f64::from).collect(),
    )
    .map_err(|e| Error::Invalid {
        what: train_dir.display().to_string(),
        message: format!(
            "the image adapter's output is not {} rows x {} (the width of aligned/image): {e}",
            img.matrix.rows(),
            adapters.d_embed
        ),
    })?;
    let sets: [(&str, RowsOf); 3] = [
        (
            "image",
            Box::new(|r: &[usize]| rows::matrix(&img.matrix, r.iter().copied())),
        ),
        (
            "aligned_image",
            Box::new(|r: &[usize]| aligned.select(ndarray::Axis(0), r)),
        ),
        (
            "reference",
            Box::new(|r: &[usize]| rows::matrix(&refr.matrix, r.iter().copied())),
        ),
    ];
    let mut probe = Vec::new();
    for (name, get) in &sets {
        progress(&format!("probe: {name}"));
        let (x, xt) = (get(&train_rows), get(&test_rows));
        let model = LogisticModel::fit(&x, &y_train, classes, config.epochs, config.l2);
        probe.push(ProbeRow {
            features: (*name).into(),
            dim: x.ncols(),
            train_rows: x.nrows(),
            test_rows: xt.nrows(),
            train_accuracy: model.accuracy(&x, &y_train),
            test_accuracy: model.accuracy(&xt, &y_test),
            ratio_to_reference: f64::NAN,
        });
    }
    let reference_acc = probe.last().map_or(f64::NAN, |r| r.test_accuracy);
    for row in &mut probe {
        row.ratio_to_reference = row.test_accuracy / reference_acc;
    }

    progress("retrieval");
    let split = Split::parse(&config.retrieval_split).ok_or_else(|| Error::Invalid {
        what: "[probe] retrieval_split".into(),
        message: format!("`{}`: expected `train` or `val`", config.retrieval_split),
    })?;
    let mut pairs: Vec<_> = data.pairs.iter().filter(|p| p.split == split).collect();
    pairs.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    let mut image_rows: Vec<usize> = pairs.iter().map(|p| p.image_row).collect();
    image_rows.sort_unstable();
    image_rows.dedup();
    let owner: Vec<usize> = pairs
        .iter()
        .map(|p| {
            image_rows
                .binary_search(&p.image_row)
                .expect("listed above")
        })
        .collect();
    let mut retrieval = Vec::new();
    for state in ["trained", "untrained"] {
        let dir = if state == "trained" {
            "aligned"
        } else {
            "untrained"
        };
        let im = FeatureMatrix::open(&train_dir.join(dir).join("image"))?;
        let tx = FeatureMatrix::open(&train_dir.join(dir).join("text"))?;
        let images = rows::matrix(&im, image_rows.iter().copied());
        let texts = rows::matrix(&tx, pairs.iter().map(|p| p.text_row));
        for r in retrieval::evaluate(&images, &texts, &owner, &config.retrieval_ks) {
            retrieval.push((state.to_string(), r));
        }
    }

    // Files.
    let pj: Vec<_> = probe
        .iter()
        .map(|r| serde_json::to_value(r).expect("plain struct"))
        .collect();
    write_json(
        &out.join("probe.json"),
        &json!({
            "settings": config,
            "classes": classes,
            "rows": pj,
        }),
    )?;
    table::write(
        &out.join("probe.parquet"),
        vec![
            (
                "features",
                Column::Str(probe.iter().map(|r| r.features.clone()).collect()),
            ),
            (
                "dim",
                Column::I64(probe.iter().map(|r| r.dim as i64).collect()),
            ),
            (
                "train_rows",
                Column::I64(probe.iter().map(|r| r.train_rows as i64).collect()),
            ),
            (
                "test_rows",
                Column::I64(probe.iter().map(|r| r.test_rows as i64).collect()),
            ),
            (
                "train_accuracy",
                Column::F64(probe.iter().map(|r| r.train_accuracy).collect()),
            ),
            (
                "test_accuracy",
                Column::F64(probe.iter().map(|r| r.test_accuracy).collect()),
            ),
            (
                "ratio_to_reference",
                Column::F64(probe.iter().map(|r| r.ratio_to_reference).collect()),
            ),
        ],
    )?;
    let rj: Vec<_> = retrieval
        .iter()
        .map(|(s, r)| {
            let mut v = serde_json::to_value(r).expect("plain struct");
            v["adapter"] = json!(s);
            v
        })
        .collect();
    write_json(
        &out.join("retrieval.json"),
        &json!({"split": config.retrieval_split, "rows": rj}),
    )?;
    let mut cols = vec![
        (
            "adapter",
            Column::Str(retrieval.iter().map(|(s, _)| s.clone()).collect()),
        ),
        (
            "direction",
            Column::Str(retrieval.iter().map(|(_, r)| r.direction.clone()).collect()),
        ),
        (
            "queries",
            Column::I64(retrieval.iter().map(|(_, r)| r.queries as i64).collect()),
        ),
        (
            "gallery",
            Column::I64(retrieval.iter().map(|(_, r)| r.gallery as i64).collect()),
        ),
    ];
    let names: Vec<String> = config
        .retrieval_ks
        .iter()
        .map(|k| format!("recall_at_{k}"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        cols.push((
            name.as_str(),
            Column::F64(retrieval.iter().map(|(_, r)| r.recall[i].1).collect()),
        ));
    }
    cols.push((
        "median_rank",
        Column::F64(retrieval.iter().map(|(_, r)| r.median_rank).collect()),
    ));
    cols.push((
        "mean_rank",
        Column::F64(retrieval.iter().map(|(_, r)| r.mean_rank).collect()),
    ));
    table::write(&out.join("retrieval.parquet"), cols)?;
    Ok(ProbeSummary { probe, retrieval })
}
