//! Burn's CPU products through [`measures::linalg`]'s gemm wrapper (shared with the metrics).

use burn::backend::ndarray::SharedArray;
use ndarray::{Array2, ArrayView2};

pub use measures::linalg::matmul_into;

use super::float::Float;
use super::shared;

/// `a · b` into a new array; None where the inner dimensions differ.
pub fn product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Option<SharedArray<T>> {
    if a.ncols() != b.nrows() {
        return None;
    }
    let mut out = Array2::<T>::zeros((a.nrows(), b.ncols()));
    matmul_into(&a, &b, &mut out, false);
    Some(shared(out))
}
