//! LayerNorm over the last dimension, one pass over the rows each way (Burn's is a dozen tensor
//! operations forward and more backward), with the textbook gradient.

use burn::backend::ndarray::SharedArray;
use ndarray::{Array1, Array2, ArrayViewD, Ix1, Zip};

use super::float::{Float, lane_sum};
use super::{matrix, shared};

/// One row's mean and `1/√(σ² + ε)` (two passes: the variance of the centred values).
#[inline]
fn row_moments<T: Float>(row: &[T], epsilon: T) -> (T, T) {
    let n = T::of(row.len() as f64);
    let mean = lane_sum(row, row, |v, _| v) / n;
    let var = lane_sum(row, row, |v, _| (v - mean) * (v - mean)) / n;
    (mean, T::one() / (var + epsilon).sqrt())
}

/// LayerNorm of each row of `x` (`[rows, d]`), rows in parallel.
pub fn layer_norm<T: Float>(
    x: ArrayViewD<'_, T>,
    gamma: ArrayViewD<'_, T>,
    beta: ArrayViewD<'_, T>,
    epsilon: f64,
) -> Option<SharedArray<T>> {
    use rayon::prelude::*;
    let x = matrix(x)?.as_standard_layout().into_owned();
    let (gamma, beta) = (
        gamma.into_dimensionality::<Ix1>().ok()?,
        beta.into_dimensionality::<Ix1>().ok()?,
    );
    let d = x.ncols();
    if gamma.len() != d || beta.len() != d || d == 0 {
        return None;
    }
    let (gamma, beta) = (gamma.to_vec(), beta.to_vec());
    let eps = T::of(epsilon);
    let mut out = x;
    out.as_slice_mut()?.par_chunks_mut(d).for_each(|row| {
        let (mean, r) = row_moments(row, eps);
        for ((v, &g), &b) in row.iter_mut().zip(&gamma).zip(&beta) {
            *v = (*v - mean) * r * g + b;
        }
    });
    Some(shared(out))
}

/// `[dx, dγ, dβ]` of [`layer_norm`] (the formulas of
/// [`crate::train::ops::composite::layer_norm_backward`]); rows in parallel for dx, then the column sums
/// for dγ and dβ in row order, so results do not depend on the number of threads.
pub fn layer_norm_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    gamma: ArrayViewD<'_, T>,
    grad: ArrayViewD<'_, T>,
    epsilon: f64,
) -> Option<[SharedArray<T>; 3]> {
    use rayon::prelude::*;
    let x = matrix(x)?.as_standard_layout().into_owned();
    let g = matrix(grad)?.as_standard_layout().into_owned();
    let gamma = gamma.into_dimensionality::<Ix1>().ok()?.to_vec();
    let (rows, d) = x.dim();
    if g.dim() != (rows, d) || gamma.len() != d || d == 0 {
        return None;
    }
    let eps = T::of(epsilon);
    let n = T::of(d as f64);
    // x̂ (kept for dγ) and dx, row by row.
    let mut x_hat = x;
    let mut dx = Array2::<T>::zeros((rows, d));
    x_hat
        .as_slice_mut()?
        .par_chunks_mut(d)
        .zip(dx.as_slice_mut()?.par_chunks_mut(d))
        .zip(g.as_slice()?.par_chunks(d))
        .for_each(|((xh, dx), g)| {
            let (mean, r) = row_moments(xh, eps);
            for v in xh.iter_mut() {
                *v = (*v - mean) * r;
            }
            // dx̂ = g·γ, kept in dx until the means are known.
            for ((o, &gv), &gm) in dx.iter_mut().zip(g).zip(&gamma) {
                *o = gv * gm;
            }
            let mean_1 = lane_sum(dx, dx, |v, _| v) / n;
            let mean_2 = lane_sum(dx, xh, |v, h| v * h) / n;
            for (o, &v) in dx.iter_mut().zip(xh.iter()) {
                *o = r * (*o - mean_1 - v * mean_2);
            }
        });
    // Column sums in row order.
    let mut d_beta = Array1::<T>::zeros(d);
    let mut d_gamma = Array1::<T>::zeros(d);
    for (g, xh) in g.rows().into_iter().zip(x_hat.rows()) {
        Zip::from(&mut d_beta)
            .and(&mut d_gamma)
            .and(&g)
            .and(&xh)
            .for_each(|b, c, &gv, &h| {
                *b = *b + gv;
                *c = *c + gv * h;
            });
    }
    Some([shared(dx), shared(d_gamma), shared(d_beta)])
}
