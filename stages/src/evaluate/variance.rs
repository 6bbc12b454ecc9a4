//! The research's distribution-matching metric, as its training loss defines it: the mean over
//! dimensions of the squared difference between the per-dimension variances (unbiased, over
//! rows) of the adapter's output and of the reference features. When the widths differ, the
//! squared difference of the mean variances.

use ndarray::{Array2, Axis};

pub fn variance_difference(a: &Array2<f64>, reference: &Array2<f64>) -> f64 {
    let va = a.var_axis(Axis(0), 1.0);
    let vr = reference.var_axis(Axis(0), 1.0);
    if va.len() == vr.len() {
        (&va - &vr).mapv(|d| d * d).mean().unwrap_or(f64::NAN)
    } else {
        let d = va.mean().unwrap_or(f64::NAN) - vr.mean().unwrap_or(f64::NAN);
        d * d
    }
}

/// Mean cosine similarity between distinct rows: why the uncentred kernel alignment moves the
/// way it does (contrastively trained embeddings spread out to a mean cosine near 0, DINOv2's
/// CLS tokens share a large common direction).
pub fn mean_pairwise_cosine(x: &Array2<f64>) -> f64 {
    let n = x.nrows();
    if n < 2 {
        return f64::NAN;
    }
    let u = crate::metrics::space::l2_normalise(x.clone());
    // Σ_{i≠j} uᵢ·uⱼ = |Σ uᵢ|² − Σ |uᵢ|²
    let s = u.sum_axis(Axis(0));
    let diag: f64 = u.outer_iter().map(|r| r.dot(&r)).sum();
    (s.dot(&s) - diag) / (n * (n - 1)) as f64
}
