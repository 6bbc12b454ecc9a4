//! What became of submitted jobs, for `pipeline status`: each stage not built yet, with the jobs
//! of the newest submission that builds its current key, task by task: built, pending, running,
//! or failed (Slurm's state and exit code, and the task's log).
//!
//! Slurm is asked with `squeue` (queued and running tasks) and `scontrol show job` (finished
//! ones, which it remembers for `MinJobAge`, 5 minutes by default). There is no `sacct` without
//! slurmdbd, so a task that is neither built nor known to Slurm any more is reported as failed
//! with its log, which says why.

use std::collections::BTreeMap;
use std::process::Command;

use crate::engine::shards;
use crate::engine::stage::Shard;
use crate::engine::status::{NodeStatus, State, Task};
use crate::engine::store::Store;
use crate::executor::submit::{JobRecord, Submission};

/// Adds the tasks of each row's newest submission to the rows that are not fresh, and a
/// summary of them to their reasons.
pub fn annotate(store: &Store, rows: &mut [NodeStatus]) {
    let submissions = Submission::all(store);
    if submissions.is_empty() {
        return;
    }
    let mut wanted: Vec<(usize, Vec<&JobRecord>)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.state == State::Fresh {
            continue;
        }
        let jobs: Vec<&JobRecord> = submissions
            .iter()
            .find_map(|s| {
                let jobs: Vec<&JobRecord> = s
                    .jobs
                    .iter()
                    .filter(|j| j.stage == row.stage && j.key == row.key)
                    .collect();
                (!jobs.is_empty()).then_some(jobs)
            })
            .unwrap_or_default();
        if !jobs.is_empty() {
            wanted.push((i, jobs));
        }
    }
    if wanted.is_empty() {
        return;
    }
    let ids: Vec<&str> = wanted
        .iter()
        .flat_map(|(_, jobs)| jobs.iter().map(|j| j.job.as_str()))
        .collect();
    let slurm = SlurmView::ask(&ids);
    for (i, jobs) in wanted {
        let row = &mut rows[i];
        let mut tasks = Vec::new();
        for job in jobs {
            tasks.extend(tasks_of(store, row, job, &slurm));
        }
        row.reasons.push(summary(&tasks));
        row.tasks = tasks;
    }
}

fn tasks_of(store: &Store, row: &NodeStatus, job: &JobRecord, slurm: &SlurmView) -> Vec<Task> {
    let state_of = |id: &str, built: bool| -> (String, Option<String>) {
        if built {
            return ("built".into(), None);
        }
        match slurm.states.get(id) {
            Some((state, exit)) => {
                let state = match state.as_str() {
                    "PENDING" => "pending".to_string(),
                    "RUNNING" | "CONFIGURING" | "COMPLETING" => "running".to_string(),
                    // Completed yet not built: the artifact was removed since, or it is being
                    // renamed into place; the next run will tell.
                    "COMPLETED" => "completed".to_string(),
                    other => format!("failed ({other})"),
                };
                (state, exit.clone())
            }
            None => ("failed (no longer known to Slurm)".into(), None),
        }
    };
    match (job.array.as_ref(), job.shards) {
        (Some(indices), Some(count)) => {
            let built = shards::built(store, &row.stage, &row.key).remove(&count);
            indices
                .iter()
                .map(|&index| {
                    let id = format!("{}_{index}", job.job);
                    let done = built.as_ref().is_some_and(|b| b.contains_key(&index));
                    let (state, exit) = state_of(&id, done);
                    Task {
                        what: format!("shard {}", Shard { index, count }),
                        job: id,
                        state,
                        exit,
                        log: job.log.replace("%a", &index.to_string()),
                    }
                })
                .collect()
        }
        _ => {
            let (state, exit) = state_of(&job.job, false);
            vec![Task {
                what: "stage".into(),
                job: job.job.clone(),
                state,
                exit,
                log: job.log.clone(),
            }]
        }
    }
}

/// `slurm: shards 2 built, 1 running, 1 failed (shard 3/4: failed (FAILED) exit 1:0, log …)`.
fn summary(tasks: &[Task]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tasks {
        let kind = t.state.split(' ').next().unwrap_or("");
        *counts.entry(kind).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let failed: Vec<String> = tasks
        .iter()
        .filter(|t| t.state.starts_with("failed"))
        .map(|t| {
            format!(
                "{} (job {}) {}{}: log {}",
                t.what,
                t.job,
                t.state,
                t.exit
                    .as_ref()
                    .map(|e| format!(", exit {e}"))
                    .unwrap_or_default(),
                t.log
            )
        })
        .collect();
    let mut line = format!("slurm: {} tasks: {}", tasks.len(), counts.join(", "));
    if !failed.is_empty() {
        line += &format!("; {}", failed.join("; "));
    }
    line
}

/// Slurm's state of jobs and array tasks: id (`123`, `123_4`) → (state, exit code).
struct SlurmView {
    states: BTreeMap<String, (String, Option<String>)>,
}

impl SlurmView {
    fn ask(ids: &[&str]) -> SlurmView {
        let mut states = BTreeMap::new();
        // Finished tasks first (scontrol), then what is queued (squeue), which is more current.
        for id in ids {
            let Ok(out) = Command::new("scontrol").args(["show", "job", id]).output() else {
                continue;
            };
            for record in String::from_utf8_lossy(&out.stdout).split("\n\n") {
                let field = |name: &str| {
                    record
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix(name))
                        .map(str::to_string)
                };
                let (Some(job), Some(state)) = (field("JobId="), field("JobState=")) else {
                    continue;
                };
                let id = match (field("ArrayJobId="), field("ArrayTaskId=")) {
                    (Some(array), Some(task)) if !task.contains(['[', '-', ',']) => {
                        format!("{array}_{task}")
                    }
                    _ => job,
                };
                states.insert(id, (state, field("ExitCode=")));
            }
        }
        if let Ok(out) = Command::new("squeue")
            .args(["-h", "-r", "-o", "%i %T", "-j", &ids.join(",")])
            .output()
        {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some((id, state)) = line.split_once(' ') {
                    states.insert(id.to_string(), (state.trim().to_string(), None));
                }
            }
        }
        SlurmView { states }
    }
}
