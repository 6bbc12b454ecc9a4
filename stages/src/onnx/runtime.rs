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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
    // An experiment folder may have its own pipeline.toml without a .venv: look in every
    // project root we can find (the checkout the binary was built in among them).
    let roots = paths::candidate_roots();
    if let Some(lib) = roots.iter().find_map(|r| wheel_library(r)) {
        return Ok(lib);
    }
    let looked: Vec<String> = roots
        .iter()
        .map(|r| {
            format!(
                "{}/.venv/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*",
                r.display()
            )
        })
        .collect();
    let hint = match roots.first() {
        Some(root) => format!(
            "Looked for {}. Run `make setup` in {} (it installs the pinned onnxruntime wheel), or set {DYLIB_ENV}.",
            looked.join(", "),
            root.display()
        ),
        None => format!(
            "No pipeline.toml found above the current directory or the executable. Run from the \
             project checkout (after `make setup`), or set {DYLIB_ENV} to a libonnxruntime.so."
        ),
    };
    Err(Error::RuntimeNotFound { hint })
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
        Err(message) => Err(Error::Runtime {
            message: message.clone(),
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

static REQUIRE_GPU: AtomicBool = AtomicBool::new(false);

/// `--require-gpu`: fail instead of falling back to the CPU when the CUDA execution provider
/// cannot be used (or the binary was built without the `cuda` feature).
pub fn set_require_gpu(require: bool) {
    REQUIRE_GPU.store(require, Ordering::Relaxed);
}

pub fn require_gpu() -> bool {
    REQUIRE_GPU.load(Ordering::Relaxed)
}

/// The most intra-op threads a session of this process may use (0 = no cap).
static THREAD_SHARE: AtomicUsize = AtomicUsize::new(0);

/// Caps every session opened from now on at `threads` intra-op threads: a runner building N
/// stages at once gives each its share of the cores, so N sessions do not each start one thread
/// per core. Thread counts change how work is split, not what is computed.
pub fn set_thread_share(threads: usize) {
    THREAD_SHARE.store(threads, Ordering::Relaxed);
}

/// The intra-op threads for a session that asked for `threads` (0 = one per core), under the cap.
pub fn intra_threads(threads: usize) -> usize {
    match THREAD_SHARE.load(Ordering::Relaxed) {
        0 => threads,
        share if threads == 0 => share,
        share => threads.min(share),
    }
}
