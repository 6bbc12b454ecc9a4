//! Measures from the orthogonal Procrustes problem (ReSi's alignment-based group; Klabunde et
//! al.; Williams et al., 2021, for the angular shape metric): how far one representation is
//! from the other after the best rotation or reflection of one of them,
//! min over orthogonal Q of ‖A − BQ‖_F. Its solution needs only the nuclear norm of AᵀB:
//! min ‖A − BQ‖²_F = ‖A‖²_F + ‖B‖²_F − 2‖AᵀB‖_*. Widths may differ (AᵀB is d_a x d_b, the
//! narrower side zero-padded, as ReSi pads it).
//!
//! The stages' metric is the **similarity** s = ‖ÂᵀB̂‖_* of the centred, unit-Frobenius-norm
//! matrices ([`similarity`], `Metric::Procrustes`), in [0, 1], 1 for identical inputs. The two
//! distances ReSi reports are monotone decreasing functions of it, so a p-value, a calibration
//! threshold or a rank correlation is the same whichever is read: the orthogonal Procrustes
//! distance √(2 − 2s) ([`orthogonal_procrustes`]) and the angular shape metric arccos s
//! ([`angular_shape_metric`]). The size-and-shape distance ([`size_and_shape_distance`]) keeps
//! the scale and is a function of the rows only.
//!
//! Time O(n·d_a·d_b) for AᵀB plus O(d³) for the eigenvalues of the smaller Gram matrix of AᵀB
//! (d = min(d_a, d_b), [`crate::spectrum`]); memory O(n·(d_a + d_b) + d_a·d_b). Wider than it
//! has rows, a side is replaced by a factor of its Gram matrix ([`gram_factor`], n x r with
//! r ≤ n): the singular values of AᵀB are those of W_aᵀW_b whenever W·Wᵀ = A·Aᵀ, so a view
//! of h rows costs O(h·r_a·r_b + r³) whatever the width.

use ndarray::{Array2, ArrayView2, Axis};

use crate::hsic;
use crate::linalg::dot;
use crate::linalg::matmul_into;
use crate::spectrum::eigenvalues;

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

/// ‖M‖_*: the sum of the singular values of M, from the eigenvalues of its smaller Gram
/// matrix (the singular values squared). Eigenvalues within rounding of zero (below
/// k·ε·λ_max for k of them) are zero singular values: their square roots, about √ε·σ_max each,
/// would otherwise add up to an error of 1e-8 per missing rank.
pub fn nuclear_norm(m: &Array2<f64>) -> f64 {
    let (r, c) = m.dim();
    let mut gram = Array2::zeros((r.min(c), r.min(c)));
    if r <= c {
        matmul_into(&m.view(), &m.t(), &mut gram, false);
    } else {
        matmul_into(&m.t(), &m.view(), &mut gram, false);
    }
    sum_of_roots(&gram)
}

/// Σ √λ over the eigenvalues of positive semi-definite `m` that are above rounding (see
/// [`nuclear_norm`]).
fn sum_of_roots(m: &Array2<f64>) -> f64 {
    let values = eigenvalues(m);
    let floor = values
        .first()
        .map_or(0.0, |&top| top * values.len() as f64 * f64::EPSILON);
    values
        .iter()
        .filter(|&&l| l > floor)
        .map(|l| l.sqrt())
        .sum()
}

/// ‖AᵀB‖_*.
pub fn nuclear_norm_of_cross(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let mut cross = Array2::zeros((a.ncols(), b.ncols()));
    matmul_into(&a.t(), &b.view(), &mut cross, false);
    nuclear_norm(&cross)
}

/// The Procrustes similarity from the centred cross product (HA)ᵀ(HB) and the squared
/// Frobenius norms of HA and HB: ‖(HA)ᵀ(HB)‖_* / (‖HA‖_F·‖HB‖_F), at most 1 (von Neumann's trace
/// inequality); NaN when either side is constant.
pub fn similarity_of(centred_cross: &Array2<f64>, norm_a2: f64, norm_b2: f64) -> f64 {
    if norm_a2 <= 0.0 || norm_b2 <= 0.0 {
        return f64::NAN;
    }
    // Rounding can carry an identical pair a few ulps above 1 (NaN stays NaN).
    let s = nuclear_norm(centred_cross) / (norm_a2 * norm_b2).sqrt();
    if s > 1.0 { 1.0 } else { s }
}

/// The Procrustes similarity of rows `va` of `wa` against rows `vb` of `wb` (as many), each
/// side centred over its view: a random half of the rows (`va` = `vb`), or a permutation of
/// the second side (`va` the identity). `wa` and `wb` are rows or Gram factors
/// ([`gram_factor`]). O(h·r_a·r_b + min(r)³) for h rows.
pub fn similarity_of_views(wa: &Array2<f64>, va: &[usize], wb: &Array2<f64>, vb: &[usize]) -> f64 {
    let a = centred(wa.select(Axis(0), va).view());
    let b = centred(wb.select(Axis(0), vb).view());
    let mut cross = Array2::zeros((a.ncols(), b.ncols()));
    matmul_into(&a.t(), &b.view(), &mut cross, false);
    similarity_of(&cross, frobenius2(&a), frobenius2(&b))
}

/// The Procrustes similarity of rows `view` of two sides given by Gram matrices of their rows
/// (centred or not: the view is centred here, H·K_view·H). The nonzero eigenvalues of
/// K̃_a·K̃_b are the squared singular values of the view's centred cross product, and with
/// K̃_b = L·Lᵀ ([`gram_factor`]) they are those of the symmetric Lᵀ·K̃_a·L: O(h³) for h rows
/// whatever the widths, where [`similarity_of_views`] pays O(r³) for the factors' r ≥ h
/// columns. The random halves' road. Less exact than the rows' (1e-8 where the features carry
/// a large offset): centring a Gram matrix leaves rounding of its uncentred entries, which
/// makes the factor's rank uncertain; a half-sampling interval does not see it.
pub fn similarity_of_gram_views(ka: &Array2<f64>, kb: &Array2<f64>, view: &[usize]) -> f64 {
    let h = view.len();
    let select = |k: &Array2<f64>| Array2::from_shape_fn((h, h), |(i, j)| k[[view[i], view[j]]]);
    let (ca, cb) = (hsic::centre(&select(ka)), hsic::centre(&select(kb)));
    let (norm_a2, norm_b2) = (ca.diag().sum(), cb.diag().sum());
    if h == 0 || norm_a2 <= 0.0 || norm_b2 <= 0.0 {
        return f64::NAN;
    }
    let l = gram_factor(&cb);
    let mut al = Array2::zeros((h, l.ncols()));
    matmul_into(&ca.view(), &l.view(), &mut al, false);
    let mut m = Array2::zeros((l.ncols(), l.ncols()));
    matmul_into(&l.t(), &al.view(), &mut m, false);
    let s = sum_of_roots(&m) / (norm_a2 * norm_b2).sqrt();
    if s > 1.0 { 1.0 } else { s }
}

/// The Procrustes similarity of two row-aligned matrices (see the module's doc).
pub fn similarity(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    let all: Vec<usize> = (0..a.nrows()).collect();
    similarity_of_views(&a.to_owned(), &all, &b.to_owned(), &all)
}

/// W (n x r) with W·Wᵀ = K for a positive semi-definite n x n Gram matrix K, by Cholesky with
/// diagonal pivoting: r is K's numerical rank, the pivots stopping once every remaining
/// diagonal entry is below 1e-13 of the largest (what is left of K is then below that in every
/// entry). Stands in for rows wider than they are many. O(n²·r) time, O(n·r) memory.
pub fn gram_factor(k: &Array2<f64>) -> Array2<f64> {
    let n = k.nrows();
    let mut residual: Vec<f64> = (0..n).map(|i| k[[i, i]]).collect();
    let largest = residual.iter().copied().fold(0.0, f64::max);
    let mut done = vec![false; n];
    // Row-major n x n, of which the first r columns are filled: entry t of column j is
    // w[t·n + j], so each new entry is a dot product of two contiguous row prefixes.
    let mut w = vec![0.0; n * n];
    let mut rank = 0;
    while rank < n {
        let pivot = (0..n)
            .filter(|&i| !done[i])
            .max_by(|&i, &j| residual[i].total_cmp(&residual[j]).then(j.cmp(&i)))
            .expect("a row not yet pivoted");
        if residual[pivot] <= 1e-13 * largest || residual[pivot] <= 0.0 {
            break;
        }
        let root = residual[pivot].sqrt();
        let pivot_row: Vec<f64> = w[pivot * n..pivot * n + rank].to_vec();
        for t in (0..n).filter(|&t| !done[t]) {
            let earlier = dot(&w[t * n..t * n + rank], &pivot_row);
            let value = (k[[t, pivot]] - earlier) / root;
            w[t * n + rank] = value;
            residual[t] -= value * value;
        }
        done[pivot] = true;
        rank += 1;
    }
    Array2::from_shape_fn((n, rank), |(i, j)| w[i * n + j])
}

/// Orthogonal Procrustes distance of the centred, unit-norm matrices: √(2 − 2‖ÂᵀB̂‖_*), in
/// [0, √2]. Invariant to translation, isotropic scaling and orthogonal transforms of either side
/// (so to permutations of features). NaN when either side is constant (or has no rows).
pub fn orthogonal_procrustes(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    (2.0 - 2.0 * similarity(a, b)).sqrt()
}

/// The orthogonal angular shape metric (Williams et al.): arccos ‖ÂᵀB̂‖_* of the centred,
/// unit-norm matrices, in [0, π/2]; the same invariances as [`orthogonal_procrustes`], and a
/// metric on shapes (it satisfies the triangle inequality).
pub fn angular_shape_metric(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    similarity(a, b).acos()
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
