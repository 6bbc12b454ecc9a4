//! One ONNX model file opened in an ONNX Runtime session, with its signature checked at load.
//!
//! A model that does not have the inputs and outputs its spec names is rejected when it is
//! opened, with a message listing what the file actually has, rather than failing mid-run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ort::ep::ExecutionProviderDispatch;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::{DynValue, Tensor, TensorElementType};

use crate::error::{Error, Result};
use crate::onnx::runtime;

/// An input tensor for [`OnnxModel::run`].
pub enum Input {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
}

/// What a model must look like: input and output names, and for each output its rank.
#[derive(Debug, Clone)]
pub struct Signature {
    pub inputs: Vec<String>,
    pub outputs: Vec<(String, usize)>,
}

pub struct OnnxModel {
    path: PathBuf,
    session: Session,
}

impl OnnxModel {
    /// Opens `path` with `threads` intra-op threads (0 = ONNX Runtime's default, one per core).
    pub fn open(path: &Path, threads: usize) -> Result<Self> {
        Self::open_with(path, threads, true)
    }

    /// As [`OnnxModel::open`]; `spin = false` stops idle ONNX Runtime threads from spinning, which
    /// matters when other work (decoding the next batch of images) shares the cores.
    pub fn open_with(path: &Path, threads: usize, spin: bool) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "model file not found (run `make setup` for the embedded models)",
                ),
            ));
        }
        let env = runtime::environment()?;
        let threads = runtime::intra_threads(threads);
        let onnx_err = |e: &dyn std::fmt::Display| Error::Onnx {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let base = || -> Result<SessionBuilder> {
            let mut b = Session::builder(env)
                .map_err(|e| onnx_err(&e))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| onnx_err(&e))?
                .with_config_entry(
                    "session.intra_op.allow_spinning",
                    if spin { "1" } else { "0" },
                )
                .map_err(|e| onnx_err(&e))?;
            if threads > 0 {
                b = b.with_intra_threads(threads).map_err(|e| onnx_err(&e))?;
            }
            Ok(b)
        };
        let mut builder = with_accelerator(base()?, path)?;
        if builder.is_none() {
            builder = Some(base()?);
        }
        let session = builder
            .expect("a CPU builder at least")
            .commit_from_file(path)
            .map_err(|e| onnx_err(&e))?;
        Ok(Self {
            path: path.to_path_buf(),
            session,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn input_names(&self) -> Vec<String> {
        self.session
            .inputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect()
    }

    pub fn output_names(&self) -> Vec<String> {
        self.session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect()
    }

    /// The declared shape of output `name` (-1 for dynamic dimensions).
    pub fn output_shape(&self, name: &str) -> Option<Vec<i64>> {
        let outlet = self.session.outputs().iter().find(|o| o.name() == name)?;
        outlet
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
    }

    /// Checks that the model has exactly the named inputs and at least the named outputs, with
    /// the expected ranks; the error lists what the file has instead.
    pub fn check_signature(&self, expected: &Signature) -> Result<()> {
        let inputs = self.input_names();
        let mut problems = Vec::new();
        for name in &expected.inputs {
            if !inputs.contains(name) {
                problems.push(format!("missing input `{name}`"));
            }
        }
        for name in &inputs {
            if !expected.inputs.contains(name) {
                problems.push(format!(
                    "unexpected input `{name}` (the spec does not feed it)"
                ));
            }
        }
        for (name, rank) in &expected.outputs {
            match self.output_shape(name) {
                None => problems.push(format!("missing output `{name}`")),
                Some(shape) if shape.len() != *rank => problems.push(format!(
                    "output `{name}` has rank {} ({shape:?}), expected rank {rank}",
                    shape.len()
                )),
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::Signature {
            path: self.path.clone(),
            message: format!(
                "{}; the file has inputs {:?} and outputs {:?}",
                problems.join(", "),
                inputs,
                self.output_names()
            ),
        })
    }

    /// Runs the model on named inputs and returns the requested float outputs.
    pub fn run(
        &mut self,
        inputs: Vec<(&str, Input)>,
        outputs: &[&str],
    ) -> Result<HashMap<String, ArrayD<f32>>> {
        let path = self.path.clone();
        let onnx_err = move |e: &dyn std::fmt::Display| Error::Onnx {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut values: Vec<(String, DynValue)> = Vec::with_capacity(inputs.len());
        for (name, input) in inputs {
            let value: DynValue = match input {
                Input::F32(a) => Tensor::from_array(a).map_err(|e| onnx_err(&e))?.into_dyn(),
                Input::I64(a) => Tensor::from_array(a).map_err(|e| onnx_err(&e))?.into_dyn(),
            };
            values.push((name.to_string(), value));
        }
        let result = self.session.run(values).map_err(|e| onnx_err(&e))?;
        let mut out = HashMap::new();
        for name in outputs {
            let value = result
                .get(name)
                .ok_or_else(|| onnx_err(&format!("the model produced no output named `{name}`")))?;
            if value.dtype().tensor_type() != Some(TensorElementType::Float32) {
                return Err(onnx_err(&format!("output `{name}` is not float32")));
            }
            let view = value.try_extract_array::<f32>().map_err(|e| onnx_err(&e))?;
            let owned = view.to_owned().into_shape_with_order(IxDyn(view.shape()));
            out.insert(name.to_string(), owned.map_err(|e| onnx_err(&e))?);
        }
        Ok(out)
    }
}

/// The builder with an accelerator's execution provider registered (ONNX Runtime's CUDA one,
/// in a build with the `cuda` feature), or `None` to run on the CPU: without a provider, or
/// (after a warning) when it cannot be used; an error under `--require-gpu` in both cases.
/// ort falls back to the CPU silently unless registration is made to fail loudly, so it is.
/// Only [`accelerator`] depends on the feature: the rest is compiled, and linted, in either
/// build.
fn with_accelerator(builder: SessionBuilder, path: &Path) -> Result<Option<SessionBuilder>> {
    let Some(provider) = accelerator() else {
        if runtime::require_gpu() {
            return Err(Error::Onnx {
                path: path.to_path_buf(),
                message: "--require-gpu: this binary was built without the `cuda` feature \
                          (cargo build --features cuda)"
                    .into(),
            });
        }
        return Ok(None);
    };
    match builder.with_execution_providers([provider]) {
        Ok(b) => {
            tracing::info!(model = %path.display(), "running on the CUDA execution provider");
            Ok(Some(b))
        }
        Err(e) if runtime::require_gpu() => Err(Error::Onnx {
            path: path.to_path_buf(),
            message: format!("--require-gpu: the CUDA execution provider could not be used: {e}"),
        }),
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                eprintln!(
                    "warning: CUDA execution provider unavailable ({e}); running on the CPU. \
                     Point ORT_DYLIB_PATH at a CUDA build of libonnxruntime, or pass --require-gpu to fail instead."
                )
            });
            Ok(None)
        }
    }
}

/// ONNX Runtime's CUDA execution provider, failing loudly, in a build with the `cuda` feature.
#[cfg(feature = "cuda")]
fn accelerator() -> Option<ExecutionProviderDispatch> {
    Some(ort::ep::CUDA::default().build().error_on_failure())
}

#[cfg(not(feature = "cuda"))]
fn accelerator() -> Option<ExecutionProviderDispatch> {
    None
}
