//! The `train:<adapter>` computation: one adapter per modality (image, text) trained with Burn
//! from the cached features, as the research specifies. Split as in tracel-ai/models'
//! resnet-burn fine-tuning example:
//!
//! - [`config`]: `TrainConfig`, every hyperparameter, with the research's two experiments;
//! - [`model`]: the adapters (linear, MLP) as Burn modules;
//! - [`ops`]: Linear, exact GELU, LayerNorm, dropout, AdamW and the two loss terms as backend
//!   operations with their own gradients and CPU kernels;
//! - [`loss`]: bidirectional contrastive loss with label smoothing, variance matching;
//! - [`optimizer`]: AdamW, one fused step per parameter;
//! - [`schedule`]: cosine learning rate with linear warmup;
//! - [`clip`]: global-norm gradient clipping over both adapters;
//! - [`data`]: the training rows (image, caption, reference features of one pair) and batches;
//! - [`training`]: the loop (accumulation, clipping, the schedule, one epoch at a time);
//! - [`validation`]: loss and retrieval R@1 on the validation pairs after each epoch;
//! - [`history`]: one row per epoch, `history.parquet`;
//! - [`checkpoint`]: epoch checkpoints, and resuming from them;
//! - [`export`]: the adapters' embeddings of every image and caption;
//! - [`artifact`]: the layout of a `train:<name>` artifact, for its writer and its readers;
//! - [`compare`]: two trainings of one config compared (CUDA against CPU in `make gpu-check`);
//! - [`inference`]: a trained artifact's adapters loaded back and applied to other features.

pub mod artifact;
pub mod checkpoint;
pub mod clip;
pub mod compare;
pub mod config;
pub mod data;
pub mod export;
pub mod history;
pub mod inference;
pub mod loss;
pub mod model;
pub mod ops;
pub mod optimizer;
pub mod schedule;
pub mod training;
pub mod validation;

pub use artifact::TrainArtifact;
pub use config::TrainConfig;

/// Bump when the same features and config would train different adapters or write a different
/// artifact. (7: builds at `-j N` before it could draw other initial weights and dropout keys
/// than the same build alone, under the same key; the bump retires those artifacts.)
pub const VERSION: u32 = 7;

/// The CPU backend used by default, with autodiff.
pub type CpuBackend = burn::backend::Autodiff<burn::backend::NdArray<f32>>;

/// What the `train` stage trains on: the CPU backend, or in a build with the `cuda` feature,
/// Burn's CUDA backend (the default CUDA device), with autodiff.
#[cfg(not(feature = "cuda"))]
pub type TrainBackend = CpuBackend;
#[cfg(feature = "cuda")]
pub type TrainBackend = burn::backend::Autodiff<burn::backend::Cuda>;

/// The backend the `train` stage uses in this build: "ndarray" (CPU), or "cuda" with the `cuda`
/// feature. Float results differ between backends, so it is part of the stage's key.
pub const BACKEND: &str = if cfg!(feature = "cuda") {
    "cuda"
} else {
    "ndarray"
};
