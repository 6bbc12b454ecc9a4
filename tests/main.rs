//! End-to-end tests, in one binary (each test binary links Burn, ONNX Runtime, arrow and
//! plotters; one binary instead of one per file saves most of the link time):
//!
//! - [`engine`]: the stage engine through the real CLI over toy stages (`pipeline-toy`);
//! - [`passes`]: artifacts of one shared pass (one model file, several encoders) built once;
//! - [`sweeps`]: sweeps and `run -j N` over the same toy stages;
//! - [`features_e2e`], [`train_e2e`], [`evaluate_e2e`]: the `pipeline` binary on the embedded
//!   default, in a throw-away project folder ([`common::Project`]);
//! - [`modelset_e2e`]: `align:modelset` over four encoders against `pipeline metric`;
//! - [`research_e2e`]: the research's encoders exported with torch, read as torch reads them;
//! - [`shards_e2e`]: `run --shard I/N` and the assembly of the shards into one run's bytes;
//! - [`slurm_e2e`]: `pipeline submit` on a real one-node Slurm (scripts/slurm-local);
//! - [`build_features`]: every build of the workspace resolves the same dependency features;
//! - [`gpu_check`]: `make gpu-check` without a GPU (its refusal, and its comparison on CPU runs).

mod build_features;
mod common;
mod config_e2e;
mod engine;
mod evaluate_e2e;
mod faults;
mod features_e2e;
mod fuzz_config;
mod gpu_check;
mod layout;
mod modelset_e2e;
mod passes;
mod research_e2e;
mod shards_e2e;
mod slurm_e2e;
mod sweeps;
mod train_e2e;
