//! SVCCA (Raghu et al. 2017) as the reference computes it: centre and scale each column
//! (std with ddof 1, + 1e-8), keep the top `cca_dim` left singular vectors U, run CCA between
//! the two U's with `cca_dim` components, and average the canonical correlations.
//!
//! The reference uses `torch.svd_lowrank` (randomised) and scikit-learn's iterative CCA; we use
//! an exact SVD (eigenvectors of the smaller Gram matrix) and the exact CCA: U's columns are
//! orthonormal and centred, so the canonical correlations are the singular values of U₁ᵀU₂.

use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use crate::linalg::matmul_into;
use crate::{eigen, linear};

/// Rows standardised a block at a time: each block a copy, never all n rows (a second n x d
/// matrix at tens of thousands of rows).
const BLOCK_ROWS: usize = 4096;

/// Column means and standard deviations (ddof 1, + 1e-8), two passes over the rows.
fn column_scales(x: ArrayView2<f64>) -> (Array1<f64>, Array1<f64>) {
    let n = x.nrows();
    let mean = x.mean_axis(Axis(0)).expect("at least one row");
    let mut var = Array1::<f64>::zeros(x.ncols());
    for row in x.outer_iter() {
        var.zip_mut_with(&(&row - &mean), |s, &c| *s += c * c);
    }
    let sd = var.mapv(|v| (v / (n as f64 - 1.0).max(1.0)).sqrt() + 1e-8);
    (mean, sd)
}

/// Rows `start..end` of `x`, standardised.
fn standardised(
    x: ArrayView2<f64>,
    start: usize,
    end: usize,
    mean: &Array1<f64>,
    sd: &Array1<f64>,
) -> Array2<f64> {
    (&x.slice(s![start..end, ..]) - mean) / sd
}

/// The top `k` left singular vectors (n x k) of the standardised `x`. With d ≤ n: the right
/// singular vectors from AᵀA (d x d, summed a block of rows at a time), then U = A·V/σ a block
/// at a time; O(n·d²) time, O(d² + block·d) memory besides x. With d > n: eigenvectors of AAᵀ
/// (n x n).
pub fn basis(x: ArrayView2<f64>, k: usize) -> Array2<f64> {
    let (n, d) = x.dim();
    let (mean, sd) = column_scales(x);
    if d > n {
        let a = standardised(x, 0, n, &mean, &sd);
        return eigen::top(&linear::cross(a.t(), a.t()), k).1;
    }
    let mut gram = Array2::<f64>::zeros((d, d));
    for start in (0..n).step_by(BLOCK_ROWS) {
        let a = standardised(x, start, (start + BLOCK_ROWS).min(n), &mean, &sd);
        matmul_into(&a.t(), &a.view(), &mut gram, true);
    }
    let (values, v) = eigen::top(&gram, k);
    let scaled = Array2::from_shape_fn(v.dim(), |(i, j)| {
        v[[i, j]] / values[j].max(0.0).sqrt().max(1e-300)
    });
    let mut u = Array2::<f64>::zeros((n, scaled.ncols()));
    for start in (0..n).step_by(BLOCK_ROWS) {
        let end = (start + BLOCK_ROWS).min(n);
        let a = standardised(x, start, end, &mean, &sd);
        u.slice_mut(s![start..end, ..]).assign(&a.dot(&scaled));
    }
    u
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn blocked_basis_spans_the_standardised_rows_top_directions() {
        // More rows than two blocks, offset columns of unequal scale: the oracle standardises
        // all rows at once and takes the top right singular vectors from one AᵀA.
        let (n, d, k) = (2 * BLOCK_ROWS + 123, 7, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // Three latent factors of distinct strength, so the top directions are well separated.
        let z = Array2::from_shape_fn((n, 3), |(_, l)| {
            (3 - l) as f64 * (rng.random::<f64>() - 0.5)
        });
        let w = Array2::from_shape_fn((3, d), |_| rng.random::<f64>() - 0.5);
        let noise = Array2::from_shape_fn((n, d), |_| 0.1 * (rng.random::<f64>() - 0.5));
        let offsets = Array1::from_shape_fn(d, |j| 3.0 + j as f64);
        let x = z.dot(&w) + noise + &offsets;
        let mean = x.mean_axis(Axis(0)).unwrap();
        let centred = &x - &mean;
        let sd = centred
            .columns()
            .into_iter()
            .map(|c| (c.dot(&c) / (n as f64 - 1.0)).sqrt() + 1e-8)
            .collect::<Array1<f64>>();
        let a = centred / &sd;
        let (values, v) = eigen::jacobi(&a.t().dot(&a));
        let u = basis(x.view(), k);
        assert_eq!(u.dim(), (n, k));
        for (j, value) in values.iter().take(k).enumerate() {
            let oracle = a.dot(&v.column(j)) / value.sqrt();
            let cosine = u.column(j).dot(&oracle);
            assert!((cosine.abs() - 1.0).abs() < 1e-9, "direction {j}: {cosine}");
        }
    }
}
