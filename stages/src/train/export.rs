//! The adapters' embeddings of every image (rows as in `features:image`) and every caption (rows
//! as in `features:text`), written into the train artifact in the features layout (.npy +
//! Parquet): under the initialised weights before training, under the trained ones after.

use std::path::Path;

use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::features::FeatureMatrix;
use crate::features::output::{self, RowMeta};
use crate::features::shards::ShardWriter;
use crate::spaces::{Modality, Weights};
use crate::train::artifact::TrainArtifact;
use crate::train::data::{PairRow, TrainingData, gather, tensor};
use crate::train::model::AlignModel;
use crate::train::ops::AdapterOps;

/// The final weights of both adapters (Burn's MessagePack record).
pub fn write_model<B: burn::tensor::backend::Backend>(
    model: &AlignModel<B>,
    artifact: &TrainArtifact,
) -> Result<()> {
    use burn::module::Module;
    use burn::record::Recorder;
    crate::train::checkpoint::recorder()
        .record(model.clone().into_record(), artifact.model())
        .map_err(|e| crate::train::checkpoint::burn_err(artifact.dir(), e))
}

/// Rows per forward pass.
const CHUNK: usize = 1024;

/// Both adapters' embeddings of every image and caption, as the `weights` embeddings.
pub fn write_embeddings<B: AdapterOps>(
    model: &AlignModel<B>,
    data: &TrainingData,
    artifact: &TrainArtifact,
    weights: Weights,
) -> Result<()> {
    let img_dir = artifact.embeddings(weights, Modality::Image);
    project(&data.image, &|x| model.image.forward(x), &img_dir)?;
    let meta: Vec<RowMeta> = (0..data.image_ids.len())
        .map(|i| RowMeta {
            id: data.image_ids[i].clone(),
            image_id: data.image_ids[i].clone(),
            split: data.image_splits[i].clone(),
            source: data.image_sources[i].clone(),
        })
        .collect();
    output::write_parquet(&img_dir, &meta, &FeatureMatrix::open(&img_dir)?)?;

    let txt_dir = artifact.embeddings(weights, Modality::Text);
    project(&data.text, &|x| model.text.forward(x), &txt_dir)?;
    let mut by_row: Vec<Option<&PairRow>> = vec![None; data.text.rows()];
    for p in &data.pairs {
        by_row[p.text_row] = Some(p);
    }
    let meta: Vec<RowMeta> = by_row
        .iter()
        .map(|p| match p {
            Some(p) => RowMeta {
                id: p.record_id.clone(),
                image_id: p.image_id.clone(),
                split: p.split.as_str().into(),
                source: String::new(),
            },
            None => RowMeta {
                id: String::new(),
                image_id: String::new(),
                split: String::new(),
                source: String::new(),
            },
        })
        .collect();
    output::write_parquet(&txt_dir, &meta, &FeatureMatrix::open(&txt_dir)?)?;
    Ok(())
}

/// `f` over every row of `m`, in chunks, into `.npy` shards in `out`.
fn project<B: AdapterOps>(
    m: &FeatureMatrix,
    f: &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    out: &Path,
) -> Result<()> {
    let device = Default::default();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut writer: Option<ShardWriter> = None;
    let mut dim = 0;
    for start in (0..m.rows()).step_by(CHUNK) {
        let end = (start + CHUNK).min(m.rows());
        let x = tensor::<B>(gather(m, start..end), end - start, m.dim(), &device);
        let y = f(x);
        dim = y.dims()[1];
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(ShardWriter::open(out, m.rows(), dim, m.rows().max(1))?.0),
        };
        let values = y
            .into_data()
            .into_vec::<f32>()
            .map_err(|e| Error::Invalid {
                what: out.display().to_string(),
                message: format!("adapter output: {e:?}"),
            })?;
        w.append(&values)?;
    }
    match writer {
        Some(w) => w.finish()?,
        None => ShardWriter::open(out, 0, dim.max(1), 1)?.0.finish()?,
    };
    Ok(())
}
