//! The measures' error: what was wrong with which input, in words a user can act on (the CLI
//! prints it, the Python module raises it as `ValueError`).

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}
