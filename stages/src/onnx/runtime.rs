//! Finding and loading ONNX Runtime.
//!
//! `ort` is built with `load-dynamic`: no binary is downloaded at build time (impossible on these
//! machines). The shared library comes from the pinned `onnxruntime` wheel that `make setup`
//! installs into `.venv`. Search order:
//!   1. `ORT_DYLIB_PATH`, when set (a user's own build, e.g. one with CUDA);
//!   2. `<project>/.venv/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*`.
//!
//! We call `ort::init_from`, which returns an error where `ort::init` would panic, and turn a
//! missing library into a message that says exactly what to run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::{Error, Result};
use crate::paths;

pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where the library is, or why it is not there.
pub fn find_library() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(DYLIB_ENV) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(Error::RuntimeNotFound {
            hint: format!(
                "{DYLIB_ENV} is set to {}, which is not a file. Unset it to use the project's \
                 .venv, or point it at a libonnxruntime.so.",
                path.display()
            ),
        });
    }
    let root = paths::project_root().ok_or_else(|| Error::RuntimeNotFound {
        hint: format!(
            "No pipeline.toml found above the current directory. Run from the project checkout \
             (after `make setup`), or set {DYLIB_ENV} to a libonnxruntime.so."
        ),
    })?;
    wheel_library(&root).ok_or_else(|| Error::RuntimeNotFound {
        hint: format!(
            "Looked for {}/.venv/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*. \
             Run `make setup` in {} (it installs the pinned onnxruntime wheel), or set {DYLIB_ENV}.",
            root.display(),
            root.display()
        ),
    })
}

/// The library shipped by the onnxruntime wheel in `root/.venv`.
pub fn wheel_library(root: &Path) -> Option<PathBuf> {
    let capi = paths::site_packages(root)?.join("onnxruntime").join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so.1."))
        })
        .collect();
    libs.sort();
    libs.pop()
}

static ENVIRONMENT: OnceLock<std::result::Result<(PathBuf, Environment), String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<&'static Environment> {
    let loaded = ENVIRONMENT.get_or_init(|| {
        let path = find_library().map_err(|e| e.to_string())?;
        let builder = ort::init_from(&path)
            .map_err(|e| format!("could not load ONNX Runtime from {}: {e}", path.display()))?;
        let env = builder
            .with_name("pipeline")
            .build()
            .map_err(|e| format!("ONNX Runtime at {}: {e}", path.display()))?;
        tracing::debug!(library = %path.display(), "ONNX Runtime loaded");
        Ok((path, env))
    });
    match loaded {
        Ok((_, env)) => Ok(env),
        Err(message) => Err(Error::RuntimeNotFound {
            hint: message.clone(),
        }),
    }
}

/// The path of the library the environment was loaded from, once loaded.
pub fn loaded_library() -> Option<&'static Path> {
    match ENVIRONMENT.get() {
        Some(Ok((path, _))) => Some(path.as_path()),
        _ => None,
    }
}
