//! The kernel metrics without n x n matrices. The kernels are linear, K = A·Aᵀ and L = B·Bᵀ for
//! the prepared rows A (n x d_a) and B (n x d_b), so every sum over the n² entries the
//! definitions in [`crate::hsic`] use (those stay as the tests' oracle) reduces to
//! d x d products, column sums and row norms:
//!
//! - ⟨K, L⟩ = tr(K·L) = ‖Aᵀ·B‖²_F;
//! - biased HSIC: ⟨HKH, HLH⟩ = ‖(HA)ᵀ·(HB)‖²_F, H the centring matrix (centred columns), and
//!   (HA)ᵀ·(HB) = AᵀB − n·μ_a·μ_bᵀ (μ the column means);
//! - unbiased HSIC (K̃ = K with a zero diagonal, r_i = K_ii = ‖a_i‖²):
//!   tr(K̃L̃) = ‖AᵀB‖²_F − Σ r_i s_i, 1ᵀK̃1 = ‖Aᵀ1‖² − Σ r_i, K̃1 = A·(Aᵀ1) − r.
//!
//! Time O(n·d_a·d_b) for a pair (one cross product AᵀB serves CKA, unbiased and debiased CKA)
//! plus O(n·d²) once per side (its [`Moments`], kept by the space), memory O(d²).
//! Debiased CKA's U-centred inner product is n(n−3) times the unbiased HSIC (the identity the
//! oracle tests check), so both read [`unbiased_cka_of`].
//!
//! CKNNA masks the kernels to mutual nearest neighbours: only the n·k entries at each row's
//! neighbours are needed, each a dot product: O(n·k·d) time, O(n·k) memory.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::linalg::matmul_into;
use crate::procrustes;
use crate::rsa::OffDiagonal;

fn frobenius_sq(m: &Array2<f64>) -> f64 {
    m.iter().map(|x| x * x).sum()
}

fn ratio(kl: f64, kk: f64, ll: f64) -> f64 {
    kl / (kk * ll).sqrt()
}

/// Aᵀ·B (d_a x d_b) through the gemm crate on both cores (about 1.4x ndarray's f64 rate here).
pub fn cross(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let mut out = Array2::zeros((a.ncols(), b.ncols()));
    matmul_into(&a.t(), &b, &mut out, false);
    out
}

/// What the unbiased HSIC needs of one side: row norms r, K̃·1 and 1ᵀK̃1.
struct Sums {
    r: Array1<f64>,
    k1: Array1<f64>,
    total: f64,
}

/// One side's moments, computed once per space and shared by every metric and pair: its
/// column means, AᵀA (d x d) and the unbiased HSIC's sums. O(n·d²) time, O(d² + n) memory.
pub struct Moments {
    n: usize,
    mean: Array1<f64>,
    gram: Array2<f64>,
    sums: Sums,
}

impl Moments {
    pub fn of(a: ArrayView2<f64>) -> Moments {
        let n = a.nrows();
        let r: Array1<f64> = a.rows().into_iter().map(|x| x.dot(&x)).collect();
        let col = a.sum_axis(Axis(0));
        let k1 = a.dot(&col) - &r;
        let total = col.dot(&col) - r.sum();
        Moments {
            n,
            mean: col / n.max(1) as f64,
            gram: cross(a, a),
            sums: Sums { r, k1, total },
        }
    }

    /// tr(K·K) = ‖AᵀA‖²_F.
    fn inner_self(&self) -> f64 {
        frobenius_sq(&self.gram)
    }

    /// ‖HA‖²_F = tr(AᵀA) − n·‖μ_a‖².
    fn centred_norm2(&self) -> f64 {
        let trace: f64 = self.gram.diag().sum();
        trace - self.n as f64 * self.mean.dot(&self.mean)
    }

    /// (HA)ᵀ(HB) = AᵀB − n·μ_a·μ_bᵀ from the uncentred cross product.
    fn centre_cross(&self, other: &Moments, cross: &Array2<f64>) -> Array2<f64> {
        let n = self.n as f64;
        let outer = Array2::from_shape_fn(cross.dim(), |(i, j)| n * self.mean[i] * other.mean[j]);
        cross - &outer
    }
}

/// The research's uncentred kernel alignment tr(KL)/√(tr(KK)·tr(LL)) from the pair's cross
/// product AᵀB.
pub fn kernel_alignment_of(cross: &Array2<f64>, a: &Moments, b: &Moments) -> f64 {
    ratio(frobenius_sq(cross), a.inner_self(), b.inner_self())
}

/// CKA with the biased HSIC, ⟨HKH, HLH⟩ = ‖(HA)ᵀ(HB)‖²_F, from the cross product.
pub fn cka_of(cross: &Array2<f64>, a: &Moments, b: &Moments) -> f64 {
    ratio(
        frobenius_sq(&a.centre_cross(b, cross)),
        frobenius_sq(&a.centre_cross(a, &a.gram)),
        frobenius_sq(&b.centre_cross(b, &b.gram)),
    )
}

/// The Procrustes similarity ‖(HA)ᵀ(HB)‖_* / (‖HA‖_F·‖HB‖_F) from the cross product
/// ([`procrustes::similarity_of`]; O(d³) past the cross product, for the eigenvalues).
pub fn procrustes_of(cross: &Array2<f64>, a: &Moments, b: &Moments) -> f64 {
    procrustes::similarity_of(
        &a.centre_cross(b, cross),
        a.centred_norm2(),
        b.centred_norm2(),
    )
}

/// Song et al.'s unbiased HSIC from its sums over n rows: tr(K̃L̃), 1ᵀK̃1, 1ᵀL̃1 and 1ᵀK̃L̃1
/// (K̃ = K with a zero diagonal).
pub(crate) fn unbiased_hsic_of_sums(
    n: f64,
    trace: f64,
    total_k: f64,
    total_l: f64,
    ones: f64,
) -> f64 {
    (trace + total_k * total_l / ((n - 1.0) * (n - 2.0)) - 2.0 * ones / (n - 2.0)) / (n * (n - 3.0))
}

fn hsic_from(n: f64, cross: f64, a: &Sums, b: &Sums) -> f64 {
    let trace = cross - a.r.dot(&b.r);
    unbiased_hsic_of_sums(n, trace, a.total, b.total, a.k1.dot(&b.k1))
}

/// CKA with the unbiased HSIC (also debiased CKA's value) from the cross product.
pub fn unbiased_cka_of(cross: &Array2<f64>, a: &Moments, b: &Moments) -> f64 {
    let n = a.n as f64;
    ratio(
        hsic_from(n, frobenius_sq(cross), &a.sums, &b.sums),
        hsic_from(n, a.inner_self(), &a.sums, &a.sums),
        hsic_from(n, b.inner_self(), &b.sums, &b.sums),
    )
}

/// RSA ([`crate::rsa`]) from the cross product: over the distinct off-diagonal entries,
/// Σ K = (1ᵀK1 − Σ r_i)/2, Σ K² = (‖AᵀA‖²_F − Σ r_i²)/2 and Σ K·L = (‖AᵀB‖²_F − Σ r_i s_i)/2.
pub fn rsa_of(cross: &Array2<f64>, a: &Moments, b: &Moments) -> f64 {
    let n = a.n as f64;
    let off = |m: &Moments| m.inner_self() - m.sums.r.dot(&m.sums.r);
    OffDiagonal {
        count: n * (n - 1.0) / 2.0,
        k: a.sums.total / 2.0,
        l: b.sums.total / 2.0,
        kk: off(a) / 2.0,
        ll: off(b) / 2.0,
        kl: (frobenius_sq(cross) - a.sums.r.dot(&b.sums.r)) / 2.0,
    }
    .pearson()
}

/// The research's uncentred kernel alignment: tr(KL)/√(tr(KK)·tr(LL)).
/// O(n·(d_a + d_b)²) time, O((d_a + d_b)²) memory.
pub fn kernel_alignment(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    kernel_alignment_of(&cross(a, b), &Moments::of(a), &Moments::of(b))
}

/// CKA with the biased HSIC. O(n·(d_a + d_b)²) time, O((d_a + d_b)²) memory.
pub fn cka(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    cka_of(&cross(a, b), &Moments::of(a), &Moments::of(b))
}

/// CKA with the unbiased HSIC (also debiased CKA's value). O(n·(d_a + d_b)²) time, O((d_a +
/// d_b)²) memory.
pub fn unbiased_cka(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    unbiased_cka_of(&cross(a, b), &Moments::of(a), &Moments::of(b))
}

/// The unbiased HSIC of P = M⊙K and Q = M'⊙L for sparse 0/1 masks given as row lists
/// (`mask_p[i]` = the j with M_ij = 1, never i itself), as [`crate::hsic::hsic_unbiased`]
/// computes it on the dense (not symmetric) matrices; `k(i, j)` and `l(i, j)` give the kernels'
/// entries. O(n·k²) time besides the n·k entries.
fn masked_hsic(
    n: usize,
    k: &impl Fn(usize, usize) -> f64,
    l: &impl Fn(usize, usize) -> f64,
    mask_p: &[Vec<usize>],
    mask_q: &[Vec<usize>],
) -> f64 {
    let nf = n as f64;
    let (mut p_rows, mut p_cols) = (vec![0.0; n], vec![0.0; n]);
    let mut q_rows = vec![0.0; n];
    // tr(P·Q) = Σ_ij P_ij Q_ji: pairs in P's mask whose transpose is in Q's (lists of k: a scan
    // is faster than a set).
    let mut trace = 0.0;
    for (i, (row_p, row_q)) in mask_p.iter().zip(mask_q).enumerate() {
        for &j in row_p {
            let v = k(i, j);
            p_rows[i] += v;
            p_cols[j] += v;
            if mask_q[j].contains(&i) {
                trace += v * l(j, i);
            }
        }
        for &j in row_q {
            q_rows[i] += l(i, j);
        }
    }
    let (sum_p, sum_q) = (p_rows.iter().sum::<f64>(), q_rows.iter().sum::<f64>());
    // 1ᵀ P Q 1 = (Pᵀ1)·(Q1).
    let cross: f64 = p_cols.iter().zip(&q_rows).map(|(x, y)| x * y).sum();
    (trace + sum_p * sum_q / ((nf - 1.0) * (nf - 2.0)) - 2.0 * cross / (nf - 2.0))
        / (nf * (nf - 3.0))
}

/// CKNNA of kernels given by their entries `k(i, j)`, `l(i, j)` over n rows and the rows'
/// neighbour lists ([`crate::cknna`]). O(n·k²) time besides the 3·n·k entries.
pub fn cknna_of_entries(
    n: usize,
    k: impl Fn(usize, usize) -> f64,
    l: impl Fn(usize, usize) -> f64,
    knn_a: &[Vec<usize>],
    knn_b: &[Vec<usize>],
) -> f64 {
    let both: Vec<Vec<usize>> = knn_a
        .iter()
        .zip(knn_b)
        .map(|(x, y)| x.iter().copied().filter(|j| y.contains(j)).collect())
        .collect();
    masked_hsic(n, &k, &l, &both, &both)
        / (masked_hsic(n, &k, &k, knn_a, knn_a) * masked_hsic(n, &l, &l, knn_b, knn_b)).sqrt()
}

/// CKNNA: CKA restricted to mutual nearest neighbours ([`crate::cknna`]), each
/// kernel entry a dot product of rows. O(n·k·(d_a + d_b)) time, O(n·k) memory.
pub fn cknna(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    knn_a: &[Vec<usize>],
    knn_b: &[Vec<usize>],
) -> f64 {
    cknna_of_entries(
        a.nrows(),
        |i, j| a.row(i).dot(&a.row(j)),
        |i, j| b.row(i).dot(&b.row(j)),
        knn_a,
        knn_b,
    )
}
