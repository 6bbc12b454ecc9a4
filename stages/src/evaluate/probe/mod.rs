//! The `probe:<name>` computation.
//!
//! 1. Downstream linear probe: the probe set (Fashion-MNIST by default) through the image
//!    encoder, the image encoder + trained image adapter, and the reference encoder; a
//!    multinomial logistic regression ([`crate::evaluate::logistic`]) trained on the probe's
//!    train split, accuracy on its test split, and each accuracy's ratio to the reference's.
//! 2. Zero-shot classification of the probe set's test images ([`crate::evaluate::zero_shot`]):
//!    the class-name prompts (`features:probe-prompts`) through the text adapter, the images
//!    through the image adapter, for the trained adapters and the untrained ones, against chance.
//! 3. Image ↔ text retrieval on the evaluation split ([`crate::metrics::retrieval`]) for the
//!    trained adapters and the untrained ones (the floor).
//!
//! Outputs: probe.json / probe.parquet, zero_shot.json / zero_shot.parquet, retrieval.json /
//! retrieval.parquet.

pub mod config;
pub mod results;
pub mod set;

use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::evaluate::rows;
use crate::evaluate::zero_shot;
use crate::features::{FeatureMatrix, FeaturesArtifact};
use crate::metrics::retrieval;
use crate::spaces::{Modality, SpaceName, Weights};
use crate::train::TrainArtifact;
use crate::train::data::{TrainingData, gather};
use crate::train::inference::TrainedAdapters;

pub use config::{LinearProbeSettings, ProbeConfig};
pub use results::{
    ProbeArtifact, ProbeFile, ProbeResults, ProbeRow, RetrievalFile, RetrievalRow, ZeroShotFile,
    ZeroShotRow,
};
pub use set::{ProbeFit, ProbeRows, ProbeSet};

/// Rows of one feature set, as an f64 matrix.
type RowsOf<'a> = Box<dyn Fn(&[usize]) -> Array2<f64> + 'a>;

/// The feature artifacts the probe reads: the probe set through the image and the reference
/// encoders, and the zero-shot prompts through the text encoder.
pub struct ProbeInputs<'a> {
    pub image: &'a Path,
    pub reference: &'a Path,
    pub prompts: &'a Path,
}

/// The linear probe, zero-shot classification and retrieval for the `train` artifact's
/// adapters, into `out`.
pub fn run(
    config: &ProbeConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    inputs: &ProbeInputs,
    out: &ProbeArtifact,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ProbeResults> {
    let img = ProbeSet::open(inputs.image)?;
    let trained = TrainedAdapters::of(train, Weights::Trained, data)?;
    let (classes, rows) = linear_probe(config, &img, &trained, inputs, progress)?;
    progress("zero-shot classification");
    let zero_shot = zero_shot_rows(config, data, train, &img, trained, inputs, progress)?;
    progress("retrieval");
    let results = ProbeResults {
        probe: ProbeFile {
            settings: config.clone(),
            classes,
            rows,
        },
        retrieval: RetrievalFile {
            split: config.retrieval_split.clone(),
            dataset_split: data.dataset_split,
            rows: retrieval_rows(config, data, train)?,
        },
        zero_shot,
    };
    out.write(&results)?;
    Ok(results)
}

/// The probe's class count and one row per feature set: image, aligned image, reference.
fn linear_probe(
    config: &ProbeConfig,
    img: &ProbeSet,
    trained: &TrainedAdapters,
    inputs: &ProbeInputs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(usize, Vec<ProbeRow>)> {
    let refr = ProbeSet::open(inputs.reference)?;
    img.same_rows(&refr)?;
    let settings = config.linear();
    let picked = ProbeRows::of(img, &settings)?;

    let every_row: Vec<usize> = (0..img.matrix.rows()).collect();
    let aligned = projected(trained, Modality::Image, &img.matrix, &every_row)?;
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
        let (x, xt) = (get(&picked.train), get(&picked.test));
        let fit = picked.fit(&x, &xt, &settings);
        probe.push(ProbeRow {
            features: *name,
            dim: x.ncols(),
            train_rows: x.nrows(),
            test_rows: xt.nrows(),
            train_accuracy: fit.train_accuracy,
            test_accuracy: fit.test_accuracy,
            ratio_to_reference: f64::NAN,
        });
    }
    let reference_acc = probe.last().map_or(f64::NAN, |r| r.test_accuracy);
    for row in &mut probe {
        row.ratio_to_reference = row.test_accuracy / reference_acc;
    }
    Ok((picked.classes, probe))
}

/// Rows `rows` of `matrix` through the `modality` adapter of `adapters`, as f64.
fn projected(
    adapters: &TrainedAdapters,
    modality: Modality,
    matrix: &FeatureMatrix,
    rows: &[usize],
) -> Result<Array2<f64>> {
    let values = gather(matrix, rows.iter().copied());
    let out = match modality {
        Modality::Image => adapters.project_image(values, rows.len())?,
        Modality::Text => adapters.project_text(values, rows.len())?,
    };
    let n = rows.len();
    let out = Array2::from_shape_vec((n, adapters.d_embed), out).map_err(|e| Error::Invalid {
        what: format!("the {} adapter", modality.as_str()),
        message: format!(
            "its output is not {n} rows x {} (the width of the aligned space): {e}",
            adapters.d_embed
        ),
    })?;
    Ok(out.mapv(f64::from))
}

/// Zero-shot top-1 and top-5 accuracy on the probe set's test rows, for the trained and the
/// untrained adapters.
fn zero_shot_rows(
    config: &ProbeConfig,
    data: &TrainingData,
    train: &TrainArtifact,
    img: &ProbeSet,
    trained: TrainedAdapters,
    inputs: &ProbeInputs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ZeroShotFile> {
    let prompts = FeaturesArtifact::at(inputs.prompts);
    let t = prompts.read_columns(&["label", "image_id", "source"])?;
    let (labels, names, texts) = (
        t.i64s("label")?,
        t.strings("image_id")?,
        t.strings("source")?,
    );
    let matrix = prompts.open_matrix()?;
    let invalid = |message: String| Error::Invalid {
        what: inputs.prompts.display().to_string(),
        message,
    };
    if matrix.dim() != data.text.dim() {
        return Err(invalid(format!(
            "the prompts are {}-d features, but the text adapter takes the text encoder's {}-d: \
             the prompts went through another encoder",
            matrix.dim(),
            data.text.dim()
        )));
    }
    let labels: Vec<usize> = labels
        .iter()
        .map(|&l| usize::try_from(l).map_err(|_| invalid(format!("negative label {l}"))))
        .collect::<Result<_>>()?;
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut class_names = vec![String::new(); classes];
    for (&l, name) in labels.iter().zip(&names) {
        class_names[l].clone_from(name);
    }
    let test_rows = img.pick("test", config.probe_test_samples, config.seed);
    let y_test = img.labels_of(&test_rows)?;
    if let Some(&y) = y_test.iter().find(|&&y| y >= classes) {
        return Err(invalid(format!(
            "prompts for {classes} classes, but the probe set's test images have label {y}"
        )));
    }
    let all_prompts: Vec<usize> = (0..labels.len()).collect();
    let mut rows = Vec::new();
    let untrained = TrainedAdapters::of(train, Weights::Untrained, data)?;
    for (weights, adapters) in [(Weights::Trained, trained), (Weights::Untrained, untrained)] {
        progress(&format!("zero-shot: {weights} adapters"));
        let text = projected(&adapters, Modality::Text, &matrix, &all_prompts)?;
        let images = projected(&adapters, Modality::Image, &img.matrix, &test_rows)?;
        let class_rows = zero_shot::class_embeddings(text.view(), &labels, classes);
        let acc = zero_shot::top_k_accuracy(images.view(), class_rows.view(), &y_test, &[1, 5]);
        rows.push(ZeroShotRow {
            adapter: weights,
            classes,
            test_rows: test_rows.len(),
            top1: acc[0].1,
            top5: acc[1].1,
            chance_top1: zero_shot::chance(1, classes),
            chance_top5: zero_shot::chance(5, classes),
        });
    }
    Ok(ZeroShotFile {
        class_names,
        prompts: texts,
        rows,
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
    if pairs.is_empty() {
        return Err(rows::empty_split("[probe] retrieval_split", split, data));
    }
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
