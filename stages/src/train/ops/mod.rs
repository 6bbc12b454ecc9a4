//! What the adapters spend their time in, as backend operations with their own backward passes:
//! Linear, GELU, LayerNorm, dropout masks, the loss's two terms, Σx² for clipping, AdamW.
//!
//! Why not Burn's own:
//! - **GELU's gradient.** Burn 0.21's `gelu` is the exact, erf-based GELU (PyTorch's
//!   `nn.GELU()`), but its `gelu_backward` is the derivative of the *tanh approximation*, with
//!   six-digit constants. Gradients through an MLP adapter were off by up to ~1e-3 relative
//!   (stages/tests/train_ops.rs shows it against finite differences). Here the backward is the
//!   derivative of the forward: `GELU'(x) = Φ(x) + x·φ(x)`. On the CPU, f32 uses the
//!   vectorisable erf and exp of [`fast_math`].
//! - **Linear on the CPU.** Burn's ndarray matmul copies a transposed operand into a contiguous
//!   array before multiplying, and Linear's backward multiplies by `Wᵀ` and `xᵀ`: two copies per
//!   layer and step (about 12% of an MLP epoch in `perf`). The gemm crate takes strided operands
//!   as they are, so [`cpu`] hands it the transposed views.
//! - **Dropout's masks.** Burn samples them element by element; [`dropout`] hashes a counter.
//! - **LayerNorm.** Burn's is a dozen tensor operations forward and more backward; here one
//!   pass over the rows each way, with the textbook gradient.
//! - **The loss.** The contrastive and variance-matching terms are ~60 small autodiff operations
//!   in Burn; as ops ([`loss`], CPU kernels in [`cpu::loss`]) each computes its value and
//!   gradients at once, and the backward pass scales the gradients.
//! - **Σ x² for gradient clipping.** Burn's `powf_scalar(2.0)` multiplies a tensor by a clone of
//!   itself, which copies it first (copy-on-write), then allocates the product: three passes
//!   over every gradient; [`AdapterOps::sum_of_squares`] is one, without allocating.
//! - **AdamW.** Burn's step is a dozen whole-tensor operations per parameter (each a pass over
//!   memory and an allocation); [`AdapterOps::adamw_step`] is one pass on the CPU.
//!
//! The GELU gradient is a correctness fix and stays whatever the speed. The others are kept
//! because together they make an MLP epoch faster than PyTorch's CPU loop on the same rows
//! (docs/benchmarks.md, `bench_train`); each one's share of an epoch is said above.
//!
//! ## The seam
//! This folder is the only code that touches Burn's backend internals: [`AdapterOps`] has a
//! default for every method built from Burn's primitive operations ([`composite`]), so any
//! backend works (the CUDA build uses the defaults); [`cpu`] overrides them for Burn's ndarray
//! backend (its storage types), and [`autodiff`] registers the backward passes of the
//! differentiable ones (Burn's autodiff `Backward` API). Everything else in `train` uses Burn's
//! public module, tensor and record API, so a Burn upgrade changes these files: `autodiff.rs`,
//! `cpu/mod.rs` (dispatch on the storage) and `composite.rs` (primitive op names).

pub mod autodiff;
pub mod composite;
pub mod cpu;
pub mod dropout;
pub mod fast_math;
pub mod loss;

pub use composite::{
    composite_adamw_step, composite_gelu, composite_gelu_backward, composite_layer_norm_backward,
    composite_sum_of_squares,
};

use burn::nn::{LayerNorm, Linear};
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

    /// LayerNorm over the last dimension of a `[rows, d]` tensor: `(x − μ)/√(σ² + ε)·γ + β`,
    /// with the biased variance (PyTorch's and Burn's).
    fn adapter_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        Self::layer_norm(x, gamma, Some(beta), epsilon)
    }

    /// The gradients of [`Self::adapter_layer_norm`]: `[dx, dγ, dβ]`.
    fn adapter_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        composite_layer_norm_backward::<Self>(x, gamma, grad, epsilon)
    }

    /// `Σ x²` over all elements, as a one-element tensor (the global-norm clipping's sum).
    fn sum_of_squares(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composite_sum_of_squares::<Self>(x)
    }

    /// The contrastive loss of `a` and `b` (`[n, d]` each), a one-element tensor
    /// ([`loss::contrastive_value`]).
    fn contrastive_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> FloatTensor<Self> {
        loss::composite_contrastive::<Self>(a, b, temperature, alpha)
    }

    /// [`Self::contrastive_loss`] and its gradients: `[loss, ∂L/∂a, ∂L/∂b]`.
    fn contrastive_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> [FloatTensor<Self>; 3] {
        loss::composite_contrastive_and_grads::<Self>(a, b, temperature, alpha)
    }

    /// The variance-matching loss of `a` and `b` against `reference` (a constant: it gets no
    /// gradient), a one-element tensor ([`loss::variance_matching_value`]).
    fn variance_matching_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        loss::composite_variance_matching::<Self>(a, b, reference)
    }

    /// [`Self::variance_matching_loss`] and its gradients: `[loss, ∂L/∂a, ∂L/∂b]`.
    fn variance_matching_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        loss::composite_variance_matching_and_grads::<Self>(a, b, reference)
    }

    /// One AdamW step of one parameter tensor: the new `[param, moment_1, moment_2]`.
    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: &AdamWStep,
    ) -> [FloatTensor<Self>; 3] {
        composite_adamw_step::<Self>(param, grad, moment_1, moment_2, step)
    }
}

/// The constants of one AdamW step (PyTorch's `torch.optim.AdamW`, as Burn's `AdamW`):
///   m ← β₁·m + (1−β₁)·g,  v ← β₂·v + (1−β₂)·g²,
///   p ← p·(1 − lr·λ) − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    pub lr: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
    /// 1 for the first step.
    pub time: i32,
}

impl AdamWStep {
    /// `1 − β₁ᵗ`.
    pub fn bias_correction_1(&self) -> f64 {
        1.0 - self.beta_1.powi(self.time)
    }

    /// `1 − β₂ᵗ`.
    pub fn bias_correction_2(&self) -> f64 {
        1.0 - self.beta_2.powi(self.time)
    }
}

/// Burn's [`LayerNorm`] module (its parameters and record) applied through
/// [`AdapterOps::adapter_layer_norm`]. `epsilon` must be the one the module was built with
/// (Burn keeps it private): [`crate::train::model`] builds its norms with
/// [`LAYER_NORM_EPSILON`].
pub fn layer_norm<B: AdapterOps>(norm: &LayerNorm<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let Some(beta) = norm.beta.as_ref() else {
        return norm.forward(x);
    };
    let out = B::adapter_layer_norm(
        x.into_primitive().tensor(),
        norm.gamma.val().into_primitive().tensor(),
        beta.val().into_primitive().tensor(),
        LAYER_NORM_EPSILON,
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// LayerNorm's ε (PyTorch's and Burn's default).
pub const LAYER_NORM_EPSILON: f64 = 1e-5;

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
