//! Training rows from the cached features: for each image–caption pair, the row of its image in
//! `features:image`, of its caption in `features:text`, and of its image in `features:reference`.

use std::collections::HashMap;
use std::path::Path;

use crate::dataset::Split;
use crate::dataset::ingest;
use crate::error::{Error, Result};
use crate::features::FeatureMatrix;
use crate::features::output::PARQUET;
use crate::table::Table;

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
}

fn ids(dir: &Path) -> Result<Vec<String>> {
    Table::read(&dir.join(PARQUET))?.strings("id")
}

fn index(dir: &Path) -> Result<HashMap<String, usize>> {
    Ok(ids(dir)?
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect())
}

impl TrainingData {
    pub fn open(
        ingest_dir: &Path,
        image: &Path,
        text: &Path,
        reference: &Path,
    ) -> Result<TrainingData> {
        let records = ingest::read_manifest(ingest_dir)?;
        let (img_ix, txt_ix, ref_ix) = (index(image)?, index(text)?, index(reference)?);
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
        let t = Table::read(&image.join(PARQUET))?;
        Ok(TrainingData {
            image: FeatureMatrix::open(image)?,
            text: FeatureMatrix::open(text)?,
            reference: FeatureMatrix::open(reference)?,
            pairs,
            image_ids: t.strings("id")?,
            image_splits: t.strings("split")?,
            image_sources: t.strings("source")?,
        })
    }
}

/// Rows `rows` of `m`, row-major.
pub fn gather(m: &FeatureMatrix, rows: impl Iterator<Item = usize>) -> Vec<f32> {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(m.row(r));
    }
    out
}
