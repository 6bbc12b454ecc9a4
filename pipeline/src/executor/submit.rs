//! `pipeline submit`: what is not built, as Slurm jobs.
//!
//! For each stage the run would build (inputs first): nothing if it is built; for a shardable
//! stage split in N, a job array of its missing shards (`run --stage S --shard
//! $SLURM_ARRAY_TASK_ID/N`), then a job for the stage itself (`run --stage S`, which assembles the
//! shards); for any other stage one job. Each job waits for the jobs of what it reads. So a
//! second submission after a failure submits exactly the missing shards and stages.
//!
//! The scripts and logs go to `artifacts/.jobs/<submission>/`, with `submission.json` (each job:
//! stage, id, array indices, what it waits for, its script) for `pipeline status` and people.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keys};
use crate::engine::shards;
use crate::engine::store::Store;
use crate::executor::slurm::{self, JobScript, SlurmConfig};

/// The folder under the store holding submissions.
const JOBS: &str = ".jobs";
const SUBMISSION: &str = "submission.json";

pub struct Request<'a> {
    pub graph: &'a Graph,
    pub keys: &'a Keys,
    /// The nodes to build, inputs first.
    pub order: &'a [usize],
    pub store: &'a Store,
    pub config: &'a Config,
    /// `--config FILE` and every `--set`, given to each job's `pipeline`.
    pub global: Vec<String>,
    /// Shards per shardable stage (1: none).
    pub shards: usize,
    pub dry_run: bool,
}

/// One submitted job, as `submission.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub stage: String,
    /// The key of the stage's artifact the job builds (or builds shards of).
    pub key: String,
    /// "shards" (a stage's row shards, an array), "members" (a sweep's members, an array) or
    /// "stage".
    pub kind: String,
    pub job: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    pub after: Vec<String>,
    pub script: String,
    /// Its log (for an array, with `%a` standing for the task).
    pub log: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Submission {
    pub id: String,
    pub jobs: Vec<JobRecord>,
}

impl Submission {
    /// Every submission under `store`, newest first.
    pub fn all(store: &Store) -> Vec<Submission> {
        let mut out: Vec<Submission> = std::fs::read_dir(store.root().join(JOBS))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join(SUBMISSION)).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a, b| b.id.cmp(&a.id));
        out
    }
}

struct Planned {
    stage: String,
    key: String,
    kind: &'static str,
    script: JobScript,
    shards: Option<usize>,
    /// Indices (into the planned jobs) it waits for.
    after: Vec<usize>,
}

/// Plans, writes and submits the jobs; prints one line per job. Returns the jobs.
pub fn submit(req: &Request, out: &mut dyn Write) -> Result<Vec<JobRecord>> {
    if req.shards == 0 {
        return Err(EngineError::Config("--shards must be at least 1".into()));
    }
    let planned = plan(req);
    send(
        req.store,
        req.config,
        &req.global,
        req.dry_run,
        planned,
        out,
    )
}

/// What of a sweep is not built.
pub struct SweepWork {
    pub name: String,
    /// The members not built (their indices).
    pub missing: Vec<usize>,
    /// The compare artifact's (stage, key), None when it is built.
    pub compare: Option<(String, String)>,
}

/// A sweep's members as one job array (element I runs `pipeline sweep NAME --member I`; members
/// that share an artifact, such as the features, build it once under its lock), then its
/// compare stage after them.
pub fn submit_sweep(
    store: &Store,
    config: &Config,
    global: &[String],
    dry_run: bool,
    work: SweepWork,
    out: &mut dyn Write,
) -> Result<Vec<JobRecord>> {
    let SweepWork {
        name,
        missing,
        compare,
    } = work;
    let name = name.as_str();
    let mut planned = Vec::new();
    let stage = crate::sweep::stage_id(name).to_string();
    let key = compare.as_ref().map(|(_, k)| k.clone()).unwrap_or_default();
    if !missing.is_empty() {
        planned.push(Planned {
            stage: stage.clone(),
            key: key.clone(),
            kind: "members",
            script: JobScript {
                name: format!("pipeline:sweep:{name}:members"),
                args: vec![
                    "sweep".into(),
                    name.into(),
                    "--member".into(),
                    "$SLURM_ARRAY_TASK_ID".into(),
                ],
                array: Some(missing),
            },
            shards: None,
            after: Vec::new(),
        });
    }
    if let Some((compare_stage, compare_key)) = compare {
        planned.push(Planned {
            stage: compare_stage,
            key: compare_key,
            kind: "stage",
            script: JobScript {
                name: format!("pipeline:sweep:{name}"),
                args: vec!["sweep".into(), name.into()],
                array: None,
            },
            shards: None,
            after: (0..planned.len()).collect(),
        });
    }
    send(store, config, global, dry_run, planned, out)
}

/// Writes the scripts of `planned` and submits them in order, each after the jobs it waits for.
fn send(
    store: &Store,
    config_file: &Config,
    global: &[String],
    dry_run: bool,
    planned: Vec<Planned>,
    out: &mut dyn Write,
) -> Result<Vec<JobRecord>> {
    let config: SlurmConfig = config_file.executor("slurm")?;
    if planned.is_empty() {
        let _ = writeln!(out, "nothing to submit: everything asked for is built");
        return Ok(Vec::new());
    }
    let pipeline = if config.pipeline.is_empty() {
        std::env::current_exe()
            .map_err(|e| EngineError::Other(format!("this program's path: {e}")))?
            .display()
            .to_string()
    } else {
        config.pipeline.clone()
    };
    let id = submission_id();
    let dir = store.root().join(JOBS).join(&id);
    let logs = dir.join("logs");
    let root = &config_file.root;
    let scripts: Vec<(PathBuf, String)> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let file = format!(
                "{i:02}-{}{}.sh",
                Store::stage_dir_name(&p.stage),
                if p.kind == "stage" {
                    String::new()
                } else {
                    format!(".{}", p.kind)
                }
            );
            let text = slurm::script(&p.script, &config, &pipeline, global, root, &logs);
            (dir.join(file), text)
        })
        .collect();
    if dry_run {
        print_dry_run(&scripts, &planned, out);
        return Ok(Vec::new());
    }
    slurm::require("sbatch")?;
    std::fs::create_dir_all(&logs).map_err(|e| EngineError::io(&logs, e))?;
    let mut jobs: Vec<JobRecord> = Vec::new();
    for ((file, text), p) in scripts.iter().zip(&planned) {
        std::fs::write(file, text).map_err(|e| EngineError::io(file, e))?;
        jobs.push(sbatch_one(p, file, &jobs, &logs, out)?);
        // Recorded after each job, so that a failure half-way still says what was submitted.
        write_record(&dir, &id, &jobs)?;
    }
    let _ = writeln!(
        out,
        "submission {id}: {} jobs; scripts and logs in {}",
        jobs.len(),
        dir.display()
    );
    Ok(jobs)
}

/// `--dry-run`: each script, with the dependency it would be submitted with.
fn print_dry_run(scripts: &[(PathBuf, String)], planned: &[Planned], out: &mut dyn Write) {
    for ((file, text), p) in scripts.iter().zip(planned) {
        let after: Vec<String> = p.after.iter().map(|a| format!("<job {a:02}>")).collect();
        let _ = writeln!(
            out,
            "# {} (sbatch{} {})\n{text}",
            p.script.name,
            if after.is_empty() {
                String::new()
            } else {
                format!(" --dependency=afterok:{}", after.join(":"))
            },
            file.display()
        );
    }
    let _ = writeln!(out, "dry run: {} jobs, nothing submitted", planned.len());
}

/// Submits one written script after the jobs (of `jobs`, submitted before) it waits for.
fn sbatch_one(
    p: &Planned,
    file: &Path,
    jobs: &[JobRecord],
    logs: &Path,
    out: &mut dyn Write,
) -> Result<JobRecord> {
    let after: Vec<String> = p.after.iter().map(|&a| jobs[a].job.clone()).collect();
    let job = slurm::sbatch(file, &after)?;
    let what = match (&p.script.array, p.shards) {
        (Some(indices), Some(n)) => {
            format!("{} shards {} of {n}", p.stage, slurm::array_spec(indices))
        }
        (Some(indices), None) => format!("{} members {}", p.stage, slurm::array_spec(indices)),
        _ => p.stage.clone(),
    };
    let _ = writeln!(
        out,
        "submitted {what}: job {job}{}",
        if after.is_empty() {
            String::new()
        } else {
            format!(" (after {})", after.join(", "))
        }
    );
    let log = match p.script.array {
        Some(_) => format!("{}-{job}_%a.out", p.script.name),
        None => format!("{}-{job}.out", p.script.name),
    };
    Ok(JobRecord {
        stage: p.stage.clone(),
        key: p.key.clone(),
        kind: p.kind.into(),
        log: logs.join(log).display().to_string(),
        job,
        array: p.script.array.clone(),
        shards: p.shards,
        after,
        script: file.display().to_string(),
    })
}

/// The jobs the nodes at `order` need, inputs first.
fn plan(req: &Request) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    // Node → the planned job that completes its artifact.
    let mut job_of: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in req.order {
        let node = &req.graph.nodes[i];
        let key = &req.keys[&i].key;
        if req.store.lookup(&node.name, key).is_some() {
            continue;
        }
        let mut after: Vec<usize> = node
            .inputs
            .iter()
            .filter_map(|name| req.graph.index_of(name))
            .filter_map(|j| job_of.get(&j).copied())
            .collect();
        if node.stage.is_shardable() && req.shards > 1 {
            let n = req.shards;
            let built = shards::built(req.store, &node.name, key).remove(&n);
            let missing: Vec<usize> = (0..n)
                .filter(|s| built.as_ref().is_none_or(|b| !b.contains_key(s)))
                .collect();
            if !missing.is_empty() {
                planned.push(Planned {
                    stage: node.name.clone(),
                    key: key.clone(),
                    kind: "shards",
                    script: JobScript {
                        name: format!("pipeline:{}:shards", node.name),
                        args: vec![
                            "run".into(),
                            "--stage".into(),
                            node.name.clone(),
                            "--shard".into(),
                            format!("$SLURM_ARRAY_TASK_ID/{n}"),
                        ],
                        array: Some(missing),
                    },
                    shards: Some(n),
                    after: after.clone(),
                });
                after.push(planned.len() - 1);
            }
        }
        planned.push(Planned {
            stage: node.name.clone(),
            key: key.clone(),
            kind: "stage",
            script: JobScript {
                name: format!("pipeline:{}", node.name),
                args: vec!["run".into(), "--stage".into(), node.name.clone()],
                array: None,
            },
            shards: None,
            after,
        });
        job_of.insert(i, planned.len() - 1);
    }
    planned
}

fn write_record(dir: &Path, id: &str, jobs: &[JobRecord]) -> Result<()> {
    let record = Submission {
        id: id.to_string(),
        jobs: jobs.to_vec(),
    };
    let path = dir.join(SUBMISSION);
    let tmp = dir.join(format!("{SUBMISSION}.tmp"));
    let bytes =
        serde_json::to_vec_pretty(&record).map_err(|e| EngineError::Other(e.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| EngineError::io(&path, e))
}

/// `20261201-110512-4242`: UTC time and pid, sortable and unique per machine.
fn submission_id() -> String {
    let now = crate::engine::manifest::rfc3339(std::time::SystemTime::now());
    let digits: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
    let (date, time) = digits.split_at(8.min(digits.len()));
    format!("{date}-{time}-{}", std::process::id())
}
