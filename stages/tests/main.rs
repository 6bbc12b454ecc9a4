//! The `stages` crate's integration tests, in one binary: every test binary links Burn, ONNX
//! Runtime, arrow and plotters, so one binary instead of one per file saves most of the link
//! time. One module per subject.

mod common;
mod compare_golden;
mod datasets;
mod embedded_models;
mod features_golden;
mod fuzz;
mod metrics_golden;
mod metrics_linear;
mod research_specs;
mod results;
mod train_loss;
mod train_ops;
