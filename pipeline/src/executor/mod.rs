//! Executors decide where stages run, never what they compute: the same keys, store and bytes
//! as a local `pipeline run`.
//!
//! - [`slurm`]: `[executor.slurm]`, sbatch scripts, and the Slurm commands called;
//! - [`jobs`]: what became of submitted jobs, task by task, for `pipeline status`;
//! - [`submit`]: `pipeline submit`: the missing shards and stages as dependent Slurm jobs.

pub mod jobs;
pub mod slurm;
pub mod submit;
