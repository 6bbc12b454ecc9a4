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

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;

pub struct LossParts<B: Backend> {
    pub total: Tensor<B, 1>,
    pub contrastive: Tensor<B, 1>,
    pub variance: Tensor<B, 1>,
}

pub fn l2_normalise<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}

/// Cross-entropy of each row of `logits` against the diagonal, with label smoothing `alpha`.
fn smoothed_diagonal_ce<B: Backend>(logits: Tensor<B, 2>, alpha: f64) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    let logp = log_softmax(logits, 1);
    let device = logp.device();
    // Same float type as the logits (tests run the loss in f64).
    let eye = Tensor::<B, 2>::eye(n, &device);
    let eye: Tensor<B, 2> = eye.cast(logp.dtype());
    let target = eye.mul_scalar(1.0 - alpha).add_scalar(alpha / n as f64);
    (target * logp).sum_dim(1).neg().mean()
}

pub fn contrastive<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    temperature: f64,
    alpha: f64,
) -> Tensor<B, 1> {
    let a = l2_normalise(a);
    let b = l2_normalise(b);
    let logits = a.matmul(b.transpose()).div_scalar(temperature);
    let i2t = smoothed_diagonal_ce(logits.clone(), alpha);
    let t2i = smoothed_diagonal_ce(logits.transpose(), alpha);
    (i2t + t2i).div_scalar(2.0)
}

pub fn variance_matching<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    reference: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let var_r = reference.var(0);
    let same_width = a.dims()[1] == var_r.dims()[1];
    let term = |x: Tensor<B, 2>| -> Tensor<B, 1> {
        let v = x.var(0);
        if same_width {
            (v - var_r.clone()).powf_scalar(2.0).mean()
        } else {
            (v.mean() - var_r.clone().mean()).powf_scalar(2.0)
        }
    };
    (term(a) + term(b)).div_scalar(2.0)
}

pub fn loss<B: Backend>(
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
