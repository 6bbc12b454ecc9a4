//! Each row's k nearest neighbours by inner product, the row itself excluded; most similar
//! first, equal similarities to the lower index (the reference's `argsort` leaves ties to the
//! device).
//!
//! From a Gram matrix ([`neighbours`]) when a space keeps one; otherwise from the rows
//! ([`neighbours_of_rows`]) a block of rows at a time, without an n x n matrix. The rows' search
//! screens in f32 (a matrix product about three times the f64 rate on this machine) and decides
//! in f64: every row whose f32 similarity is within twice the f32 error bound of the k-th best
//! is a candidate, and the candidates' exact f64 inner products choose the k. The bound is
//! rigorous, so the lists equal an all-f64 search's.

use ndarray::{Array2, ArrayView1, ArrayView2, s};
use rayon::prelude::*;

use crate::train::ops::cpu::gemm::matmul_into;

/// Bytes of similarities one block of [`neighbours_of_rows`] holds.
const BLOCK_BYTES: usize = 64 << 20;

/// `b` ranks before `a`: higher similarity, then lower index.
fn better(b: (f64, usize), a: (f64, usize)) -> bool {
    match b.0.total_cmp(&a.0) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => b.1 < a.1,
    }
}

/// The best `k` of `candidates` (similarity, index), best first: one pass that keeps the k
/// best seen in order (an insertion only when a candidate beats the k-th, rare after the first
/// rows), O(len + insertions·k) with no allocation beyond the k.
pub(crate) fn best_k(
    candidates: impl Iterator<Item = (f64, usize)>,
    k: usize,
) -> Vec<(f64, usize)> {
    let mut kept: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return kept;
    }
    for c in candidates {
        if kept.len() == k && !better(c, kept[k - 1]) {
            continue;
        }
        let at = kept.partition_point(|&x| !better(c, x));
        kept.insert(at, c);
        kept.truncate(k);
    }
    kept
}

/// Row `i`'s `k` most similar other rows, given its similarities to every row.
fn top_k(row: ArrayView1<f64>, i: usize, k: usize) -> Vec<usize> {
    let candidates = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, &v)| (v, j));
    best_k(candidates, k).into_iter().map(|(_, j)| j).collect()
}

/// Each row's `k` most similar other rows by `gram`.
pub fn neighbours(gram: &Array2<f64>, k: usize) -> Vec<Vec<usize>> {
    (0..gram.nrows())
        .into_par_iter()
        .map(|i| top_k(gram.row(i), i, k))
        .collect()
}

/// A bound on |f32 inner product − exact| for rows of width `d` and norms `na`, `nb`: each
/// input rounds to f32 (relative 2⁻²⁴ each) and a sum of d products in any order errs by at
/// most γ_d·Σ|a_i·b_i| ≤ γ_d·‖a‖·‖b‖ (Higham, Accuracy and Stability, §3.1), γ_d = d·u/(1 − d·u);
/// with a 1% margin, and the f64 side's own error (d·2⁻⁵³ relative) on top.
fn f32_error_bound(d: usize, na: f64, nb: f64) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0;
    let terms = (d + 3) as f64;
    let gamma = terms * u / (1.0 - terms * u);
    1.01 * gamma * na * nb + (d as f64) * f64::EPSILON * na * nb
}

/// Row `i`'s neighbours from its f32 similarities `approx` to every row: the k-th best f32
/// value less twice the error bound admits every possible true neighbour; the f64 inner
/// products of those candidates decide.
fn top_k_screened(
    x: ArrayView2<f64>,
    approx: ArrayView1<f32>,
    i: usize,
    k: usize,
    slack: f64,
) -> Vec<usize> {
    let coarse = best_k(
        approx
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, &v)| (f64::from(v), j)),
        k,
    );
    let Some(&(kth, _)) = coarse.last() else {
        return Vec::new();
    };
    let floor = kth - 2.0 * slack;
    let row = x.row(i);
    let candidates = approx
        .iter()
        .enumerate()
        .filter(|&(j, &v)| j != i && f64::from(v) >= floor)
        .map(|(j, _)| (row.dot(&x.row(j)), j));
    best_k(candidates, k).into_iter().map(|(_, j)| j).collect()
}

/// Each row's `k` most similar other rows by inner product, found a block of rows at a time
/// (f32 screen, f64 decision; the module's doc): O(n²·d) time at the f32 product rate,
/// O(n·k + n·d + block·n) memory.
pub fn neighbours_of_rows(x: ArrayView2<f64>, k: usize) -> Vec<Vec<usize>> {
    let (n, d) = x.dim();
    let narrow: Array2<f32> = x.mapv(|v| v as f32);
    let norms: Vec<f64> = x.outer_iter().map(|r| r.dot(&r).sqrt()).collect();
    let largest = norms.iter().copied().fold(0.0, f64::max);
    let block = (BLOCK_BYTES / (4 * n.max(1))).clamp(1, n.max(1));
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(block) {
        let end = (start + block).min(n);
        let mut sims = Array2::<f32>::zeros((end - start, n));
        matmul_into(
            &narrow.slice(s![start..end, ..]),
            &narrow.t(),
            &mut sims,
            false,
        );
        let rows: Vec<Vec<usize>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let slack = f32_error_bound(d, norms[i], largest);
                top_k_screened(x, sims.row(i - start), i, k, slack)
            })
            .collect();
        out.extend(rows);
    }
    out
}
