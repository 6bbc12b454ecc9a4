//! Errors of the engine, split by who must act: the user's configuration (exit 2) or a stage
//! or the store failing (exit 1).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad configuration or usage: the user must change a file or a flag (exit code 2).
    #[error("{0}")]
    Config(String),

    /// A stage's computation failed (exit code 1).
    #[error("stage {stage} failed: {source:#}")]
    StageFailed {
        stage: String,
        #[source]
        source: anyhow::Error,
    },

    /// The disk filled up while a stage wrote its artifact (exit code 1).
    #[error(
        "stage {stage} failed: no space left on the device holding {dir} ({free_mib} MiB free); \
         its partial output had reached {partial_mib} MiB and was removed. Free at least that \
         much more (`pipeline gc` removes artifacts no configuration reaches) and run again"
    )]
    DiskFull {
        stage: String,
        dir: PathBuf,
        free_mib: u64,
        partial_mib: u64,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Other(String),
}

impl EngineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }

    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Config(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
