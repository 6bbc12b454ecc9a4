//! ONNX Runtime: loading the shared library once ([`runtime`]) and running models whose
//! signature is checked when they are opened ([`model`]).

pub mod model;
pub mod runtime;

pub use model::OnnxModel;
