//! Executors decide where stages run, never what they compute: the same keys, store and bytes
//! as a local `pipeline run`.
//!
//! - [`slurm`]: `[executor.slurm]`, sbatch scripts, and the Slurm commands called;
//! - [`submit`]: `pipeline submit`: the missing shards and stages as dependent Slurm jobs.

pub mod slurm;
pub mod submit;
