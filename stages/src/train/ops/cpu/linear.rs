//! Linear and its three gradients: the bias written into the output first, the product added
//! onto it ([`super::gemm`]).

use burn::backend::ndarray::SharedArray;
use ndarray::{Array1, Array2, ArrayViewD, Axis, Ix1};

use super::float::Float;
use super::gemm::{matmul_into, product};
use super::{matrix, shared};

/// `x · w + b`; None where the shapes are not those of a linear layer.
pub fn linear<T: Float>(
    x: ArrayViewD<'_, T>,
    w: ArrayViewD<'_, T>,
    b: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    let (x, w) = (matrix(x)?, matrix(w)?);
    let b = b.into_dimensionality::<Ix1>().ok()?;
    if x.ncols() != w.nrows() || b.len() != w.ncols() {
        return None;
    }
    let mut out = Array2::<T>::zeros((x.nrows(), w.ncols()));
    out.assign(&b);
    matmul_into(&x, &w, &mut out, true);
    Some(shared(out))
}

/// `g · wᵀ`.
pub fn linear_x_backward<T: Float>(
    w: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    product(matrix(g)?, matrix(w)?.reversed_axes())
}

/// `xᵀ · g`.
pub fn linear_weight_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    product(matrix(x)?.reversed_axes(), matrix(g)?)
}

/// Column sums of `g`.
pub fn linear_bias_backward<T: Float>(g: ArrayViewD<'_, T>) -> Option<SharedArray<T>> {
    let g = matrix(g)?;
    let sums: Array1<T> = g.sum_axis(Axis(0));
    Some(shared(sums))
}
