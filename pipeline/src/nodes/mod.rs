//! The experiment's real stages, wired to the `stages` crate. Each node says what it reads
//! (other nodes, external files) and which pipeline.toml section holds its parameters; the
//! computation itself is a call into `stages`.
//!
//! ```text
//! ingest ─► features:image ─┐
//!        ─► features:text  ─┼─► (train, align, probe, report: later issues)
//!        ─► features:reference
//! probe dataset ─► features:probe-image, features:probe-reference
//! ```

mod features;
mod ingest;
mod probe_features;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::Stage;

pub use features::{FeaturesNode, Role};
pub use ingest::IngestNode;
pub use probe_features::ProbeFeaturesNode;

/// The stages of the experiment described by `config`.
pub fn registry(_config: &Config) -> Result<Vec<Box<dyn Stage>>> {
    Ok(vec![
        Box::new(IngestNode),
        Box::new(FeaturesNode(Role::Image)),
        Box::new(FeaturesNode(Role::Text)),
        Box::new(FeaturesNode(Role::Reference)),
        Box::new(ProbeFeaturesNode(Role::Image)),
        Box::new(ProbeFeaturesNode(Role::Reference)),
    ])
}
