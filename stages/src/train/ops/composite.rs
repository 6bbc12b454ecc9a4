//! The defaults of [`AdapterOps`](super::AdapterOps), built from Burn's primitive operations:
//! what every backend without kernels of its own (CUDA) runs, and what the CPU kernels are
//! tested against.

use std::f64::consts::{PI, SQRT_2};

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

use super::AdamWStep;

/// [`AdapterOps::sum_of_squares`] from Burn's primitives.
pub fn composite_sum_of_squares<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::float_sum(B::float_mul(x.clone(), x))
}

/// [`AdapterOps::adamw_step`] from Burn's primitives.
pub fn composite_adamw_step<B: Backend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moment_1: FloatTensor<B>,
    moment_2: FloatTensor<B>,
    s: &AdamWStep,
) -> [FloatTensor<B>; 3] {
    let m = B::float_add(
        B::float_mul_scalar(moment_1, s.beta_1.into()),
        B::float_mul_scalar(grad.clone(), (1.0 - s.beta_1).into()),
    );
    let square = B::float_mul(grad.clone(), grad);
    let v = B::float_add(
        B::float_mul_scalar(moment_2, s.beta_2.into()),
        B::float_mul_scalar(square, (1.0 - s.beta_2).into()),
    );
    let m_hat = B::float_div_scalar(m.clone(), s.bias_correction_1().into());
    let v_hat = B::float_div_scalar(v.clone(), s.bias_correction_2().into());
    let update = B::float_div(
        m_hat,
        B::float_add_scalar(B::float_sqrt(v_hat), s.epsilon.into()),
    );
    let decayed = B::float_mul_scalar(param, (1.0 - s.lr * s.weight_decay).into());
    let p = B::float_sub(decayed, B::float_mul_scalar(update, s.lr.into()));
    [p, m, v]
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

/// [`AdapterOps::adapter_layer_norm_backward`] from Burn's primitives, for `[rows, d]`:
///   x̂ = (x − μ)·r, r = 1/√(σ² + ε);  dβ = Σ_rows g;  dγ = Σ_rows g·x̂;
///   dx = r · (g·γ − mean_d(g·γ) − x̂ · mean_d(g·γ·x̂)).
pub fn composite_layer_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    epsilon: f64,
) -> [FloatTensor<B>; 3] {
    use burn::tensor::{Shape, TensorMetadata};
    let d = x.shape()[1];
    let mean = B::float_mean_dim(x.clone(), 1);
    let centered = B::float_sub(x, mean);
    let var = B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), 1);
    let r = B::float_recip(B::float_sqrt(B::float_add_scalar(var, epsilon.into())));
    let x_hat = B::float_mul(centered, r.clone());
    let d_beta = B::float_reshape(B::float_sum_dim(grad.clone(), 0), Shape::new([d]));
    let d_gamma = B::float_reshape(
        B::float_sum_dim(B::float_mul(grad.clone(), x_hat.clone()), 0),
        Shape::new([d]),
    );
    let d_x_hat = B::float_mul(grad, B::float_reshape(gamma, Shape::new([1, d])));
    let mean_1 = B::float_mean_dim(d_x_hat.clone(), 1);
    let mean_2 = B::float_mean_dim(B::float_mul(d_x_hat.clone(), x_hat.clone()), 1);
    let inner = B::float_sub(B::float_sub(d_x_hat, mean_1), B::float_mul(x_hat, mean_2));
    [B::float_mul(inner, r), d_gamma, d_beta]
}
