//! A model's outputs for one batch, pooled into the rows an encoder stores.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array2, ArrayD, Axis, Ix2, Ix3};

use crate::error::{Error, Result};
use crate::features::output::LayerSlice;
use crate::pooling::{self, Pooling};

/// Pools every output read into one `[B, ΣD]` block, side by side in `layers` order.
pub(super) fn pool_all(
    out: &HashMap<String, ArrayD<f32>>,
    layers: &[LayerSlice],
    pooling: Pooling,
    mask: Option<&Array2<i64>>,
    path: &Path,
) -> Result<Array2<f32>> {
    if let [only] = layers {
        return pool(&out[&only.name], pooling, mask, path);
    }
    let pooled = layers
        .iter()
        .map(|l| pool(&out[&l.name], pooling, mask, path))
        .collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = pooled.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(1), &views).map_err(|e| Error::Signature {
        path: path.to_path_buf(),
        message: format!("layers of different batch sizes: {e}"),
    })
}

/// Pools the model's output into `[B, D]`.
fn pool(
    out: &ArrayD<f32>,
    pooling: Pooling,
    mask: Option<&Array2<i64>>,
    path: &Path,
) -> Result<Array2<f32>> {
    let shape_err = |want: &str| Error::Signature {
        path: path.to_path_buf(),
        message: format!("output has shape {:?}, expected {want}", out.shape()),
    };
    Ok(match pooling {
        Pooling::None => out
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|_| shape_err("[B, D]"))?
            .to_owned(),
        Pooling::Cls => pooling::cls(
            out.view()
                .into_dimensionality::<Ix3>()
                .map_err(|_| shape_err("[B, T, D]"))?,
        ),
        Pooling::Mean => {
            let h = out
                .view()
                .into_dimensionality::<Ix3>()
                .map_err(|_| shape_err("[B, T, D]"))?;
            let ones;
            let mask = match mask {
                Some(m) => m.view(),
                None => {
                    ones = Array2::<i64>::ones((h.dim().0, h.dim().1));
                    ones.view()
                }
            };
            pooling::masked_mean(h, mask)
        }
    })
}
