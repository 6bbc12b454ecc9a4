//! # stages — what each pipeline stage computes
//!
//! Plain functions from inputs to outputs. Nothing here knows about caching, artifact folders or
//! the stage graph: that is the `pipeline` crate's job, and every function here can be called
//! and tested without it.
//!
//! ## What's here
//! - [`onnx`]: finding the ONNX Runtime shared library ([`onnx::runtime`]) and running a model
//!   whose input/output signature is checked at load ([`onnx::model`]).
//! - [`image`]: decoding (alpha composited over white), the exact PIL/torchvision bilinear
//!   resize ([`image::resize`]) and ImageNet normalisation into NCHW tensors ([`image::tensor`]).
//! - [`text`]: tokenisation with the pipeline's truncation and pad-to-longest batching.
//! - [`dataset`]: image–caption datasets (Tux Paint, Flickr30k, a CSV/Parquet manifest):
//!   reading, validating every record, the seeded split by image; the `ingest` computation.
//! - [`features`]: encoders over images and captions into `.npy` shards (resumable) and
//!   `features.parquet`; memory-mapped reading downstream.
//! - [`evaluate`]: the align and probe stages (H1/H2, retrieval, the linear probe).
//! - [`compare`]: `compare:<sweep>`: a sweep's members in one table (polars), across-seed
//!   aggregates with t intervals, alignment–performance correlations.
//! - [`stats`]: statistics across runs or encoders: Student t, Pearson and Spearman with
//!   bootstrap intervals and permutation p-values (checked against scipy).
//! - [`report`]: the HTML report with its figures (plotters) and metrics.json.
//! - [`table`]: Parquet tables (strings, numbers, FixedSizeList<Float32> vectors), and result
//!   types written as tables ([`table::Record`]);
//! - [`json`]: JSON files written with sorted keys and read back into their types;
//! - [`names`]: enums whose values are fixed names in files and on the page;
//! - [`spaces`]: the experiment's vocabulary: modalities, adapter weights, spaces, pairs.
//! - [`metrics`]: the representational-similarity metrics (kernel alignment, the PRH code's
//!   eight, debiased CKA), their preparation, intervals and permutation p-values: the
//!   `measures` crate, re-exported, with retrieval ranking beside it.
//! - [`train`]: the adapters (Burn), their loss, schedule and training loop.
//! - [`pooling`]: token-state pooling (CLS, attention-masked mean).
//! - [`perturb`]: caption perturbations (replace, drop, shuffle words; delete characters) and
//!   image perturbations (blur, pixels replaced by matched noise), seeded.
//! - [`shard`]: `I/N`, one of a stage's row shards (a way of running it, not a parameter).
//! - [`paths`]: where the project's `.venv`, models and datasets live.
//! - [`error`]: the crate's error type; every variant names the file or record involved;
//! - [`check`]: parameter values a stage cannot use, found before any work.

pub mod check;
pub mod compare;
pub mod dataset;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod image;
pub mod json;
pub mod metrics;
pub mod names;
pub mod onnx;
pub mod paths;
pub mod perturb;
pub mod pooling;
pub mod report;
pub mod shard;
pub mod spaces;
pub mod stats;
pub mod table;
pub mod text;
pub mod train;

pub use error::{Error, Result};
