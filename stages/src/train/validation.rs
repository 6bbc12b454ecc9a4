//! Validation after each epoch, without dropout: the loss and its parts on the validation pairs
//! (in training-sized batches),
//! and retrieval R@1 in both directions (the probe stage's definition,
//! [`crate::metrics::retrieval::of_pairs`]: each image once, at its first pair).

use burn::tensor::{ElementConversion, Tensor};
use ndarray::Array2;

use crate::error::{Error, Result};
use crate::metrics::retrieval;
use crate::train::config::TrainConfig;
use crate::train::data::{Batch, PairRow, TrainingData};
use crate::train::loss;
use crate::train::model::AlignModel;
use crate::train::ops::AdapterOps;

/// One validation pass; NaN everywhere when there are no validation pairs.
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    pub loss: f64,
    pub contrastive: f64,
    pub variance: f64,
    pub r1_i2t: f64,
    pub r1_t2i: f64,
}

impl Validation {
    const NOT_MEASURED: Validation = Validation {
        loss: f64::NAN,
        contrastive: f64::NAN,
        variance: f64::NAN,
        r1_i2t: f64::NAN,
        r1_t2i: f64::NAN,
    };
}

fn scalar<B: burn::tensor::backend::Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// The rows of a `[n, d]` tensor as f32: the adapters' outputs exactly (retrieval converts
/// them to f64 a block at a time), half the memory of f64 rows.
fn host<B: burn::tensor::backend::Backend>(t: Tensor<B, 2>) -> Result<Array2<f32>> {
    let [n, d] = t.dims();
    let values = t
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| Error::Invalid {
            what: "validation embeddings".into(),
            message: format!("{e:?}"),
        })?;
    Array2::from_shape_vec((n, d), values).map_err(|e| Error::Invalid {
        what: "validation embeddings".into(),
        message: e.to_string(),
    })
}

/// The loss and its parts over batches of `batch_size` validation pairs, as training sees
/// them (weighted by batch size; exactly the one batch's values when the set fits in one), and
/// R@1 over the whole set. Memory is one batch's logits and the val embeddings as the
/// adapters give them (f32, each image once), never n x n and never an f64 copy.
pub fn validate<B: AdapterOps>(
    model: &AlignModel<B>,
    data: &TrainingData,
    val: &[&PairRow],
    config: &TrainConfig,
    device: &B::Device,
) -> Result<Validation> {
    if val.is_empty() {
        return Ok(Validation::NOT_MEASURED);
    }
    // Retrieval's rows, written in place batch by batch: every caption, and each image once
    // (at its first pair), so validation holds one copy of the val embeddings, not the
    // batches' pieces and their concatenation.
    let ids: Vec<&str> = val.iter().map(|p| p.image_id.as_str()).collect();
    let gallery = retrieval::Gallery::of(&ids);
    let mut image_slot = vec![None; val.len()];
    for (slot, &t) in gallery.first_rows.iter().enumerate() {
        image_slot[t] = Some(slot);
    }
    let mut parts_of_batches: Vec<([f64; 3], f64)> = Vec::new();
    let (mut images, mut texts): (Option<Array2<f32>>, Option<Array2<f32>>) = (None, None);
    let batch = config.batch_size.max(1);
    for (c, chunk) in val.chunks(batch).enumerate() {
        let b: Batch<B> = Batch::gather(data, chunk, device);
        let a = model.image.forward(b.image);
        let t = model.text.forward(b.text);
        let parts = loss::of_config(a.clone(), t.clone(), b.reference, config);
        parts_of_batches.push((
            [
                scalar(parts.total),
                scalar(parts.contrastive),
                scalar(parts.variance),
            ],
            chunk.len() as f64,
        ));
        let (a, t) = (host(a)?, host(t)?);
        let images =
            images.get_or_insert_with(|| Array2::zeros((gallery.first_rows.len(), a.ncols())));
        let texts = texts.get_or_insert_with(|| Array2::zeros((val.len(), t.ncols())));
        for r in 0..chunk.len() {
            let row = c * batch + r;
            texts.row_mut(row).assign(&t.row(r));
            if let Some(slot) = image_slot[row] {
                images.row_mut(slot).assign(&a.row(r));
            }
        }
    }
    let mean = |i: usize| match parts_of_batches.as_slice() {
        [(one, _)] => one[i],
        all => {
            all.iter().map(|(v, w)| v[i] * w).sum::<f64>() / all.iter().map(|(_, w)| w).sum::<f64>()
        }
    };
    let (images, texts) = (
        images.expect("val is not empty"),
        texts.expect("val is not empty"),
    );
    let [i2t, t2i] = retrieval::evaluate_rows(images.view(), texts.view(), &gallery.owner, &[1]);
    Ok(Validation {
        loss: mean(0),
        contrastive: mean(1),
        variance: mean(2),
        r1_i2t: i2t.recall_at(1).unwrap_or(f64::NAN),
        r1_t2i: t2i.recall_at(1).unwrap_or(f64::NAN),
    })
}
