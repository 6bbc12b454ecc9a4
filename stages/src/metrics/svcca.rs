//! SVCCA (Raghu et al. 2017) as the reference computes it: centre and scale each column
//! (std with ddof 1, + 1e-8), keep the top `cca_dim` left singular vectors U, run CCA between
//! the two U's with `cca_dim` components, and average the canonical correlations.
//!
//! The reference uses `torch.svd_lowrank` (randomised) and scikit-learn's iterative CCA; we use
//! an exact SVD (eigenvectors of the smaller Gram matrix) and the exact CCA: U's columns are
//! orthonormal and centred, so the canonical correlations are the singular values of U₁ᵀU₂.

use ndarray::{Array2, ArrayView2, Axis};

use crate::metrics::{eigen, linear};

/// The top `k` left singular vectors (n x k) of the standardised `x`.
pub fn basis(x: ArrayView2<f64>, k: usize) -> Array2<f64> {
    let (n, d) = x.dim();
    let mean = x.mean_axis(Axis(0)).expect("at least one row");
    let mut a = &x - &mean;
    for mut col in a.columns_mut() {
        let var = col.dot(&col) / (n as f64 - 1.0).max(1.0);
        let sd = var.sqrt() + 1e-8;
        col.mapv_inplace(|v| v / sd);
    }
    if d <= n {
        // Right singular vectors from AᵀA (d x d), then U = A V / σ.
        let (values, v) = eigen::top(&linear::cross(a.view(), a.view()), k);
        let mut u = a.dot(&v);
        for (j, mut col) in u.columns_mut().into_iter().enumerate() {
            let sigma = values[j].max(0.0).sqrt().max(1e-300);
            col.mapv_inplace(|x| x / sigma);
        }
        u
    } else {
        eigen::top(&linear::cross(a.t(), a.t()), k).1
    }
}

/// Mean canonical correlation between the column spaces of two orthonormal bases.
pub fn from_bases(u1: &Array2<f64>, u2: &Array2<f64>) -> f64 {
    let m = u1.t().dot(u2);
    let (values, _) = eigen::jacobi(&m.t().dot(&m));
    let k = values.len().max(1) as f64;
    values
        .iter()
        .map(|l| l.max(0.0).sqrt().min(1.0))
        .sum::<f64>()
        / k
}
