//! The kernel metrics without n x n matrices. The kernels are linear, K = A·Aᵀ and L = B·Bᵀ for
//! the prepared rows A (n x d_a) and B (n x d_b), so every sum over the n² entries the
//! definitions in [`crate::metrics::hsic`] use (those stay as the tests' oracle) reduces to
//! d x d products, column sums and row norms:
//!
//! - ⟨K, L⟩ = tr(K·L) = ‖Aᵀ·B‖²_F;
//! - biased HSIC: ⟨HKH, HLH⟩ = ‖(HA)ᵀ·(HB)‖²_F, H the centring matrix (centred columns);
//! - unbiased HSIC (K̃ = K with a zero diagonal, r_i = K_ii = ‖a_i‖²):
//!   tr(K̃L̃) = ‖AᵀB‖²_F − Σ r_i s_i, 1ᵀK̃1 = ‖Aᵀ1‖² − Σ r_i, K̃1 = A·(Aᵀ1) − r.
//!
//! Time O(n·d_a·d_b) for a pair (the cross product AᵀB) plus O(n·d²) per side, memory O(d²).
//! Debiased CKA's U-centred inner product is n(n−3) times the unbiased HSIC (the identity the
//! oracle tests check), so both read [`hsic_unbiased`].
//!
//! CKNNA masks the kernels to mutual nearest neighbours: only the n·k entries at each row's
//! neighbours are needed, each a dot product: O(n·k·d) time, O(n·k) memory.

use std::collections::HashSet;

use ndarray::{Array1, Array2, ArrayView2, Axis};

fn frobenius_sq(m: &Array2<f64>) -> f64 {
    m.iter().map(|x| x * x).sum()
}

fn ratio(kl: f64, kk: f64, ll: f64) -> f64 {
    kl / (kk * ll).sqrt()
}

/// ‖Aᵀ·B‖²_F = tr(A·Aᵀ·B·Bᵀ).
pub fn inner(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    frobenius_sq(&a.t().dot(&b))
}

/// The research's uncentred kernel alignment: tr(KL)/√(tr(KK)·tr(LL)).
/// O(n·(d_a + d_b)²) time, O((d_a + d_b)²) memory.
pub fn kernel_alignment(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    ratio(inner(a, b), inner(a, a), inner(b, b))
}

fn centred(a: ArrayView2<f64>) -> Array2<f64> {
    let mean = a
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(a.ncols()));
    &a - &mean
}

/// CKA with the biased HSIC. O(n·(d_a + d_b)²) time, O(n·(d_a + d_b)) memory (centred copies).
pub fn cka(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    let (ac, bc) = (centred(a), centred(b));
    ratio(
        inner(ac.view(), bc.view()),
        inner(ac.view(), ac.view()),
        inner(bc.view(), bc.view()),
    )
}

/// What the unbiased HSIC needs of one side: row norms r, K̃·1 and 1ᵀK̃1.
struct Sums {
    r: Array1<f64>,
    k1: Array1<f64>,
    total: f64,
}

fn sums(a: ArrayView2<f64>) -> Sums {
    let r: Array1<f64> = a.rows().into_iter().map(|x| x.dot(&x)).collect();
    let col = a.sum_axis(Axis(0));
    let k1 = a.dot(&col) - &r;
    let total = col.dot(&col) - r.sum();
    Sums { r, k1, total }
}

fn hsic_from(n: f64, cross: f64, a: &Sums, b: &Sums) -> f64 {
    let trace = cross - a.r.dot(&b.r);
    let ones = a.k1.dot(&b.k1);
    (trace + a.total * b.total / ((n - 1.0) * (n - 2.0)) - 2.0 * ones / (n - 2.0)) / (n * (n - 3.0))
}

/// Song et al.'s unbiased HSIC of K = AAᵀ and L = BBᵀ. O(n·d_a·d_b) time, O(d_a·d_b) memory.
pub fn hsic_unbiased(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    let n = a.nrows() as f64;
    hsic_from(n, inner(a, b), &sums(a), &sums(b))
}

/// CKA with the unbiased HSIC (also debiased CKA's value). O(n·(d_a + d_b)²) time, O((d_a +
/// d_b)²) memory.
pub fn unbiased_cka(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    let n = a.nrows() as f64;
    let (sa, sb) = (sums(a), sums(b));
    ratio(
        hsic_from(n, inner(a, b), &sa, &sb),
        hsic_from(n, inner(a, a), &sa, &sa),
        hsic_from(n, inner(b, b), &sb, &sb),
    )
}

/// The unbiased HSIC of P = M⊙K and Q = M'⊙L for sparse 0/1 masks given as row lists
/// (`mask_p[i]` = the j with M_ij = 1, never i itself), as [`crate::metrics::hsic::hsic_unbiased`]
/// computes it on the dense (not symmetric) matrices.
fn masked_hsic(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    mask_p: &[Vec<usize>],
    mask_q: &[Vec<usize>],
) -> f64 {
    let n = a.nrows();
    let nf = n as f64;
    let entry = |x: ArrayView2<f64>, i: usize, j: usize| x.row(i).dot(&x.row(j));
    let (mut p_rows, mut p_cols) = (vec![0.0; n], vec![0.0; n]);
    let (mut q_rows, mut q_cols) = (vec![0.0; n], vec![0.0; n]);
    for (i, (row_p, row_q)) in mask_p.iter().zip(mask_q).enumerate() {
        for &j in row_p {
            let v = entry(a, i, j);
            p_rows[i] += v;
            p_cols[j] += v;
        }
        for &j in row_q {
            let v = entry(b, i, j);
            q_rows[i] += v;
            q_cols[j] += v;
        }
    }
    // tr(P·Q) = Σ_ij P_ij Q_ji: pairs in P's mask whose transpose is in Q's.
    let q_set: Vec<HashSet<usize>> = mask_q.iter().map(|r| r.iter().copied().collect()).collect();
    let mut trace = 0.0;
    for (i, row) in mask_p.iter().enumerate() {
        for &j in row {
            if q_set[j].contains(&i) {
                trace += entry(a, i, j) * entry(b, j, i);
            }
        }
    }
    let (sum_p, sum_q) = (p_rows.iter().sum::<f64>(), q_rows.iter().sum::<f64>());
    // 1ᵀ P Q 1 = (Pᵀ1)·(Q1).
    let cross: f64 = p_cols.iter().zip(&q_rows).map(|(x, y)| x * y).sum();
    (trace + sum_p * sum_q / ((nf - 1.0) * (nf - 2.0)) - 2.0 * cross / (nf - 2.0))
        / (nf * (nf - 3.0))
}

/// CKNNA: CKA restricted to mutual nearest neighbours ([`crate::metrics::cknna`]).
/// O(n·k·(d_a + d_b)) time, O(n·k) memory.
pub fn cknna(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    knn_a: &[Vec<usize>],
    knn_b: &[Vec<usize>],
) -> f64 {
    let both: Vec<Vec<usize>> = knn_a
        .iter()
        .zip(knn_b)
        .map(|(x, y)| x.iter().copied().filter(|j| y.contains(j)).collect())
        .collect();
    masked_hsic(a, b, &both, &both)
        / (masked_hsic(a, a, knn_a, knn_a) * masked_hsic(b, b, knn_b, knn_b)).sqrt()
}
