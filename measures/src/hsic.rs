//! Kernel metrics on Gram matrices (symmetric, n x n, of L2-normalised rows).
//!
//! - kernel_alignment (the research notebook): tr(K L) / √(tr(K K) · tr(L L)), uncentred;
//! - cka: HSIC_b(K, L) / √(HSIC_b(K, K) · HSIC_b(L, L)), HSIC_b = tr(K H L H), H = I − 11ᵀ/n
//!   (Kornblith et al.; the reference's `hsic_biased`);
//! - unbiased_cka: the same ratio with Song et al.'s unbiased HSIC (JMLR 2012, eq. 5; the
//!   reference's `hsic_unbiased`), K̃ = K with a zero diagonal:
//!   [tr(K̃ L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n−1)(n−2)) − 2 · 1ᵀK̃L̃1 / (n−2)] / (n(n−3));
//! - debiased_cka: the ratio of ⟨U(K), U(L)⟩ / (n(n−3)) with U the U-centring of Székely and
//!   Rizzo (Murphy et al.'s debiased CKA). The same estimator as unbiased_cka reached by another
//!   road; computed separately, the two check each other.
//!
//! The reference adds 1e-6 to CKA denominators; we do not, so identical inputs score exactly 1.

use ndarray::{Array1, Array2, Axis};

fn frobenius(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    ndarray::Zip::from(a)
        .and(b)
        .fold(0.0, |acc, &x, &y| acc + x * y)
}

fn ratio(kl: f64, kk: f64, ll: f64) -> f64 {
    kl / (kk * ll).sqrt()
}

pub fn kernel_alignment(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    ratio(frobenius(k, l), frobenius(k, k), frobenius(l, l))
}

/// H K H: subtract row and column means, add back the grand mean.
pub fn centre(k: &Array2<f64>) -> Array2<f64> {
    let n = k.nrows() as f64;
    let rows: Array1<f64> = k.sum_axis(Axis(1)) / n;
    let cols: Array1<f64> = k.sum_axis(Axis(0)) / n;
    let grand = rows.sum() / n;
    Array2::from_shape_fn(k.dim(), |(i, j)| k[[i, j]] - rows[i] - cols[j] + grand)
}

pub fn cka(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    let (kc, lc) = (centre(k), centre(l));
    // tr(K H L H) = ⟨HKH, HLH⟩ for symmetric K and L (H is idempotent).
    ratio(
        frobenius(&kc, &lc),
        frobenius(&kc, &kc),
        frobenius(&lc, &lc),
    )
}

fn zero_diagonal(k: &Array2<f64>) -> Array2<f64> {
    let mut k = k.clone();
    k.diag_mut().fill(0.0);
    k
}

/// Song et al.'s unbiased HSIC of two (not necessarily symmetric) kernels.
pub fn hsic_unbiased(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    let n = k.nrows() as f64;
    let (kt, lt) = (zero_diagonal(k), zero_diagonal(l));
    // sum(K̃ ⊙ L̃ᵀ) = tr(K̃ L̃)
    let trace = ndarray::Zip::from(&kt)
        .and(&lt.t())
        .fold(0.0, |acc, &x, &y| acc + x * y);
    // 1ᵀ K̃ L̃ 1 = (K̃ᵀ1) · (L̃1)
    let cross = kt.sum_axis(Axis(0)).dot(&lt.sum_axis(Axis(1)));
    (trace + kt.sum() * lt.sum() / ((n - 1.0) * (n - 2.0)) - 2.0 * cross / (n - 2.0))
        / (n * (n - 3.0))
}

pub fn unbiased_cka(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    ratio(
        hsic_unbiased(k, l),
        hsic_unbiased(k, k),
        hsic_unbiased(l, l),
    )
}

/// Székely–Rizzo U-centring: zero diagonal, and off the diagonal
/// K_ij − Σ_l K_il/(n−2) − Σ_k K_kj/(n−2) + Σ_kl K_kl/((n−1)(n−2)), diagonal excluded from sums.
pub fn u_centre(k: &Array2<f64>) -> Array2<f64> {
    let n = k.nrows() as f64;
    let kt = zero_diagonal(k);
    let rows = kt.sum_axis(Axis(1));
    let cols = kt.sum_axis(Axis(0));
    let total = kt.sum();
    Array2::from_shape_fn(k.dim(), |(i, j)| {
        if i == j {
            0.0
        } else {
            kt[[i, j]] - rows[i] / (n - 2.0) - cols[j] / (n - 2.0) + total / ((n - 1.0) * (n - 2.0))
        }
    })
}

pub fn debiased_cka(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    let (ku, lu) = (u_centre(k), u_centre(l));
    // The 1/(n(n−3)) factors cancel in the ratio.
    ratio(
        frobenius(&ku, &lu),
        frobenius(&ku, &ku),
        frobenius(&lu, &lu),
    )
}
