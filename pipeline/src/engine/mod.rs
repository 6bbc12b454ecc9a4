//! The stage graph and the artifact store (docs/design.md, "Cache contract").

pub mod build;
pub mod cores;
pub mod error;
pub mod graph;
pub mod hash_index;
pub mod id;
pub mod interrupt;
pub mod key;
pub mod lock;
pub mod manifest;
pub mod pass;
pub mod plan;
pub mod runner;
pub mod shards;
pub mod stage;
pub mod status;
pub mod store;

pub use error::EngineError;
