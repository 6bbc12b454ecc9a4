//! Training rows from the cached features: for each image–caption pair, the row of its image in
//! `features:image`, of its caption in `features:text`, and of its image in `features:reference`.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::dataset::Split;
use crate::dataset::ingest::IngestArtifact;
use crate::error::{Error, Result};
use crate::features::{FeatureMatrix, FeaturesArtifact};

#[derive(Debug, Clone)]
pub struct PairRow {
    pub record_id: String,
    pub image_id: String,
    pub split: Split,
    pub image_row: usize,
    pub text_row: usize,
    pub reference_row: usize,
}

pub struct TrainingData {
    pub image: FeatureMatrix,
    pub text: FeatureMatrix,
    pub reference: FeatureMatrix,
    pub pairs: Vec<PairRow>,
    /// Image ids in `image` row order (for writing aligned image embeddings).
    pub image_ids: Vec<String>,
    pub image_splits: Vec<String>,
    pub image_sources: Vec<String>,
    /// The split is the dataset's own, not ingest's seeded one (the protocol reports say so).
    pub dataset_split: bool,
}

fn ids(dir: &Path) -> Result<Vec<String>> {
    FeaturesArtifact::at(dir)
        .read_columns(&["id"])?
        .strings("id")
}

fn index(ids: &[String]) -> HashMap<String, usize> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), i))
        .collect()
}

impl TrainingData {
    pub fn open(
        ingest_dir: &Path,
        image: &Path,
        text: &Path,
        reference: &Path,
    ) -> Result<TrainingData> {
        let ingest = IngestArtifact::at(ingest_dir);
        let records = ingest.read_records()?;
        let dataset_split = ingest.read_summary()?.dataset_split;
        // The image table's metadata is read once (its vectors are mapped, not read): its ids
        // index the rows, its split and source columns describe the aligned image embeddings
        // written later.
        let images = FeaturesArtifact::at(image).read_columns(&["id", "split", "source"])?;
        let image_ids = images.strings("id")?;
        let (img_ix, txt_ix, ref_ix) = (
            index(&image_ids),
            index(&ids(text)?),
            index(&ids(reference)?),
        );
        let missing = |what: &str, id: &str, dir: &Path| Error::Invalid {
            what: dir.display().to_string(),
            message: format!(
                "no {what} features for `{id}`: features and ingest artifacts disagree"
            ),
        };
        let mut pairs = Vec::with_capacity(records.len());
        for r in &records {
            pairs.push(PairRow {
                record_id: r.id.clone(),
                image_id: r.image_id.clone(),
                split: r.split,
                image_row: *img_ix
                    .get(&r.image_id)
                    .ok_or_else(|| missing("image", &r.image_id, image))?,
                text_row: *txt_ix
                    .get(&r.id)
                    .ok_or_else(|| missing("text", &r.id, text))?,
                reference_row: *ref_ix
                    .get(&r.image_id)
                    .ok_or_else(|| missing("reference", &r.image_id, reference))?,
            });
        }
        Ok(TrainingData {
            image: FeatureMatrix::open(image)?,
            text: FeatureMatrix::open(text)?,
            reference: FeatureMatrix::open(reference)?,
            pairs,
            image_splits: images.strings("split")?,
            image_sources: images.strings("source")?,
            image_ids,
            dataset_split,
        })
    }
}

/// The features of some pairs as tensors: image, caption and reference rows, one per pair.
pub struct Batch<B: Backend> {
    pub image: Tensor<B, 2>,
    pub text: Tensor<B, 2>,
    pub reference: Tensor<B, 2>,
}

impl<B: Backend> Batch<B> {
    pub fn gather(data: &TrainingData, rows: &[&PairRow], device: &B::Device) -> Batch<B> {
        let n = rows.len();
        let of = |m: &FeatureMatrix, pick: fn(&PairRow) -> usize| {
            tensor(gather(m, rows.iter().map(|r| pick(r))), n, m.dim(), device)
        };
        Batch {
            image: of(&data.image, |r| r.image_row),
            text: of(&data.text, |r| r.text_row),
            reference: of(&data.reference, |r| r.reference_row),
        }
    }
}

/// A `[rows, dim]` tensor of row-major `values`.
pub fn tensor<B: Backend>(
    values: Vec<f32>,
    rows: usize,
    dim: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(values, [rows, dim]), device)
}

/// Rows `rows` of `m`, row-major.
pub fn gather(m: &FeatureMatrix, rows: impl Iterator<Item = usize>) -> Vec<f32> {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(m.row(r));
    }
    out
}
