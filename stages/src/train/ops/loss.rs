//! The training loss's two terms as backend operations (see [`crate::train::loss`] for the
//! formulas): their values from Burn tensor operations, as the loss was first written, and
//! their gradients derived by hand, for [`super::AdapterOps`]' defaults.
//!
//! Why an op: through Burn's autodiff the two terms were ~60 small tensor operations forward and
//! more backward, each an allocation and a pass (and a copy of `B̂ᵀ` for the logits), on the
//! training thread while the other core waited. As ops, their gradients are computed with the
//! value, and the backward pass only scales them by the incoming gradient.
//!
//! Gradients (rows of `A`, `B` are `a_i`, `b_i`; `n` rows; `T = (1−α)·I + α/n`):
//! - contrastive: with `P = softmax_rows(S)`, `Q = softmax_columns(S)`,
//!   `∂L/∂S = (P − T + Q − T) / 2n`, `∂L/∂Â = ∂L/∂S · B̂ / τ`, `∂L/∂B̂ = (∂L/∂S)ᵀ · Â / τ`, and
//!   through the normalisation `∂L/∂a_i = (g_i − â_i·(â_i·g_i)) / ‖a_i‖` (just `g_i / 10⁻¹²`
//!   where the norm is clamped).
//! - variance matching: `∂L/∂a_id = 2·c_d·(a_id − μ_d) / (D·(n − 1))`, with `D` the width of
//!   `A`, `c_d = var(A)_d − var(R)_d` when the widths match, else
//!   `c_d = mean var(A) − mean var(R)`.
//!
//! stages/tests/train_loss.rs checks the values against numpy and these gradients against
//! finite differences and against Burn's autodiff of the formulas below.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// Norms below this are clamped (as PyTorch's `F.normalize`).
pub const NORM_EPSILON: f64 = 1e-12;

pub(crate) fn tensor<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

pub(crate) fn primitive<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

/// `x / max(‖x‖, ε)` row by row, with the clamped norms (`[n, 1]`).
fn normalised<B: Backend>(x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(NORM_EPSILON);
    (x / norm.clone(), norm)
}

/// The rows of `x` L2-normalised, as `F.normalize`.
pub fn l2_normalise<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    normalised(x).0
}

/// The gradient with respect to `x` of a function of `x̂ = normalised(x)`, given its gradient
/// `d` with respect to `x̂`.
fn normalise_backward<B: Backend>(
    x_hat: Tensor<B, 2>,
    norm: Tensor<B, 2>,
    d: Tensor<B, 2>,
) -> Tensor<B, 2> {
    // Where the norm is clamped it is a constant: no projection term.
    let clamped = norm.clone().lower_equal_elem(NORM_EPSILON);
    let along = (x_hat.clone() * d.clone())
        .sum_dim(1)
        .mask_fill(clamped, 0.0);
    (d - x_hat * along) / norm
}

/// `(1 − α)·I + α/n`, in the dtype of `like`.
fn smoothed_targets<B: Backend>(n: usize, alpha: f64, like: &Tensor<B, 2>) -> Tensor<B, 2> {
    let eye: Tensor<B, 2> = Tensor::<B, 2>::eye(n, &like.device()).cast(like.dtype());
    eye.mul_scalar(1.0 - alpha).add_scalar(alpha / n as f64)
}

/// `S = Â·B̂ᵀ / τ` and the normalised rows with their norms.
#[allow(clippy::type_complexity)]
fn logits<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    temperature: f64,
) -> (Tensor<B, 2>, [(Tensor<B, 2>, Tensor<B, 2>); 2]) {
    let (a_hat, a_norm) = normalised(a);
    let (b_hat, b_norm) = normalised(b);
    let s = a_hat
        .clone()
        .matmul(b_hat.clone().transpose())
        .div_scalar(temperature);
    (s, [(a_hat, a_norm), (b_hat, b_norm)])
}

/// The contrastive loss, `[1]`.
pub fn contrastive_value<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    temperature: f64,
    alpha: f64,
) -> Tensor<B, 1> {
    let [n, _] = a.dims();
    let (s, _) = logits(a, b, temperature);
    let target = smoothed_targets(n, alpha, &s);
    // Rows: image → text; columns: text → image.
    let i2t = (target.clone() * log_softmax(s.clone(), 1))
        .sum_dim(1)
        .neg()
        .mean();
    let t2i = (target * log_softmax(s, 0)).sum_dim(0).neg().mean();
    (i2t + t2i).div_scalar(2.0)
}

/// The contrastive loss's gradients with respect to `a` and `b`.
pub fn contrastive_grads<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    temperature: f64,
    alpha: f64,
) -> [Tensor<B, 2>; 2] {
    let [n, _] = a.dims();
    let (s, [(a_hat, a_norm), (b_hat, b_norm)]) = logits(a, b, temperature);
    let target = smoothed_targets(n, alpha, &s);
    let d_s = (softmax(s.clone(), 1) + softmax(s, 0) - target.mul_scalar(2.0))
        .div_scalar(2.0 * n as f64 * temperature);
    let d_a_hat = d_s.clone().matmul(b_hat.clone());
    let d_b_hat = d_s.transpose().matmul(a_hat.clone());
    [
        normalise_backward(a_hat, a_norm, d_a_hat),
        normalise_backward(b_hat, b_norm, d_b_hat),
    ]
}

/// Per-dimension variance over the rows (unbiased), `[1, D]`.
fn column_variance<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    x.var(0)
}

/// The variance-matching loss, `[1]`.
pub fn variance_matching_value<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let var_r = column_variance(reference);
    let same_width = a.dims()[1] == var_r.dims()[1];
    let term = |x: Tensor<B, 2>| -> Tensor<B, 1> {
        let v = column_variance(x);
        if same_width {
            (v - var_r.clone()).powf_scalar(2.0).mean()
        } else {
            (v.mean() - var_r.clone().mean()).powf_scalar(2.0)
        }
    };
    (term(a) + term(b)).div_scalar(2.0)
}

/// The variance-matching loss's gradients with respect to `a` and `b`.
pub fn variance_matching_grads<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
) -> [Tensor<B, 2>; 2] {
    let var_r = column_variance(reference);
    let same_width = a.dims()[1] == var_r.dims()[1];
    let grad = |x: Tensor<B, 2>| -> Tensor<B, 2> {
        let [n, d] = x.dims();
        let centred = x.clone() - x.clone().mean_dim(0);
        let v = column_variance(x);
        let c = if same_width {
            v - var_r.clone()
        } else {
            (v.mean() - var_r.clone().mean()).reshape([1, 1])
        };
        (centred * c).mul_scalar(2.0 / (d as f64 * (n as f64 - 1.0)))
    };
    [grad(a), grad(b)]
}

/// [`super::AdapterOps::contrastive_loss`] from Burn's tensor operations.
pub fn composite_contrastive<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    temperature: f64,
    alpha: f64,
) -> FloatTensor<B> {
    primitive(contrastive_value::<B>(
        tensor(a),
        tensor(b),
        temperature,
        alpha,
    ))
}

/// [`super::AdapterOps::contrastive_loss_and_grads`] from Burn's tensor operations.
pub fn composite_contrastive_and_grads<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    temperature: f64,
    alpha: f64,
) -> [FloatTensor<B>; 3] {
    let (a, b) = (tensor::<B, 2>(a), tensor::<B, 2>(b));
    let value = contrastive_value(a.clone(), b.clone(), temperature, alpha);
    let [g_a, g_b] = contrastive_grads(a, b, temperature, alpha);
    [primitive(value), primitive(g_a), primitive(g_b)]
}

/// [`super::AdapterOps::variance_matching_loss`] from Burn's tensor operations.
pub fn composite_variance_matching<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    reference: FloatTensor<B>,
) -> FloatTensor<B> {
    primitive(variance_matching_value::<B>(
        tensor(a),
        tensor(b),
        tensor(reference),
    ))
}

/// [`super::AdapterOps::variance_matching_loss_and_grads`] from Burn's tensor operations.
pub fn composite_variance_matching_and_grads<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    reference: FloatTensor<B>,
) -> [FloatTensor<B>; 3] {
    let (a, b) = (tensor::<B, 2>(a), tensor::<B, 2>(b));
    let reference = tensor::<B, 2>(reference);
    let value = variance_matching_value(a.clone(), b.clone(), reference.clone());
    let [g_a, g_b] = variance_matching_grads(a, b, reference);
    [primitive(value), primitive(g_a), primitive(g_b)]
}
