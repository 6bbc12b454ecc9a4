//! [`AdapterOps`] kernels for Burn's ndarray backend (the CPU default).
//!
//! - Linear and its two gradients call matrixmultiply (through ndarray's `general_mat_mul`,
//!   threaded) on the operands as they lie in memory: `Wᵀ` and `xᵀ` are strided views, not
//!   copies. The bias is written into the output first and the product added onto it.
//! - GELU and its derivative are one pass each over the elements (Burn's are five and fifteen
//!   tensor operations), split across threads when large. Each element is computed alone, so
//!   results do not depend on the number of threads.
//!
//! f32 and f64 tensors take these paths; anything else (other dtypes, other ranks) falls back to
//! the defaults built from Burn's primitives.

use burn::backend::NdArray;
use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, ModuleOps};
use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array1, Array2, ArrayView2, ArrayViewD, Axis, Dimension, Ix1, Ix2, LinalgScalar, Zip,
};

use super::{AdapterOps, composite_gelu, composite_gelu_backward};

/// Below this many elements, GELU runs on the calling thread: splitting costs more.
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// The float types of the kernels.
pub trait Float: LinalgScalar + Send + Sync {
    /// `x·Φ(x)`.
    fn gelu(self) -> Self;
    /// `Φ(x) + x·φ(x)`.
    fn gelu_derivative(self) -> Self;
}

impl Float for f32 {
    fn gelu(self) -> f32 {
        0.5 * self * (1.0 + libm::erff(self * std::f32::consts::FRAC_1_SQRT_2))
    }
    fn gelu_derivative(self) -> f32 {
        // 1/√(2π)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        let cdf = 0.5 * (1.0 + libm::erff(self * std::f32::consts::FRAC_1_SQRT_2));
        cdf + self * INV_SQRT_2PI * libm::expf(-0.5 * self * self)
    }
}

impl Float for f64 {
    fn gelu(self) -> f64 {
        0.5 * self * (1.0 + libm::erf(self * std::f64::consts::FRAC_1_SQRT_2))
    }
    fn gelu_derivative(self) -> f64 {
        const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
        let cdf = 0.5 * (1.0 + libm::erf(self * std::f64::consts::FRAC_1_SQRT_2));
        cdf + self * INV_SQRT_2PI * libm::exp(-0.5 * self * self)
    }
}

fn matrix<T>(a: ArrayViewD<'_, T>) -> Option<ArrayView2<'_, T>> {
    a.into_dimensionality::<Ix2>().ok()
}

fn shared<T: Clone, D: Dimension>(a: ndarray::Array<T, D>) -> SharedArray<T> {
    a.into_dyn().into_shared()
}

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
    general_mat_mul(T::one(), &x, &w, T::one(), &mut out);
    Some(shared(out))
}

/// `g · wᵀ`.
pub fn linear_x_backward<T: Float>(
    w: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    let (w, g) = (matrix(w)?, matrix(g)?);
    if g.ncols() != w.ncols() {
        return None;
    }
    let mut out = Array2::<T>::zeros((g.nrows(), w.nrows()));
    general_mat_mul(T::one(), &g, &w.t(), T::zero(), &mut out);
    Some(shared(out))
}

/// `xᵀ · g`.
pub fn linear_weight_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    let (x, g) = (matrix(x)?, matrix(g)?);
    if x.nrows() != g.nrows() {
        return None;
    }
    let mut out = Array2::<T>::zeros((x.ncols(), g.ncols()));
    general_mat_mul(T::one(), &x.t(), &g, T::zero(), &mut out);
    Some(shared(out))
}

/// Column sums of `g`.
pub fn linear_bias_backward<T: Float>(g: ArrayViewD<'_, T>) -> Option<SharedArray<T>> {
    let g = matrix(g)?;
    let sums: Array1<T> = g.sum_axis(Axis(0));
    Some(shared(sums))
}

pub fn gelu<T: Float>(x: ArrayViewD<'_, T>) -> SharedArray<T> {
    let zip = Zip::from(&x);
    let out = if x.len() >= PARALLEL_ELEMENTS {
        zip.par_map_collect(|&v| v.gelu())
    } else {
        zip.map_collect(|&v| v.gelu())
    };
    out.into_shared()
}

pub fn gelu_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    if x.shape() != g.shape() {
        return None;
    }
    let zip = Zip::from(&x).and(&g);
    let out = if x.len() >= PARALLEL_ELEMENTS {
        zip.par_map_collect(|&v, &d| d * v.gelu_derivative())
    } else {
        zip.map_collect(|&v, &d| d * v.gelu_derivative())
    };
    Some(out.into_shared())
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> AdapterOps for NdArray<E, I, Q>
where
    NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>,
{
    fn adapter_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &weight, &bias) {
            (F32(x), F32(w), Some(F32(b))) => linear(x.view(), w.view(), b.view()).map(Into::into),
            (F64(x), F64(w), Some(F64(b))) => linear(x.view(), w.view(), b.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear(x, weight, bias))
    }

    fn adapter_linear_x_backward(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&weight, &grad) {
            (F32(w), F32(g)) => linear_x_backward(w.view(), g.view()).map(Into::into),
            (F64(w), F64(g)) => linear_x_backward(w.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_x_backward(weight, grad))
    }

    fn adapter_linear_weight_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &grad) {
            (F32(x), F32(g)) => linear_weight_backward(x.view(), g.view()).map(Into::into),
            (F64(x), F64(g)) => linear_weight_backward(x.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_weight_backward(x, grad))
    }

    fn adapter_linear_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match &grad {
            F32(g) => linear_bias_backward(g.view()).map(Into::into),
            F64(g) => linear_bias_backward(g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_bias_backward(grad))
    }

    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match &x {
            NdArrayTensor::F32(v) => gelu(v.view()).into(),
            NdArrayTensor::F64(v) => gelu(v.view()).into(),
            _ => composite_gelu::<Self>(x),
        }
    }

    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &grad) {
            (F32(x), F32(g)) => gelu_backward(x.view(), g.view()).map(Into::into),
            (F64(x), F64(g)) => gelu_backward(x.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| composite_gelu_backward::<Self>(x, grad))
    }
}
