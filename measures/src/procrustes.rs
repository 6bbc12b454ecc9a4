//! Measures from the orthogonal Procrustes problem (ReSi's alignment-based group; Klabunde et
//! al.; Williams et al., 2021, for the angular shape metric): how far one representation is
//! from the other after the best rotation or reflection of one of them,
//! min over orthogonal Q of ‖A − BQ‖_F. Its solution needs only the nuclear norm of AᵀB:
//! min ‖A − BQ‖²_F = ‖A‖²_F + ‖B‖²_F − 2‖AᵀB‖_*. Widths may differ (AᵀB is d_a x d_b, the
//! narrower side zero-padded, as ReSi pads it).
//!
//! All three are **distances** (0 for identical inputs, higher is less aligned) and are not yet
//! metrics of the stages (#35): functions of two row-aligned matrices, f64.
//! Time O(n·d_a·d_b) for AᵀB plus O(d³) for the eigenvalues of the smaller Gram matrix of
//! AᵀB (d = min(d_a, d_b), cyclic Jacobi); memory O(n·(d_a + d_b) + d_a·d_b).

use ndarray::{Array2, ArrayView2, Axis};

use crate::eigen;
use crate::linalg::matmul_into;

/// `x` with each column's mean removed (no rows: nothing to remove).
fn centred(x: ArrayView2<f64>) -> Array2<f64> {
    match x.mean_axis(Axis(0)) {
        Some(mean) => &x - &mean,
        None => x.to_owned(),
    }
}

fn frobenius2(x: &Array2<f64>) -> f64 {
    x.iter().map(|v| v * v).sum()
}

/// ‖AᵀB‖_*: the sum of the singular values of AᵀB, from the eigenvalues of its smaller Gram
/// matrix (the singular values squared).
pub fn nuclear_norm_of_cross(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let mut cross = Array2::zeros((a.ncols(), b.ncols()));
    matmul_into(&a.t(), &b.view(), &mut cross, false);
    let gram = if cross.nrows() <= cross.ncols() {
        cross.dot(&cross.t())
    } else {
        cross.t().dot(&cross)
    };
    let (values, _) = eigen::jacobi(&gram);
    values.iter().map(|&l| l.max(0.0).sqrt()).sum()
}

/// Centred and scaled to unit Frobenius norm (ReSi's "centered and normalized" preparation);
/// None for a matrix whose columns are all constant.
fn shape(x: ArrayView2<f64>) -> Option<Array2<f64>> {
    let c = centred(x);
    let norm = frobenius2(&c).sqrt();
    (norm > 0.0).then(|| c / norm)
}

/// Orthogonal Procrustes distance of the centred, unit-norm matrices: √(2 − 2‖ÂᵀB̂‖_*), in
/// [0, 2]. Invariant to translation, isotropic scaling and orthogonal transforms of either side
/// (so to permutations of features). NaN when either side is constant (or has no rows).
pub fn orthogonal_procrustes(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    match (shape(a), shape(b)) {
        (Some(a), Some(b)) => (2.0 - 2.0 * nuclear_norm_of_cross(&a, &b)).max(0.0).sqrt(),
        _ => f64::NAN,
    }
}

/// The orthogonal angular shape metric (Williams et al.): arccos ‖ÂᵀB̂‖_* of the centred,
/// unit-norm matrices, in [0, π/2]; the same invariances as [`orthogonal_procrustes`], and a
/// metric on shapes (it satisfies the triangle inequality).
pub fn angular_shape_metric(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    match (shape(a), shape(b)) {
        (Some(a), Some(b)) => nuclear_norm_of_cross(&a, &b).clamp(-1.0, 1.0).acos(),
        _ => f64::NAN,
    }
}

/// Procrustes size-and-shape distance: centred only, √(‖A‖² + ‖B‖² − 2‖AᵀB‖_*). Invariant to
/// translation and orthogonal transforms, not to scaling (a scaled copy is at a distance).
/// NaN with no rows.
pub fn size_and_shape_distance(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    if a.nrows() == 0 {
        return f64::NAN;
    }
    let (a, b) = (centred(a), centred(b));
    (frobenius2(&a) + frobenius2(&b) - 2.0 * nuclear_norm_of_cross(&a, &b))
        .max(0.0)
        .sqrt()
}

#[cfg(test)]
mod tests;
