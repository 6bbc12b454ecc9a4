//! # pipeline — knows *when* to run a stage, never *how*
//!
//! The orchestration half of the project (the computations live in the `stages` crate).
//!
//! ## What's here
//! - [`config`]: `pipeline.toml` plus `--set key=value` overrides; typed sections with defaults.
//! - [`engine`]: the stage graph and the content-addressed artifact store:
//!   - [`engine::stage`]: the [`Stage`](engine::stage::Stage) trait a node implements;
//!   - [`engine::graph`]: nodes, their order, and which ones a `--stage` selection needs;
//!   - [`engine::key`]: the canonical encoding hashed into a node's key;
//!   - [`engine::hash_index`]: external files hashed once, remembered by (path, size, mtime, inode);
//!   - [`engine::store`]: `artifacts/<stage>/<key>/`, built in a temp folder, renamed when whole;
//!   - [`engine::lock`]: one lock file per key, made by `link(2)` (holds on NFS and Lustre), broken when
//!     its owner is gone;
//!   - [`engine::shards`]: a stage's row shards as artifacts of their own (`--shard I/N`);
//!   - [`engine::manifest`]: what an artifact records about itself;
//!   - [`engine::status`]: fresh / stale / missing, and why;
//!   - [`engine::runner`]: a plan of distinct artifacts (one graph's, or a sweep's members'), run
//!     one at a time or `-j N` at once; reuses what exists.
//! - [`sweep`]: `[sweep.<name>]`: a grid of parameter values, each member the experiment's own
//!   stages under one more configuration.
//! - [`executor`]: `pipeline submit`, the missing shards and stages as Slurm jobs.
//! - [`cli`]: the `pipeline` command (run, status, show, verify, gc) over any set of stages, so
//!   tests drive the same CLI with toy stages.
//! - [`nodes`]: the real stages of the experiment, wired to the `stages` crate.

pub mod cli;
pub mod config;
pub mod engine;
pub mod executor;
pub mod nodes;
pub mod sweep;
