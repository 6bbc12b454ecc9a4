//! The training loss.
//!
//! Contrastive (CLIP-style, both directions): with rows L2-normalised
//! (`x / max(‖x‖, 1e-12)`, as `F.normalize`), logits `S = A·Bᵀ / τ`, and PyTorch's label
//! smoothing (`target = (1 − α)·onehot + α/B`),
//!   `L_i2t = mean_i Σ_j −target_ij · log_softmax(S)_ij`, `L_t2i` the same on `Sᵀ`,
//!   `L_con = (L_i2t + L_t2i) / 2`.
//!
//! Variance matching (when `distribution_matching`): per-dimension variance over the batch with
//! PyTorch's default (unbiased, `n − 1`) estimator, of each adapter's output against the reference
//! features of the same rows,
//!   `L_var = ½ · [mean_d (var(A)_d − var(R)_d)² + mean_d (var(B)_d − var(R)_d)²]`,
//! and when the embedding width differs from the reference's, the mean variances instead:
//!   `L_var = ½ · [(mean_d var(A)_d − mean_d var(R)_d)² + (… B …)²]`.
//!
//! Total: `L = L_con + variance_weight · L_var`.
//!
//! Both terms are backend ops ([`AdapterOps::contrastive_loss`],
//! [`AdapterOps::variance_matching_loss`]): their gradients come with their values (derived in
//! [`crate::train::ops::loss`]), instead of ~60 small autodiff operations.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::train::ops::AdapterOps;
use crate::train::ops::loss::{primitive, tensor};

pub use crate::train::ops::loss::l2_normalise;

pub struct LossParts<B: Backend> {
    pub total: Tensor<B, 1>,
    pub contrastive: Tensor<B, 1>,
    pub variance: Tensor<B, 1>,
}

pub fn contrastive<B: AdapterOps>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    temperature: f64,
    alpha: f64,
) -> Tensor<B, 1> {
    tensor(B::contrastive_loss(
        primitive(a),
        primitive(b),
        temperature,
        alpha,
    ))
}

/// The reference gets no gradient (it is never trained).
pub fn variance_matching<B: AdapterOps>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
) -> Tensor<B, 1> {
    tensor(B::variance_matching_loss(
        primitive(a),
        primitive(b),
        primitive(reference),
    ))
}

/// [`loss`] with the temperature, label smoothing and variance weight of `config`.
pub fn of_config<B: AdapterOps>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
    config: &crate::train::TrainConfig,
) -> LossParts<B> {
    loss(
        a,
        b,
        reference,
        config.temperature,
        config.label_smoothing,
        config
            .distribution_matching
            .then_some(config.variance_weight),
    )
}

pub fn loss<B: AdapterOps>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
    temperature: f64,
    alpha: f64,
    variance_weight: Option<f64>,
) -> LossParts<B> {
    let contrastive = contrastive(a.clone(), b.clone(), temperature, alpha);
    let device = contrastive.device();
    let (variance, total) = match variance_weight {
        Some(w) => {
            let v = variance_matching(a, b, reference);
            (v.clone(), contrastive.clone() + v.mul_scalar(w))
        }
        None => (
            Tensor::zeros([1], (&device, contrastive.dtype())),
            contrastive.clone(),
        ),
    };
    LossParts {
        total,
        contrastive,
        variance,
    }
}
