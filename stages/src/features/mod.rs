//! The `features:<encoder>` computation: each unique image (or caption) through one frozen
//! encoder, exactly once, into `features.npy` shards and `features.parquet`.
//!
//! - [`spec`]: an encoder's description in pipeline.toml (and the embedded / research presets);
//! - [`preprocess`]: image → tensor (stretch or shorter-side + centre crop);
//! - [`units`]: the row ranges an encoder's batches are formed within (what a shard takes);
//! - [`encode`]: batches through ONNX Runtime, the next batch prepared while this one runs;
//! - [`npy`]: the `.npy` format, written and memory-mapped;
//! - [`shards`]: shard files with a progress record, so a killed run resumes;
//! - [`matrix`]: reading a finished feature set (memory-mapped) downstream;
//! - [`output`]: `features.parquet`, the same rows with their ids, split and source;
//! - [`assemble`]: a feature set built as shards, put back together as one run writes it;
//! - [`artifact`]: a feature set's folder, as its readers see it.

pub mod artifact;
pub mod assemble;
pub mod encode;
pub mod matrix;
pub mod npy;
pub mod output;
pub mod preprocess;
pub mod shards;
pub mod spec;
pub mod units;

pub use artifact::FeaturesArtifact;
pub use matrix::FeatureMatrix;

/// Bump when features computed from the same model, data and spec would differ, or their
/// files would (2: features.parquet in 8,192-row groups, was 65,536; 3: text batches by length).
pub const VERSION: u32 = 3;

/// [`VERSION`] of the text encoders' features (4: captions sorted by length within blocks of
/// about 16 batches that end between images, [`units::Units::texts`], no longer within each
/// 65,536-row file; sets of up to 16 batches keep their bytes).
pub const TEXT_VERSION: u32 = 4;
pub use spec::EncoderSpec;
