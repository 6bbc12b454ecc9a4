//! The experiment's real stages, wired to the `stages` crate.

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::Stage;

/// The stages of the experiment described by `config`.
pub fn registry(_config: &Config) -> Result<Vec<Box<dyn Stage>>> {
    Ok(Vec::new())
}
