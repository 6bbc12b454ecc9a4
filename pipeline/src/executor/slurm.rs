//! The Slurm executor: `[executor.slurm]`, the sbatch scripts `pipeline submit` writes, and the
//! Slurm commands it calls (`sbatch`, `squeue`).
//!
//! Slurm does the scheduling: one job array per shardable stage (the array index is the shard),
//! one job per other stage, each after the jobs of what it reads (`--dependency=afterok`, with
//! `--kill-on-invalid-dep=yes` so that a failure cancels what waits on it rather than leaving it
//! pending for ever). Every job is a plain `pipeline run`, so a job finds built what its
//! dependencies built, and its artifacts are those of a local run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::engine::error::{EngineError, Result};

/// `[executor.slurm]` in pipeline.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlurmConfig {
    /// `--partition` ("" = the cluster's default).
    pub partition: String,
    /// `--account`.
    pub account: String,
    /// `--time`, e.g. "02:00:00".
    pub time: String,
    /// `--mem`, e.g. "16G".
    pub mem: String,
    /// `--cpus-per-task` (0 = the cluster's default).
    pub cpus: usize,
    /// `--gres`, e.g. "gpu:1" for GPU nodes.
    pub gres: String,
    /// More `#SBATCH` options, one per entry ("--qos=short").
    pub sbatch: Vec<String>,
    /// Shell lines run on the node before `pipeline` (e.g. "module load cuda").
    pub setup: Vec<String>,
    /// The command that starts `pipeline` on a node ("" = this program's own path).
    pub pipeline: String,
}

/// One job of a submission, as its script says it.
pub struct JobScript {
    /// The job's name (`pipeline:features:image`).
    pub name: String,
    /// `pipeline` arguments after the global ones (`run --stage X [--shard ...]`).
    pub args: Vec<String>,
    /// Array indices (the missing shards), for a job array.
    pub array: Option<Vec<usize>>,
}

/// Renders the sbatch script of `job`: `#SBATCH` lines, then the setup lines, then the one
/// `pipeline` command, run from the project's folder with its config and `--set` values.
pub fn script(
    job: &JobScript,
    config: &SlurmConfig,
    pipeline: &str,
    global: &[String],
    root: &Path,
    logs: &Path,
) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let log = if job.array.is_some() {
        "%x-%A_%a.out"
    } else {
        "%x-%j.out"
    };
    s += &format!("#SBATCH --job-name={}\n", job.name);
    s += &format!("#SBATCH --output={}\n", logs.join(log).display());
    let options = [
        ("partition", &config.partition),
        ("account", &config.account),
        ("time", &config.time),
        ("mem", &config.mem),
        ("gres", &config.gres),
    ];
    for (name, value) in options {
        if !value.is_empty() {
            s += &format!("#SBATCH --{name}={value}\n");
        }
    }
    if config.cpus > 0 {
        s += &format!("#SBATCH --cpus-per-task={}\n", config.cpus);
    }
    if let Some(indices) = &job.array {
        s += &format!("#SBATCH --array={}\n", array_spec(indices));
    }
    for line in &config.sbatch {
        s += &format!("#SBATCH {line}\n");
    }
    s += "# Written by `pipeline submit`. Resubmit by hand with `sbatch THIS_FILE`; `pipeline\n";
    s += "# submit` again submits only what is not built.\n";
    s += "set -euo pipefail\n";
    for line in &config.setup {
        s += line;
        s += "\n";
    }
    s += &format!("cd {}\n", shell_quote(&root.display().to_string()));
    let mut command = vec![pipeline.to_string()];
    command.extend(global.iter().map(|a| shell_quote(a)));
    command.extend(job.args.iter().map(|a| {
        if a.contains("$SLURM_ARRAY_TASK_ID") {
            format!("\"{a}\"")
        } else {
            shell_quote(a)
        }
    }));
    s += &format!("exec {}\n", command.join(" "));
    s
}

/// `0-3,5,7`: consecutive indices as ranges.
pub fn array_spec(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            indices[i].to_string()
        } else {
            format!("{}-{}", indices[i], indices[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `program` on PATH, or the error that says Slurm's commands are needed (exit 2).
pub fn require(program: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            EngineError::Config(format!(
                "`{program}` is not on PATH: `pipeline submit` needs Slurm's commands (run it on \
                 a login node of the cluster, or load its slurm module); `pipeline run` runs \
                 here without them"
            ))
        })
}

/// Submits `script` after the jobs `after`; returns the job id.
pub fn sbatch(script: &Path, after: &[String]) -> Result<String> {
    let mut command = Command::new(require("sbatch")?);
    command.arg("--parsable");
    if !after.is_empty() {
        command.arg(format!("--dependency=afterok:{}", after.join(":")));
        command.arg("--kill-on-invalid-dep=yes");
    }
    command.arg(script);
    let out = command
        .output()
        .map_err(|e| EngineError::Other(format!("sbatch {}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(EngineError::Other(format!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // `--parsable` prints "jobid" or "jobid;cluster".
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(EngineError::Other(format!(
            "sbatch {}: expected a job id, got {:?}",
            script.display(),
            text.trim()
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_specs_compress_runs() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[1, 3, 4, 5, 9]), "1,3-5,9");
        assert_eq!(array_spec(&[7]), "7");
    }

    #[test]
    fn a_script_carries_every_option_and_one_command() {
        let config = SlurmConfig {
            partition: "gpu".into(),
            time: "01:00:00".into(),
            cpus: 4,
            gres: "gpu:1".into(),
            sbatch: vec!["--qos=short".into()],
            setup: vec!["module load cuda".into()],
            ..SlurmConfig::default()
        };
        let job = JobScript {
            name: "pipeline:features:image".into(),
            args: vec![
                "run".into(),
                "--stage".into(),
                "features:image".into(),
                "--shard".into(),
                "$SLURM_ARRAY_TASK_ID/4".into(),
            ],
            array: Some(vec![0, 2, 3]),
        };
        let global = vec!["--config".into(), "/p/my exp.toml".into()];
        let s = script(
            &job,
            &config,
            "/bin/pipeline",
            &global,
            Path::new("/p"),
            Path::new("/p/logs"),
        );
        for line in [
            "#SBATCH --partition=gpu",
            "#SBATCH --time=01:00:00",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --array=0,2-3",
            "#SBATCH --qos=short",
            "#SBATCH --output=/p/logs/%x-%A_%a.out",
            "module load cuda",
            "cd /p",
            "exec /bin/pipeline --config '/p/my exp.toml' run --stage features:image --shard \"$SLURM_ARRAY_TASK_ID/4\"",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} not in\n{s}");
        }
        assert!(!s.contains("--account"), "empty options are left out");
    }
}
