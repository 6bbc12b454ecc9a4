//! CPU kernels of the loss ops (formulas and gradients in [`super::loss`]): each term's value
//! and, when asked, its gradients, in a few passes over `[n, d]` and `[n, n]` arrays.
//!
//! Sums run in f64 in a fixed order (rows, then columns) on the calling thread; the two
//! products go through the gemm crate like the Linear kernels. Results do not depend on the
//! number of threads.

use burn::backend::ndarray::{NdArrayTensor, SharedArray};
use ndarray::{Array2, ArrayView2, Zip};

use super::float::{Float, lane_sum};
use super::gemm::matmul_into;
use super::{matrix, scalar_tensor, shared};
use crate::train::ops::loss::NORM_EPSILON;

/// A loss term's value and, when asked for, its gradients with respect to `a` and `b`.
pub type LossAndGrads<T> = (f64, Option<[Array2<T>; 2]>);

/// Each row's norm after clamping, and whether it was clamped.
type RowNorms<T> = Vec<(T, bool)>;

/// The rows of `x` L2-normalised, with their [`RowNorms`]. (A standard-layout array is always
/// one slice; None is never expected.)
fn normalise_rows<T: Float>(x: ArrayView2<'_, T>) -> Option<(Array2<T>, RowNorms<T>)> {
    let eps = T::of(NORM_EPSILON);
    let d = x.ncols().max(1);
    let mut out = x.as_standard_layout().into_owned();
    let norms = out
        .as_slice_mut()?
        .chunks_mut(d)
        .map(|row| {
            let norm = lane_sum(row, row, |v, _| v * v).sqrt();
            let clamped = norm <= eps;
            let norm = if clamped { eps } else { norm };
            for v in row.iter_mut() {
                *v = *v / norm;
            }
            (norm, clamped)
        })
        .collect();
    Some((out, norms))
}

/// `g ← ∂/∂x` from `g = ∂/∂x̂`, row by row (in place).
fn normalise_backward<T: Float>(x_hat: &Array2<T>, norms: &[(T, bool)], g: &mut Array2<T>) {
    for ((mut g, x), &(norm, clamped)) in g.rows_mut().into_iter().zip(x_hat.rows()).zip(norms) {
        let along = if clamped {
            T::zero()
        } else {
            g.iter().zip(x).fold(T::zero(), |s, (&g, &x)| s + g * x)
        };
        Zip::from(&mut g)
            .and(&x)
            .for_each(|g, &x| *g = (*g - x * along) / norm);
    }
}

/// Softmax of each row of `s`, and each row's log-sum-exp (in f64).
fn softmax_rows<T: Float>(s: ArrayView2<'_, T>) -> (Array2<T>, Vec<f64>) {
    let mut p = s.as_standard_layout().into_owned();
    let lse = p
        .rows_mut()
        .into_iter()
        .map(|mut row| {
            let max = row
                .iter()
                .fold(T::of(f64::NEG_INFINITY), |m, &v| if v > m { v } else { m });
            row.mapv_inplace(|v| (v - max).exp());
            let sum: f64 = row.iter().map(|v| v.to_f64()).sum();
            let inv = T::of(1.0 / sum);
            row.mapv_inplace(|v| v * inv);
            max.to_f64() + sum.ln()
        })
        .collect();
    (p, lse)
}

/// The contrastive loss of [`super::loss::contrastive_value`]; None where the shapes differ.
pub fn contrastive<T: Float>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    temperature: f64,
    alpha: f64,
    with_grads: bool,
) -> Option<LossAndGrads<T>> {
    let (n, d) = a.dim();
    if b.dim() != (n, d) || n == 0 {
        return None;
    }
    let (a_hat, a_norms) = normalise_rows(a)?;
    let (b_hat, b_norms) = normalise_rows(b)?;
    let mut s = Array2::<T>::zeros((n, n));
    matmul_into(&a_hat.view(), &b_hat.t(), &mut s, false);
    let tau = T::of(temperature);
    s.mapv_inplace(|v| v / tau);
    // P: softmax over each row (image → text); Qᵀ: over each column (text → image).
    let (p, lse_rows) = softmax_rows(s.view());
    let (q_t, lse_cols) = softmax_rows(s.t());
    // Row i's cross-entropy against (1−α)·onehot + α/n is lse_i − (1−α)·S_ii − (α/n)·Σ_j S_ij.
    let nf = n as f64;
    let diagonal: f64 = s.diag().iter().map(|v| v.to_f64()).sum();
    let total: f64 = s.iter().map(|v| v.to_f64()).sum();
    let rest = (1.0 - alpha) * diagonal + alpha / nf * total;
    let i2t = (lse_rows.iter().sum::<f64>() - rest) / nf;
    let t2i = (lse_cols.iter().sum::<f64>() - rest) / nf;
    let loss = (i2t + t2i) / 2.0;
    if !with_grads {
        return Some((loss, None));
    }
    // ∂L/∂S / τ = (P + Q − 2T) / (2nτ).
    let scale = T::of(1.0 / (2.0 * nf * temperature));
    let off_diagonal = T::of(2.0 * alpha / nf);
    let mut d_s = p;
    Zip::from(&mut d_s)
        .and(q_t.t())
        .for_each(|d, &q| *d = (*d + q - off_diagonal) * scale);
    let on_diagonal = T::of(2.0 * (1.0 - alpha)) * scale;
    d_s.diag_mut().mapv_inplace(|v| v - on_diagonal);
    let mut g_a = Array2::<T>::zeros((n, d));
    matmul_into(&d_s.view(), &b_hat.view(), &mut g_a, false);
    let mut g_b = Array2::<T>::zeros((n, d));
    matmul_into(&d_s.t(), &a_hat.view(), &mut g_b, false);
    normalise_backward(&a_hat, &a_norms, &mut g_a);
    normalise_backward(&b_hat, &b_norms, &mut g_b);
    Some((loss, Some([g_a, g_b])))
}

/// Each column's mean and unbiased variance, summed in f64 in row order. (A standard-layout
/// array is always one slice; None is never expected.)
fn column_moments<T: Float>(x: ArrayView2<'_, T>) -> Option<(Vec<f64>, Vec<f64>)> {
    let (n, d) = x.dim();
    let x = x.as_standard_layout();
    let values = x.as_slice()?;
    let rows = || values.chunks_exact(d.max(1));
    let mut mean = vec![0.0; d];
    for row in rows() {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v.to_f64();
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0.0; d];
    for row in rows() {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            let c = v.to_f64() - m;
            *s += c * c;
        }
    }
    var.iter_mut().for_each(|s| *s /= n as f64 - 1.0);
    Some((mean, var))
}

fn average(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The variance-matching loss of [`super::loss::variance_matching_value`]; None where the
/// shapes do not fit.
pub fn variance_matching<T: Float>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    reference: ArrayView2<'_, T>,
    with_grads: bool,
) -> Option<LossAndGrads<T>> {
    let (n, d) = a.dim();
    if b.dim() != (n, d) || reference.nrows() != n || n == 0 || d == 0 {
        return None;
    }
    let (_, var_r) = column_moments(reference)?;
    let same_width = reference.ncols() == d;
    let mean_var_r = average(&var_r);
    // One input's half of the loss, and its gradient when asked for.
    let term = |x: ArrayView2<'_, T>| -> Option<(f64, Option<Array2<T>>)> {
        let (mean, var) = column_moments(x)?;
        // c_d: what each column's variance is off by (or the mean variance, for every column).
        let c: Vec<f64> = if same_width {
            var.iter().zip(&var_r).map(|(v, r)| v - r).collect()
        } else {
            vec![average(&var) - mean_var_r; d]
        };
        let half = if same_width {
            c.iter().map(|c| c * c).sum::<f64>() / d as f64
        } else {
            c[0] * c[0]
        } / 2.0;
        let grad = with_grads.then(|| {
            let k = 2.0 / (d as f64 * (n as f64 - 1.0));
            let mut g = x.as_standard_layout().into_owned();
            for mut row in g.rows_mut() {
                for ((v, m), c) in row.iter_mut().zip(&mean).zip(&c) {
                    *v = T::of(k * c * (v.to_f64() - m));
                }
            }
            g
        });
        Some((half, grad))
    };
    let ((loss_a, g_a), (loss_b, g_b)) = (term(a)?, term(b)?);
    Some((loss_a + loss_b, g_a.zip(g_b).map(|(g_a, g_b)| [g_a, g_b])))
}

/// A loss term with its parameters: one dtype dispatch for both terms, with
/// and without gradients.
#[derive(Clone, Copy)]
pub enum LossTerm {
    Contrastive { temperature: f64, alpha: f64 },
    VarianceMatching,
}

/// A loss tensor and, when asked for, the gradient tensors of `a` and `b`.
pub type LossTensors = (NdArrayTensor, Option<[NdArrayTensor; 2]>);

impl LossTerm {
    /// The kernel on `[a, b]` (contrastive) or `[a, b, reference]`; None where the operands do
    /// not fit it.
    fn run<T: Float>(self, m: &[ArrayView2<'_, T>], with_grads: bool) -> Option<LossAndGrads<T>> {
        match (self, m) {
            (LossTerm::Contrastive { temperature, alpha }, [a, b]) => {
                contrastive(a.view(), b.view(), temperature, alpha, with_grads)
            }
            (LossTerm::VarianceMatching, [a, b, r]) => {
                variance_matching(a.view(), b.view(), r.view(), with_grads)
            }
            _ => None,
        }
    }

    /// The kernel on f32 or f64 matrices (all of one dtype); None otherwise, for the caller's
    /// fallback.
    pub fn on_ndarray(self, inputs: &[&NdArrayTensor], with_grads: bool) -> Option<LossTensors> {
        fn tensors<T: Clone>(loss: T, grads: Option<[Array2<T>; 2]>) -> LossTensors
        where
            NdArrayTensor: From<SharedArray<T>>,
        {
            let grads = grads.map(|g| g.map(|g| NdArrayTensor::from(shared(g))));
            (scalar_tensor(loss), grads)
        }
        let f32s: Option<Vec<_>> = inputs
            .iter()
            .map(|t| match t {
                NdArrayTensor::F32(x) => matrix(x.view()),
                _ => None,
            })
            .collect();
        if let Some(m) = f32s {
            let (loss, grads) = self.run(&m, with_grads)?;
            return Some(tensors(loss as f32, grads));
        }
        let f64s: Option<Vec<_>> = inputs
            .iter()
            .map(|t| match t {
                NdArrayTensor::F64(x) => matrix(x.view()),
                _ => None,
            })
            .collect();
        let (loss, grads) = self.run(&f64s?, with_grads)?;
        Some(tensors(loss, grads))
    }
}
