//! The `features:<encoder>` computation: each unique image (or caption) through one frozen
//! encoder, exactly once, into `features.npy` shards and `features.parquet`.
//!
//! - [`spec`]: an encoder's description in pipeline.toml (and the embedded / research presets);
//! - [`preprocess`]: image → tensor (stretch or shorter-side + centre crop);
//! - [`encode`]: batches through ONNX Runtime, the next batch prepared while this one runs;
//! - [`npy`]: the `.npy` format, written and memory-mapped;
//! - [`shards`]: shard files with a progress record, so a killed run resumes;
//! - [`matrix`]: reading a finished feature set (memory-mapped) downstream;
//! - [`output`]: `features.parquet`, the same rows with their ids, split and source;
//! - [`artifact`]: a feature set's folder, as its readers see it.

pub mod artifact;
pub mod encode;
pub mod matrix;
pub mod npy;
pub mod output;
pub mod preprocess;
pub mod shards;
pub mod spec;

pub use artifact::FeaturesArtifact;
pub use matrix::FeatureMatrix;

/// Bump when features computed from the same model, data and spec would differ, or their
/// files would (2: features.parquet in 8,192-row groups, was 65,536; 3: text batches by length).
pub const VERSION: u32 = 3;
pub use spec::EncoderSpec;
