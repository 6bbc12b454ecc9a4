//! A configuration mistake is found before any stage runs, whichever stage it belongs to: every
//! bad value at once, each with its key, its value, where it was set and what was expected, and
//! exit code 2. (The stages check again when they run: a second line of defence.)

use std::time::{Duration, Instant};

use crate::common::Project;

#[test]
fn every_bad_value_is_refused_at_once_before_any_work() {
    let p = Project::new("");
    let clock = Instant::now();
    let out = p.run(&[
        "run",
        "--set",
        "train.linear.temperature=-1",
        "--set",
        "train.mlp.batch_size=0",
        "--set",
        "dataset.val_fraction=1.5",
        "--set",
        "train.linear.lr=abc",
        "--set",
        "encoders.image.std=[0.2, 0.0, 0.2]",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "no work was done"
    );
    for line in [
        "`train.linear.lr` = \"abc\" (--set): invalid type: string \"abc\", expected f64",
        "`train.mlp.batch_size` = 0 (--set): expected at least 1",
        "`dataset.val_fraction` = 1.5 (--set): expected a fraction in [0, 1)",
        "`encoders.image.std` = [0.2, 0.0, 0.2] (--set): expected three positive numbers",
    ] {
        assert!(err.contains(line), "missing `{line}` in:\n{err}");
    }
    assert!(
        !p.path().join("artifacts/ingest").exists(),
        "nothing ran before the check"
    );

    // A value from the file is named with its line. A value of the wrong type (a split that is
    // none) stops every run, as any type error does; a value of the right type that a stage
    // cannot use stops only a run that touches that stage.
    let base = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    let cfg = format!("{base}\n[align]\nsplit = \"testing\"\n");
    std::fs::write(p.path().join("pipeline.toml"), &cfg).unwrap();
    let line = 1 + cfg.lines().position(|l| l.starts_with("split")).unwrap();
    let out = p.run(&["run", "--stage", "ingest"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "`align.split` = \"testing\" ({}:{line}): expected `train`, `val` or `test`",
            p.path().join("pipeline.toml").display()
        )),
        "{err}"
    );
    let cfg = format!("{base}\n[align]\ntopk = 0\n");
    std::fs::write(p.path().join("pipeline.toml"), &cfg).unwrap();
    let line = 1 + cfg.lines().position(|l| l.starts_with("topk")).unwrap();
    let out = p.run(&["run", "--stage", "align"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "`align.topk` = 0 ({}:{line}): expected at least 1",
            p.path().join("pipeline.toml").display()
        )),
        "{err}"
    );
    let (out, _) = p.ok(&["run", "--stage", "ingest"]);
    assert!(out.contains("ran     ingest"), "{out}");
}

#[test]
fn an_artifacts_path_that_is_a_file_is_named() {
    let p = Project::new("");
    std::fs::write(p.path().join("artifacts"), "not a folder").unwrap();
    let out = p.run(&["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("artifacts: exists but is not a folder"),
        "{err}"
    );
}
