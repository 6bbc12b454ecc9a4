//! No code: this crate's dependencies set the features every build of the workspace resolves
//! (see its Cargo.toml).
