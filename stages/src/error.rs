//! The crate's error type. Every variant names what it is about (a file, a record, a tensor), so
//! that a message printed at the CLI edge tells the user what to fix.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("ONNX Runtime library not found. {hint}")]
    RuntimeNotFound { hint: String },

    #[error("{message}")]
    Runtime { message: String },

    #[error("{path}: ONNX Runtime: {message}")]
    Onnx { path: PathBuf, message: String },

    #[error("{path}: model signature mismatch: {message}")]
    Signature { path: PathBuf, message: String },

    #[error("{path}: cannot decode image: {message}")]
    Image { path: PathBuf, message: String },

    #[error(
        "{path}: image too large to decode: {width} x {height} pixels need {need_mib} MiB, over the \
         limit of {limit_mib} MiB"
    )]
    ImageTooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        need_mib: u64,
        limit_mib: u64,
    },

    #[error("{path}: tokenizer: {message}")]
    Tokenizer { path: PathBuf, message: String },

    #[error("{what}: {message}")]
    Invalid { what: String, message: String },

    /// The metrics' own (a file's rows or values they cannot score).
    #[error(transparent)]
    Measures(#[from] measures::error::Error),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
