//! Faults a run must survive on the embedded default: Ctrl+C (SIGINT) and SIGTERM during each long
//! stage. The run stops at once with one line saying what was interrupted and exit code 130 / 143;
//! the key's lock is released (the next run does not wait); features and train keep their
//! temporary folder and the next run resumes from its last shard or epoch, align removes its
//! own. (Full disks and the soak run the engine's toy stages: tests/engine.rs, tests/soak.rs.)

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::Project;

/// The temporary folders of `stage_dir`.
fn temps(stage_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(stage_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .map(|e| e.path())
        .collect()
}

/// Waits until `ready` holds for one of the stage's temporary folders.
fn wait_for_temp(stage_dir: &Path, what: &str, ready: impl Fn(&Path) -> bool) {
    let start = Instant::now();
    while !temps(stage_dir).iter().any(|t| ready(t)) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` (INT, TERM) to the child and waits for it.
fn signal(child: Child, signal: &str) -> Output {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
    child.wait_with_output().unwrap()
}

fn spawn(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = p.command(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn ctrl_c_and_sigterm_stop_features_train_and_align_cleanly() {
    let p = Project::new("num_samples = 96");
    // Small shards, so that features can be interrupted between them.
    let cfg = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    let cfg = cfg.replace(
        "[encoders.image]\n",
        "[encoders.image]\nbatch_size = 8\nshard_rows = 16\n",
    );
    std::fs::write(p.path().join("pipeline.toml"), cfg).unwrap();
    p.ok(&["run", "--stage", "ingest"]);

    // features: Ctrl+C after a shard; its folder stays, the next run resumes from it.
    let dir = p.path().join("artifacts/features.image");
    let child = spawn(&p, &["run", "--stage", "features:image"], &[]);
    wait_for_temp(&dir, "a features shard", |t| {
        t.join("features-00000.npy").is_file()
    });
    let out = signal(child, "INT");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted (Ctrl+C) while building features:image: the next run resumes"),
        "{err}"
    );
    assert_eq!(temps(&dir).len(), 1, "the resumable folder is kept");
    let (out, err) = p.ok(&["run", "--stage", "features"]);
    assert!(!out.contains("waiting"), "the lock was released: {out}");
    assert!(err.contains("features:image: resuming at row"), "{err}");

    // train: SIGTERM after an epoch's checkpoint; the next run resumes after that epoch.
    let sets = ["--set", "train.mlp.epochs=6"];
    let mut train = vec!["run", "--stage", "train", "--adapter", "mlp"];
    train.extend(sets);
    let dir = p.path().join("artifacts/train.mlp");
    let every_epoch = [("PIPELINE_CHECKPOINT_SECS", "0")];
    let child = spawn(&p, &train, &every_epoch);
    wait_for_temp(&dir, "a training checkpoint", |t| {
        std::fs::read_dir(t.join("checkpoints"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|c| c.path().join("state.json").is_file())
    });
    let out = signal(child, "TERM");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("interrupted (SIGTERM) while building train:mlp: the next run resumes"),
        "{err}"
    );
    let out = p
        .command(&train)
        .env("PIPELINE_CHECKPOINT_SECS", "0")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("train:mlp: resuming after epoch"), "{err}");

    // align: Ctrl+C while scoring; nothing of it is kept, the next run builds it.
    let mut align = vec!["run", "--stage", "align", "--adapter", "mlp"];
    align.extend(sets);
    align.extend([
        "--set",
        "align.bootstrap=3000",
        "--set",
        "align.permutations=3000",
    ]);
    let dir = p.path().join("artifacts/align.mlp");
    let child = spawn(&p, &align, &[]);
    wait_for_temp(&dir, "align to start", |_| true);
    std::thread::sleep(Duration::from_millis(300));
    let out = signal(child, "INT");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted (Ctrl+C) while building align:mlp: nothing of it was kept"),
        "{err}"
    );
    assert!(temps(&dir).is_empty(), "{:?}", temps(&dir));
    let status = p.ok(&[&["status"][..], &align[5..]].concat()).0;
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("missing") && l.contains("align:mlp")),
        "{status}"
    );
    let verify = p.run(&["verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}
