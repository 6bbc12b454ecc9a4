//! The two operations the adapters spend their time in, Linear and GELU, as backend operations
//! with their own backward passes.
//!
//! Why not Burn's own:
//! - **GELU's gradient.** Burn 0.21's `gelu` is the exact, erf-based GELU (PyTorch's
//!   `nn.GELU()`), but its `gelu_backward` is the derivative of the *tanh approximation*, with
//!   six-digit constants. Gradients through an MLP adapter were off by up to ~1e-3 relative
//!   (stages/tests/train_ops.rs shows it against finite differences). Here the backward is the
//!   derivative of the forward: `GELU'(x) = Φ(x) + x·φ(x)`.
//! - **Linear on the CPU.** Burn's ndarray matmul copies a transposed operand into a contiguous
//!   array before multiplying, and Linear's backward multiplies by `Wᵀ` and `xᵀ`: two copies per
//!   layer and step (about 12% of an MLP epoch in `perf`). matrixmultiply takes strided operands
//!   as they are, so [`cpu`] hands it the transposed views.
//!
//! [`AdapterOps`] has a default for every method, built from Burn's primitive operations, so any
//! backend works (the CUDA build uses the defaults); [`cpu`] overrides them with kernels for
//! Burn's ndarray backend and [`autodiff`] gives both operations their backward passes.

pub mod autodiff;
pub mod cpu;

use std::f64::consts::{PI, SQRT_2};

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// Backend operations of the adapters. Every method has a default from Burn's primitives.
pub trait AdapterOps: Backend {
    /// `x · weight + bias`, weight `[d_in, d_out]` (Burn's Linear layout).
    fn adapter_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        Self::linear(x, weight, bias)
    }

    /// `grad · weightᵀ`: the gradient of [`Self::adapter_linear`] with respect to `x`.
    fn adapter_linear_x_backward(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::linear_x_backward(weight, grad)
    }

    /// `xᵀ · grad`: the gradient with respect to `weight`.
    fn adapter_linear_weight_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::linear_weight_backward(x, grad)
    }

    /// The column sums of `grad`: the gradient with respect to `bias`.
    fn adapter_linear_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::linear_bias_backward(grad)
    }

    /// The exact GELU, `x·Φ(x) = ½·x·(1 + erf(x/√2))` (PyTorch's `nn.GELU()` default).
    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composite_gelu::<Self>(x)
    }

    /// `grad · GELU'(x)`, with `GELU'(x) = Φ(x) + x·φ(x)`.
    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        composite_gelu_backward::<Self>(x, grad)
    }
}

/// [`AdapterOps::gelu_exact`] from Burn's primitives (Burn's own forward is the exact one).
pub fn composite_gelu<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::gelu(x)
}

/// [`AdapterOps::gelu_exact_backward`] from Burn's primitives.
pub fn composite_gelu_backward<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    // Φ(x) = ½·(1 + erf(x/√2)), φ(x) = exp(−x²/2)/√(2π).
    let cdf = B::float_erf(B::float_div_scalar(x.clone(), SQRT_2.into()));
    let cdf = B::float_mul_scalar(B::float_add_scalar(cdf, 1.0.into()), 0.5.into());
    let square = B::float_mul(x.clone(), x.clone());
    let pdf = B::float_exp(B::float_mul_scalar(square, (-0.5).into()));
    let pdf = B::float_mul_scalar(pdf, (1.0 / (2.0 * PI).sqrt()).into());
    let derivative = B::float_add(cdf, B::float_mul(x, pdf));
    B::float_mul(grad, derivative)
}

/// Burn's [`Linear`] module (its parameters, init and record) applied through
/// [`AdapterOps::adapter_linear`].
pub fn linear<B: AdapterOps>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let bias = layer
        .bias
        .as_ref()
        .map(|b| b.val().into_primitive().tensor());
    let out = B::adapter_linear(
        x.into_primitive().tensor(),
        layer.weight.val().into_primitive().tensor(),
        bias,
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// The exact GELU through [`AdapterOps::gelu_exact`].
pub fn gelu<B: AdapterOps, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(B::gelu_exact(
        x.into_primitive().tensor(),
    )))
}

#[cfg(feature = "cuda")]
impl AdapterOps for burn::backend::Cuda {}
