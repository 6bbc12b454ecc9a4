//! Empty: Cargo only resolves `[build-dependencies]` for a package with a build script, and the
//! build-dependencies are how this crate unifies the host's features (see Cargo.toml).

fn main() {}
