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

pub mod config;
pub mod results;

use std::path::Path;

use ndarray::Array2;

use crate::dataset::split::rank;
use crate::error::{Error, Result};
use crate::evaluate::logistic::LogisticModel;
use crate::evaluate::retrieval;
use crate::evaluate::rows;
use crate::features::{FeatureMatrix, FeaturesArtifact};
use crate::spaces::{Modality, SpaceName, Weights};
use crate::train::TrainArtifact;
use crate::train::data::TrainingData;
use crate::train::inference::TrainedAdapters;

pub use config::ProbeConfig;
pub use results::{ProbeArtifact, ProbeFile, ProbeResults, ProbeRow, RetrievalFile, RetrievalRow};

/// Rows of one feature set, as an f64 matrix.
type RowsOf<'a> = Box<dyn Fn(&[usize]) -> Array2<f64> + 'a>;

struct ProbeSet {
    labels: Vec<i64>,
    splits: Vec<String>,
    ids: Vec<String>,
    matrix: FeatureMatrix,
}

fn open_probe(dir: &Path) -> Result<ProbeSet> {
    let features = FeaturesArtifact::at(dir);
    let t = features.read_columns(&["label", "split", "id"])?;
    Ok(ProbeSet {
        labels: t.i64s("label")?,
        splits: t.strings("split")?,
        ids: t.strings("id")?,
        matrix: features.open_matrix()?,
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

/// The linear probe and retrieval for the `train` artifact's adapters, into `out`.
pub fn run(
    config: &ProbeConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    probe_image: &Path,
    probe_reference: &Path,
    out: &ProbeArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ProbeResults> {
    let (classes, rows) =
        linear_probe(config, data, train, probe_image, probe_reference, progress)?;
    progress("retrieval");
    let results = ProbeResults {
        probe: ProbeFile {
            settings: config.clone(),
            classes,
            rows,
        },
        retrieval: RetrievalFile {
            split: config.retrieval_split.clone(),
            rows: retrieval_rows(config, data, train)?,
        },
    };
    out.write(&results)?;
    Ok(results)
}

/// The probe's class count and one row per feature set: image, aligned image, reference.
fn linear_probe(
    config: &ProbeConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    probe_image: &Path,
    probe_reference: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(usize, Vec<ProbeRow>)> {
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

    let aligned = aligned_images(train, data, &img.matrix)?;
    let sets: [(SpaceName, RowsOf); 3] = [
        (
            SpaceName::Image,
            Box::new(|r: &[usize]| rows::matrix(&img.matrix, r.iter().copied())),
        ),
        (
            SpaceName::AlignedImage,
            Box::new(|r: &[usize]| aligned.select(ndarray::Axis(0), r)),
        ),
        (
            SpaceName::Reference,
            Box::new(|r: &[usize]| rows::matrix(&refr.matrix, r.iter().copied())),
        ),
    ];
    let mut probe = Vec::new();
    for (name, get) in &sets {
        progress(&format!("probe: {name}"));
        let (x, xt) = (get(&train_rows), get(&test_rows));
        let model = LogisticModel::fit(&x, &y_train, classes, config.epochs, config.l2);
        probe.push(ProbeRow {
            features: *name,
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
    Ok((classes, probe))
}

/// Every probe image through the trained image adapter.
fn aligned_images(
    train: &TrainArtifact,
    data: &TrainingData,
    images: &FeatureMatrix,
) -> Result<Array2<f64>> {
    let adapters = TrainedAdapters::load(train, data.image.dim(), data.text.dim())?;
    let rows = images.rows();
    let projected = adapters.project_image(crate::train::data::gather(images, 0..rows), rows)?;
    Array2::from_shape_vec(
        (rows, adapters.d_embed),
        projected.into_iter().map(f64::from).collect(),
    )
    .map_err(|e| Error::Invalid {
        what: train.dir().display().to_string(),
        message: format!(
            "the image adapter's output is not {rows} rows x {} (the width of the aligned images): {e}",
            adapters.d_embed
        ),
    })
}

/// Image ↔ text retrieval on the configured split, for the trained and the untrained adapters.
fn retrieval_rows(
    config: &ProbeConfig,
    data: &TrainingData,
    train: &TrainArtifact,
) -> Result<Vec<RetrievalRow>> {
    let split = config.retrieval_split()?;
    let mut pairs: Vec<_> = data.pairs.iter().filter(|p| p.split == split).collect();
    pairs.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    let image_ids: Vec<&str> = pairs.iter().map(|p| p.image_id.as_str()).collect();
    let mut out = Vec::new();
    for weights in Weights::ALL.iter().copied() {
        let im: FeatureMatrix = train.open_embeddings(weights, Modality::Image)?;
        let tx: FeatureMatrix = train.open_embeddings(weights, Modality::Text)?;
        let images = rows::matrix(&im, pairs.iter().map(|p| p.image_row));
        let texts = rows::matrix(&tx, pairs.iter().map(|p| p.text_row));
        for r in retrieval::of_pairs(&images, &texts, &image_ids, &config.retrieval_ks) {
            out.push(RetrievalRow {
                adapter: weights,
                retrieval: r,
            });
        }
    }
    Ok(out)
}
