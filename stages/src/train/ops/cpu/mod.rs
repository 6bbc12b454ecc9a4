//! [`AdapterOps`] kernels for Burn's ndarray backend (the CPU default), one file per op:
//!
//! - [`linear`]: Linear and its gradients, products through [`gemm`] on strided operands;
//! - [`gelu`]: the exact GELU and its derivative, elementwise;
//! - [`layer_norm`]: LayerNorm forward and backward, one pass over the rows each way;
//! - [`loss`]: the two loss terms with their gradients;
//! - [`reduce`]: `Σ x²` for clipping; [`adamw`]: the optimiser step;
//! - [`float`]: the element types (f32, f64) and their shared sums.
//!
//! Every kernel takes f32 or f64 arrays; [`on_floats!`] picks the element type once for all
//! ops, and anything else (other dtypes, other ranks, mismatched shapes) falls back to the
//! defaults built from Burn's primitives ([`super::composite`]).

pub mod adamw;
pub mod float;
pub mod gelu;
pub mod gemm;
pub mod layer_norm;
pub mod linear;
pub mod loss;
pub mod reduce;

use burn::backend::NdArray;
use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, ModuleOps};
use ndarray::{Array1, ArrayView2, ArrayViewD, Dimension, Ix2};

pub use float::Float;

use super::{
    AdamWStep, AdapterOps, composite_adamw_step, composite_gelu, composite_gelu_backward,
    composite_layer_norm_backward, composite_sum_of_squares,
};

fn matrix<T>(a: ArrayViewD<'_, T>) -> Option<ArrayView2<'_, T>> {
    a.into_dimensionality::<Ix2>().ok()
}

fn shared<T: Clone, D: Dimension>(a: ndarray::Array<T, D>) -> SharedArray<T> {
    a.into_dyn().into_shared()
}

/// A one-element tensor (a loss value, a sum).
fn scalar_tensor<T: Clone>(v: T) -> NdArrayTensor
where
    NdArrayTensor: From<SharedArray<T>>,
{
    NdArrayTensor::from(shared(Array1::from_elem(1, v)))
}

/// A kernel's output arrays as tensors.
trait IntoTensors {
    type Tensors;
    fn into_tensors(self) -> Self::Tensors;
}

impl<T> IntoTensors for SharedArray<T>
where
    NdArrayTensor: From<SharedArray<T>>,
{
    type Tensors = NdArrayTensor;
    fn into_tensors(self) -> NdArrayTensor {
        self.into()
    }
}

impl<T, const N: usize> IntoTensors for [SharedArray<T>; N]
where
    NdArrayTensor: From<SharedArray<T>>,
{
    type Tensors = [NdArrayTensor; N];
    fn into_tensors(self) -> [NdArrayTensor; N] {
        self.map(Into::into)
    }
}

/// `on_floats!((a, b) => |a, b| kernel(a.view(), b.view()))`: the kernel on the f32 (or f64)
/// storage of every tensor when all are of that type, its output as tensors; None otherwise.
/// The kernel returns an `Option` of one array or an array of arrays.
macro_rules! on_floats {
    (($t:expr) => |$v:ident| $kernel:expr) => {{
        use burn::backend::ndarray::NdArrayTensor::{F32, F64};
        match $t {
            F32($v) => $kernel.map(IntoTensors::into_tensors),
            F64($v) => $kernel.map(IntoTensors::into_tensors),
            _ => None,
        }
    }};
    (($($t:expr),+) => |$($v:ident),+| $kernel:expr) => {{
        use burn::backend::ndarray::NdArrayTensor::{F32, F64};
        match ($($t),+) {
            ($(F32($v)),+) => $kernel.map(IntoTensors::into_tensors),
            ($(F64($v)),+) => $kernel.map(IntoTensors::into_tensors),
            _ => None,
        }
    }};
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
        let out = bias.as_ref().and_then(|b| {
            on_floats!((&x, &weight, b) => |x, w, b| linear::linear(x.view(), w.view(), b.view()))
        });
        out.unwrap_or_else(|| Self::linear(x, weight, bias))
    }

    fn adapter_linear_x_backward(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        on_floats!((&weight, &grad) => |w, g| linear::linear_x_backward(w.view(), g.view()))
            .unwrap_or_else(|| Self::linear_x_backward(weight, grad))
    }

    fn adapter_linear_weight_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        on_floats!((&x, &grad) => |x, g| linear::linear_weight_backward(x.view(), g.view()))
            .unwrap_or_else(|| Self::linear_weight_backward(x, grad))
    }

    fn adapter_linear_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        on_floats!((&grad) => |g| linear::linear_bias_backward(g.view()))
            .unwrap_or_else(|| Self::linear_bias_backward(grad))
    }

    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        on_floats!((&x) => |v| Some(gelu::gelu(v.view())))
            .unwrap_or_else(|| composite_gelu::<Self>(x))
    }

    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        on_floats!((&x, &grad) => |x, g| gelu::gelu_backward(x.view(), g.view()))
            .unwrap_or_else(|| composite_gelu_backward::<Self>(x, grad))
    }

    fn adapter_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        on_floats!((&x, &gamma, &beta) => |x, g, b| {
            layer_norm::layer_norm(x.view(), g.view(), b.view(), epsilon)
        })
        .unwrap_or_else(|| Self::layer_norm(x, gamma, Some(beta), epsilon))
    }

    fn adapter_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        on_floats!((&x, &gamma, &grad) => |x, m, g| {
            layer_norm::layer_norm_backward(x.view(), m.view(), g.view(), epsilon)
        })
        .unwrap_or_else(|| composite_layer_norm_backward::<Self>(x, gamma, grad, epsilon))
    }

    fn sum_of_squares(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match &x {
            NdArrayTensor::F32(v) => scalar_tensor(reduce::sum_of_squares(v.view()) as f32),
            NdArrayTensor::F64(v) => scalar_tensor(reduce::sum_of_squares(v.view())),
            _ => composite_sum_of_squares::<Self>(x),
        }
    }

    fn contrastive_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> FloatTensor<Self> {
        let term = loss::LossTerm::Contrastive { temperature, alpha };
        match term.on_ndarray(&[&a, &b], false) {
            Some((loss, _)) => loss,
            None => super::loss::composite_contrastive::<Self>(a, b, temperature, alpha),
        }
    }

    fn contrastive_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> [FloatTensor<Self>; 3] {
        let term = loss::LossTerm::Contrastive { temperature, alpha };
        match term.on_ndarray(&[&a, &b], true) {
            Some((loss, Some([g_a, g_b]))) => [loss, g_a, g_b],
            _ => super::loss::composite_contrastive_and_grads::<Self>(a, b, temperature, alpha),
        }
    }

    fn variance_matching_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match loss::LossTerm::VarianceMatching.on_ndarray(&[&a, &b, &reference], false) {
            Some((loss, _)) => loss,
            None => super::loss::composite_variance_matching::<Self>(a, b, reference),
        }
    }

    fn variance_matching_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        match loss::LossTerm::VarianceMatching.on_ndarray(&[&a, &b, &reference], true) {
            Some((loss, Some([g_a, g_b]))) => [loss, g_a, g_b],
            _ => super::loss::composite_variance_matching_and_grads::<Self>(a, b, reference),
        }
    }

    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: &AdamWStep,
    ) -> [FloatTensor<Self>; 3] {
        use NdArrayTensor::{F32, F64};
        // The kernel updates in place, so it takes the arrays by value (not through
        // `on_floats!`). The storage type is private to burn-ndarray: shapes are compared
        // through its methods.
        let same = |a: &[usize], b: &[usize], c: &[usize], d: &[usize]| a == b && b == c && c == d;
        match (param, grad, moment_1, moment_2) {
            (F32(p), F32(g), F32(m), F32(v))
                if same(p.shape(), g.shape(), m.shape(), v.shape()) =>
            {
                let g = g.view();
                adamw::adamw_step(p.into_shared(), g, m.into_shared(), v.into_shared(), step)
                    .into_tensors()
            }
            (F64(p), F64(g), F64(m), F64(v))
                if same(p.shape(), g.shape(), m.shape(), v.shape()) =>
            {
                let g = g.view();
                adamw::adamw_step(p.into_shared(), g, m.into_shared(), v.into_shared(), step)
                    .into_tensors()
            }
            (p, g, m, v) => composite_adamw_step::<Self>(p, g, m, v, step),
        }
    }
}
