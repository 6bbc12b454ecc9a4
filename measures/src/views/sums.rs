//! A view's sums: each space's row sums, diagonal and squared norms over the view's rows, each
//! pair's cross products, and the kernel metrics' values from them (see [`super`]).

use ndarray::Array2;

use super::{Kernels, Plan};
use crate::linalg::dot;
use crate::{Metric, linear};

/// One side's sums over a view: of the centred kernel, each row's sum and diagonal entry, the
/// total and the squared norm; the unclamped kernel's squared norm.
#[derive(Clone)]
pub struct Side {
    rows: Vec<f64>,
    diag: Vec<f64>,
    total: f64,
    norm_sq: f64,
    unclamped_norm_sq: f64,
}

pub(super) fn row_slice(k: &Array2<f64>, p: usize) -> &[f64] {
    k.row(p).to_slice().expect("Gram rows are contiguous")
}

/// Every space's [`Side`] over the rows `view` and every pair's crosses (centred, unclamped;
/// NaN where not asked for), in one pass over the view's rows: for row i, each kernel's
/// entries (view[i], view[j < i]) are gathered once into a contiguous buffer, and the sums
/// (row sums by symmetry, squared norms, each pair's products) run over the buffers.
pub(super) fn view_sums(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    view: &[usize],
) -> (Vec<Option<Side>>, Vec<(f64, f64)>) {
    let h = view.len();
    let (centred_wanted, unclamped_wanted) = (plan.wants_centred(), plan.wants_unclamped());
    let mut sides: Vec<Option<Side>> = kernels
        .iter()
        .map(|k| {
            k.as_ref().map(|_| Side {
                rows: vec![0.0; h],
                diag: vec![0.0; h],
                total: 0.0,
                norm_sq: 0.0,
                unclamped_norm_sq: 0.0,
            })
        })
        .collect();
    let mut crosses = vec![(0.0, 0.0); plan.pairs.len()];
    let mut centred: Vec<Vec<f64>> = vec![vec![0.0; h]; kernels.len()];
    let mut unclamped: Vec<Vec<f64>> = vec![vec![0.0; h]; kernels.len()];
    for (i, &p) in view.iter().enumerate() {
        for (s, k) in kernels.iter().enumerate() {
            let (Some(k), Some(side)) = (k, sides[s].as_mut()) else {
                continue;
            };
            if centred_wanted {
                let row = row_slice(&k.centred, p);
                let buf = &mut centred[s][..i];
                for (b, &q) in buf.iter_mut().zip(view) {
                    *b = row[q];
                }
                let d = row[p];
                side.diag[i] = d;
                side.rows[i] += d + buf.iter().sum::<f64>();
                for (r, &v) in side.rows[..i].iter_mut().zip(buf.iter()) {
                    *r += v;
                }
                side.norm_sq += 2.0 * dot(buf, buf) + d * d;
            }
            if let Some(u) = k.unclamped.as_ref().filter(|_| unclamped_wanted) {
                let row = row_slice(u, p);
                let buf = &mut unclamped[s][..i];
                for (b, &q) in buf.iter_mut().zip(view) {
                    *b = row[q];
                }
                side.unclamped_norm_sq += 2.0 * dot(buf, buf) + row[p] * row[p];
            }
        }
        for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
            let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
                continue;
            };
            if centred_wanted {
                let diag = ka.centred[[p, p]] * kb.centred[[p, p]];
                crosses[pi].0 += 2.0 * dot(&centred[a][..i], &centred[b][..i]) + diag;
            }
            if let (Some(ua), Some(ub)) = (&ka.unclamped, &kb.unclamped)
                && unclamped_wanted
            {
                crosses[pi].1 +=
                    2.0 * dot(&unclamped[a][..i], &unclamped[b][..i]) + ua[[p, p]] * ub[[p, p]];
            }
        }
    }
    for side in sides.iter_mut().flatten() {
        side.total = side.rows.iter().sum();
    }
    plan.unasked_to_nan(kernels, &mut crosses);
    (sides, crosses)
}

/// Every pair's crosses (centred, unclamped; NaN where not asked for) with the second space's
/// rows permuted: for row i, each second space's entries (perm[i], perm[j < i]) are gathered
/// once, and each pair's product runs over the first space's contiguous row and the buffer.
pub(super) fn permuted_crosses(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    perm: &[usize],
) -> Vec<(f64, f64)> {
    let m = perm.len();
    let (centred_wanted, unclamped_wanted) = (plan.wants_centred(), plan.wants_unclamped());
    let seconds: Vec<bool> = (0..kernels.len())
        .map(|s| plan.pairs.iter().any(|&(_, b)| b == s))
        .collect();
    let mut crosses = vec![(0.0, 0.0); plan.pairs.len()];
    let mut centred: Vec<Vec<f64>> = vec![vec![0.0; m]; kernels.len()];
    let mut unclamped: Vec<Vec<f64>> = vec![vec![0.0; m]; kernels.len()];
    let gather = |buf: &mut [f64], row: &[f64]| {
        for (b, &q) in buf.iter_mut().zip(perm) {
            *b = row[q];
        }
    };
    for (i, &p) in perm.iter().enumerate() {
        for (s, k) in kernels.iter().enumerate() {
            let Some(k) = k.as_ref().filter(|_| seconds[s]) else {
                continue;
            };
            if centred_wanted {
                gather(&mut centred[s][..i], row_slice(&k.centred, p));
            }
            if let Some(u) = k.unclamped.as_ref().filter(|_| unclamped_wanted) {
                gather(&mut unclamped[s][..i], row_slice(u, p));
            }
        }
        for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
            let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
                continue;
            };
            if centred_wanted {
                let row = &row_slice(&ka.centred, i)[..i];
                let diag = ka.centred[[i, i]] * kb.centred[[p, p]];
                crosses[pi].0 += 2.0 * dot(row, &centred[b][..i]) + diag;
            }
            if let (Some(ua), Some(ub)) = (&ka.unclamped, &kb.unclamped)
                && unclamped_wanted
            {
                let row = &row_slice(ua, i)[..i];
                crosses[pi].1 += 2.0 * dot(row, &unclamped[b][..i]) + ua[[i, i]] * ub[[p, p]];
            }
        }
    }
    plan.unasked_to_nan(kernels, &mut crosses);
    crosses
}

impl Side {
    /// The sums over all rows, reordered: row i becomes row `perm[i]`.
    pub(super) fn permuted(&self, perm: &[usize]) -> Side {
        Side {
            rows: perm.iter().map(|&p| self.rows[p]).collect(),
            diag: perm.iter().map(|&p| self.diag[p]).collect(),
            ..self.clone()
        }
    }
}

/// The biased HSIC ⟨HKH, HLH⟩ from the sums of kernels already centred over a superset.
pub(super) fn hsic_biased(cross: f64, a: &Side, b: &Side) -> f64 {
    let n = a.rows.len() as f64;
    cross - 2.0 * dot(&a.rows, &b.rows) / n + a.total * b.total / (n * n)
}

/// Song et al.'s unbiased HSIC from the sums ([`linear`]'s formula with K̃ = K − diag).
pub(super) fn hsic_unbiased(cross: f64, a: &Side, b: &Side) -> f64 {
    let trace = cross - dot(&a.diag, &b.diag);
    let total = |s: &Side| s.total - s.diag.iter().sum::<f64>();
    let ones: f64 = (0..a.rows.len())
        .map(|i| (a.rows[i] - a.diag[i]) * (b.rows[i] - b.diag[i]))
        .sum();
    linear::unbiased_hsic_of_sums(a.rows.len() as f64, trace, total(a), total(b), ones)
}

/// A pair's kernel-metric value on a view from its sums and crosses (`cross` of the centred
/// kernels, `unclamped` of the unclamped ones).
pub(super) fn kernel_value(metric: Metric, a: &Side, b: &Side, cross: f64, unclamped: f64) -> f64 {
    let ratio = |kl: f64, kk: f64, ll: f64| kl / (kk * ll).sqrt();
    match metric {
        Metric::KernelAlignment => ratio(unclamped, a.unclamped_norm_sq, b.unclamped_norm_sq),
        Metric::Cka => ratio(
            hsic_biased(cross, a, b),
            hsic_biased(a.norm_sq, a, a),
            hsic_biased(b.norm_sq, b, b),
        ),
        Metric::UnbiasedCka | Metric::DebiasedCka => ratio(
            hsic_unbiased(cross, a, b),
            hsic_unbiased(a.norm_sq, a, a),
            hsic_unbiased(b.norm_sq, b, b),
        ),
        _ => unreachable!("{metric:?} is not read from kernel sums"),
    }
}

pub(super) fn is_kernel_sum(m: Metric) -> bool {
    matches!(
        m,
        Metric::KernelAlignment | Metric::Cka | Metric::UnbiasedCka | Metric::DebiasedCka
    )
}
