//! Pooling token states `[B, T, D]` into one vector per row `[B, D]`.
//!
//! - `cls`: token 0 (BERT/DistilBERT/DINOv2 convention);
//! - `mean`: the attention-masked mean, Σ_t m_t·h_t / max(Σ_t m_t, 1e-9), as
//!   sentence-transformers computes it (all-MiniLM-L6-v2 was trained with it);
//! - `none`: the model already returns `[B, D]`.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Cls,
    Mean,
    None,
}

/// Token 0 of every row.
pub fn cls(hidden: ArrayView3<f32>) -> Array2<f32> {
    hidden.index_axis(Axis(1), 0).to_owned()
}

/// Attention-masked mean over tokens. `mask` is `[B, T]` with 1 for real tokens.
pub fn masked_mean(hidden: ArrayView3<f32>, mask: ArrayView2<i64>) -> Array2<f32> {
    let (b, t, d) = hidden.dim();
    let mut out = Array2::<f32>::zeros((b, d));
    for row in 0..b {
        let mut count = 0.0f32;
        let mut acc = out.row_mut(row);
        for tok in 0..t {
            let m = mask[[row, tok]] as f32;
            if m != 0.0 {
                acc.scaled_add(m, &hidden.slice(ndarray::s![row, tok, ..]));
                count += m;
            }
        }
        acc /= count.max(1e-9);
    }
    out
}
