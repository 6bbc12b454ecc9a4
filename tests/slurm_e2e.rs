//! `pipeline submit` against a real one-node Slurm cluster (`scripts/slurm-local`, which
//! `make test` starts before the tests and stops after them; a test starts it too when it is not
//! running, and fails with the reason when it cannot).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Project, repo};
use crate::shards_e2e::{FEATURES, files, project, whole};

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
    wait_gone(ids);
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

/// Waits until squeue lists none of `ids`.
fn wait_gone(ids: &[String]) {
    let start = Instant::now();
    loop {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let forgotten = String::from_utf8_lossy(&out.stderr).contains("Invalid job id");
        if (out.status.success() && text.trim().is_empty()) || forgotten {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "jobs still queued after 15 min:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_4_shard_job_array_and_its_assembly_equal_a_local_run() {
    cluster();
    let whole = whole();
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

#[test]
fn a_failed_shard_is_named_by_status_and_resubmitting_runs_only_it_and_the_assembly() {
    cluster();
    let whole = whole();
    whole.ok(&["run", "--stage", "features:image"]);
    let p = project();
    let config = p.path().join("pipeline.toml");
    let clean = std::fs::read_to_string(&config).unwrap();
    // Task 2 of the array fails before `pipeline` starts.
    let failing = format!(
        "{clean}\n[executor.slurm]\nsetup = ['[ \"${{SLURM_ARRAY_TASK_ID:-}}\" != 2 ] || exit 3']\n"
    );
    std::fs::write(&config, failing).unwrap();
    let args = ["submit", "--stage", "features:image", "--shards", "4"];
    let (out, _) = p.ok(&args);
    let ids = job_ids(&out);
    assert_eq!(ids.len(), 3, "ingest, the array, the assembly:\n{out}");
    wait_gone(&ids);
    let (status, _) = p.ok(&["status"]);
    let line = status
        .lines()
        .find(|l| l.contains("features:image "))
        .unwrap();
    let failed = format!(
        "shard 2/4 (job {}_2) failed (FAILED), exit 3:0: log ",
        ids[1]
    );
    assert!(line.contains(&failed), "{line}");
    assert!(line.contains("3 built"), "{line}");
    let log = line
        .split(&failed)
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert!(std::path::Path::new(log.trim()).is_file(), "{log}");
    let (json, _) = p.ok(&["status", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let image = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stage"] == "features:image")
        .unwrap();
    let states: Vec<&str> = image["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        &states[..4],
        ["built", "built", "failed (FAILED)", "built"],
        "{image}"
    );

    // Fixed: a second submission runs exactly the failed shard and the assembly.
    std::fs::write(&config, clean).unwrap();
    let (out, _) = p.ok(&args);
    let ids = job_ids(&out);
    assert_eq!(ids.len(), 2, "{out}");
    assert!(
        out.contains("submitted features:image shards 2 of 4: job"),
        "{out}"
    );
    wait_for(&ids);
    let (a, b) = (whole.show("features:image"), p.show("features:image"));
    assert_eq!(a.file_name(), b.file_name());
    assert!(
        files(&a) == files(&b),
        "the resubmitted shard's bytes differ"
    );
}

/// The stdout lines of every job of every submission of `p` that say `ran     STAGE`.
fn ran_lines(p: &Project, stage: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(p.path().join("artifacts/.jobs"))
        .unwrap()
        .flatten()
    {
        for log in std::fs::read_dir(sub.path().join("logs"))
            .unwrap()
            .flatten()
        {
            let text = std::fs::read_to_string(log.path()).unwrap();
            out.extend(
                text.lines()
                    .filter(|l| l.starts_with(&format!("ran     {stage} ")))
                    .map(str::to_string),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn two_submissions_at_once_build_each_shard_once() {
    cluster();
    let p = project();
    let args = ["submit", "--stage", "features:text", "--shards", "3"];
    let a = p.command(&args).output().unwrap();
    let b = p.command(&args).output().unwrap();
    let mut ids = Vec::new();
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ids.extend(job_ids(&String::from_utf8_lossy(&o.stdout)));
    }
    assert_eq!(
        ids.len(),
        6,
        "both submitted ingest, an array and an assembly"
    );
    wait_for(&ids);
    let ran = ran_lines(&p, "features:text");
    for i in 0..3 {
        let n = ran
            .iter()
            .filter(|l| l.ends_with(&format!("[shard {i}/3]")))
            .count();
        assert_eq!(n, 1, "shard {i} was built {n} times:\n{ran:#?}");
    }
    let assembled = ran
        .iter()
        .filter(|l| l.contains("assembled from 3 shards"))
        .count();
    assert_eq!(assembled, 1, "{ran:#?}");
    assert_eq!(ran_lines(&p, "ingest").len(), 1);
}

/// Every stage through Slurm, from ingest to the report: the report's key and bytes are a local
/// run's.
#[test]
fn a_whole_submission_ends_with_the_report_of_a_local_run() {
    cluster();
    let sets = [
        "--set",
        "train.linear.epochs=4",
        "--set",
        "train.mlp.epochs=2",
        "--set",
        "align.bootstrap=50",
        "--set",
        "align.permutations=19",
        "--set",
        "align.costly_resamples=10",
    ];
    // The local run starts from the shared features (the same keys and bytes as its own).
    let local = whole();
    let mut run = vec!["run"];
    run.extend_from_slice(&sets);
    local.ok(&run);

    let p = project();
    let mut submit = vec!["submit", "--shards", "2"];
    submit.extend_from_slice(&sets);
    let (out, _) = p.ok(&submit);
    let ids = job_ids(&out);
    wait_for(&ids);
    let (a, b) = (
        local.show_with("report", &sets),
        p.show_with("report", &sets),
    );
    assert_eq!(a.file_name(), b.file_name(), "the report's key");
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), fb.len());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "report/{name} differs from the local run's");
    }
    let mut status = vec!["status"];
    status.extend_from_slice(&sets);
    let (out, _) = p.ok(&status);
    assert!(
        out.lines()
            .all(|l| !l.starts_with("missing") && !l.starts_with("stale")),
        "{out}"
    );
}

/// A sweep through Slurm: its members as one job array, then its compare stage; the compare
/// tables are a local `pipeline sweep`'s, key and bytes.
#[test]
fn a_sweep_submitted_as_a_member_array_equals_a_local_sweep() {
    cluster();
    let sweep = "\n[sweep.lrs]\nbase = \"linear\"\ngrid = { lr = [0.001, 0.002] }\nseeds = [0]\n";
    let sets = [
        "--set",
        "train.linear.epochs=2",
        "--set",
        "align.bootstrap=20",
        "--set",
        "align.permutations=9",
        "--set",
        "align.costly_resamples=5",
    ];
    let with_sweep = || {
        let p = project();
        let config = p.path().join("pipeline.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, text + sweep).unwrap();
        p
    };
    let local = with_sweep();
    let mut run = vec!["sweep", "lrs"];
    run.extend_from_slice(&sets);
    local.ok(&run);

    let p = with_sweep();
    let mut submit = vec!["submit", "--stage", "sweep:lrs"];
    submit.extend_from_slice(&sets);
    let (out, _) = p.ok(&submit);
    assert!(
        out.contains("submitted sweep:lrs members 0-1: job"),
        "{out}"
    );
    let ids = job_ids(&out);
    assert_eq!(
        ids.len(),
        2,
        "the members' array and the compare job:\n{out}"
    );
    wait_for(&ids);
    let compare = |q: &Project| {
        let dirs: Vec<_> = std::fs::read_dir(q.path().join("artifacts/compare.lrs"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|d| d.join("manifest.json").is_file())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    };
    let (a, b) = (compare(&local), compare(&p));
    assert_eq!(a.file_name(), b.file_name(), "the compare artifact's key");
    assert!(
        files(&a) == files(&b),
        "the compare tables differ from the local sweep's"
    );
    let (out, _) = p.ok(&submit);
    assert!(out.contains("nothing to submit"), "{out}");
}
