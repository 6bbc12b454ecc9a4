//! Validation after each epoch, without dropout: the loss and its parts on the validation pairs,
//! and retrieval R@1 in both directions (the probe stage's definition,
//! [`crate::evaluate::retrieval::of_pairs`]).

use burn::tensor::{ElementConversion, Tensor};
use ndarray::Array2;

use crate::error::{Error, Result};
use crate::evaluate::retrieval;
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

/// The rows of a `[n, d]` tensor as f64.
fn host<B: burn::tensor::backend::Backend>(t: Tensor<B, 2>) -> Result<Array2<f64>> {
    let [n, d] = t.dims();
    let values = t
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .map_err(|e| Error::Invalid {
            what: "validation embeddings".into(),
            message: format!("{e:?}"),
        })?;
    Array2::from_shape_vec((n, d), values).map_err(|e| Error::Invalid {
        what: "validation embeddings".into(),
        message: e.to_string(),
    })
}

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
    let b: Batch<B> = Batch::gather(data, val, device);
    let a = model.image.forward(b.image);
    let t = model.text.forward(b.text);
    let parts = loss::of_config(a.clone(), t.clone(), b.reference, config);
    let image_ids: Vec<&str> = val.iter().map(|p| p.image_id.as_str()).collect();
    let [i2t, t2i] = retrieval::of_pairs(&host(a)?, &host(t)?, &image_ids, &[1]);
    Ok(Validation {
        loss: scalar(parts.total),
        contrastive: scalar(parts.contrastive),
        variance: scalar(parts.variance),
        r1_i2t: i2t.recall_at(1).unwrap_or(f64::NAN),
        r1_t2i: t2i.recall_at(1).unwrap_or(f64::NAN),
    })
}
