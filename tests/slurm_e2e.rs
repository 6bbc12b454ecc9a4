//! `pipeline submit` against a real one-node Slurm cluster (`scripts/slurm-local`, which
//! `make test` starts before the tests and stops after them; a test starts it too when it is not
//! running, and fails with the reason when it cannot).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Project, repo};
use crate::shards_e2e::{FEATURES, files, project};

/// Makes sure the local cluster takes jobs.
fn cluster() {
    let out = Command::new(repo().join("scripts/slurm-local"))
        .arg("start")
        .output()
        .expect("running scripts/slurm-local");
    assert!(
        out.status.success(),
        "no Slurm cluster: scripts/slurm-local start failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The job ids of `pipeline submit`'s lines "submitted ...: job N".
fn job_ids(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("submitted "))
        .filter_map(|l| l.split(": job ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// Waits until squeue lists none of `ids`; then each must have completed (exit 0).
fn wait_for(ids: &[String]) {
    let start = Instant::now();
    loop {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.trim().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "jobs still queued after 15 min:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for id in ids {
        let out = Command::new("scontrol")
            .args(["show", "job", id])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // An array's record lists each task; every one must have completed.
        assert!(
            text.contains("JobState=")
                && !text
                    .lines()
                    .any(|l| l.contains("JobState=") && !l.contains("JobState=COMPLETED")),
            "job {id} did not complete:\n{text}"
        );
    }
}

#[test]
fn a_4_shard_job_array_and_its_assembly_equal_a_local_run() {
    cluster();
    let whole = project();
    whole.ok(&["run", "--stage", "features"]);

    let p = project();
    let (out, _) = p.ok(&["submit", "--stage", "features", "--shards", "4"]);
    // ingest, then per features stage an array of 4 and its assembly.
    let ids = job_ids(&out);
    assert_eq!(ids.len(), 1 + 2 * FEATURES.len(), "{out}");
    assert!(
        out.contains("submitted features:image shards 0-3 of 4: job"),
        "{out}"
    );
    wait_for(&ids);
    for stage in FEATURES {
        let (a, b) = (whole.show(stage), p.show(stage));
        assert_eq!(a.file_name(), b.file_name(), "{stage}: the same key");
        assert!(
            files(&a) == files(&b),
            "{stage}: the cluster's bytes differ from the local run's"
        );
    }
    let jobs = p.path().join("artifacts/.jobs");
    let submission = std::fs::read_dir(&jobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let logs = std::fs::read_dir(submission.join("logs")).unwrap().count();
    assert_eq!(logs, 1 + 5 * FEATURES.len(), "one log per task and job");
    // Everything is built: a second submission submits nothing.
    let (out, _) = p.ok(&["submit", "--stage", "features", "--shards", "4"]);
    assert!(out.contains("nothing to submit"), "{out}");
}

#[test]
fn submit_without_slurm_says_so_and_a_dry_run_prints_the_scripts() {
    let p = Project::new("num_samples = 8");
    let (out, _) = p.ok(&[
        "submit",
        "--stage",
        "features:image",
        "--shards",
        "3",
        "--dry-run",
    ]);
    for line in [
        "#SBATCH --array=0-2",
        "#SBATCH --job-name=pipeline:features:image:shards",
        "dry run: 3 jobs, nothing submitted",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} not in\n{out}");
    }
    assert!(out.contains("--shard \"$SLURM_ARRAY_TASK_ID/3\""), "{out}");
    assert!(
        !p.path().join("artifacts/.jobs").exists(),
        "a dry run writes nothing"
    );
    let empty = tempfile::tempdir().unwrap();
    let out = p
        .command(&["submit", "--stage", "features:image"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`sbatch` is not on PATH"), "{err}");
}
