//! `make gpu-check` where it can be tested without a GPU: the script refuses a machine without
//! one (exit 2, said so), and the comparison it applies to a CUDA and a CPU training run, here
//! applied to CPU runs (`stages::train::compare`).

use std::process::Command;

use stages::train::TrainArtifact;
use stages::train::compare::{self, Tolerance};

use crate::common::{Project, repo};

#[test]
fn the_gpu_check_exits_2_and_says_so_without_a_gpu() {
    assert!(
        !std::path::Path::new("/dev/nvidiactl").exists(),
        "this test expects a machine without an NVIDIA GPU"
    );
    let out = Command::new(repo().join("scripts/gpu-check"))
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no NVIDIA GPU on this machine"), "{err}");
}

#[test]
fn training_runs_compare_equal_to_themselves_and_apart_from_an_untrained_run() {
    let p = Project::new("num_samples = 120");
    // Batches of 16: the 30 validation pairs are scored in two batches.
    let config = p.path().join("pipeline.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[train.linear]\nadapter = \"linear\"\nbatch_size = 16\n");
    std::fs::write(&config, text).unwrap();
    p.ok(&["run", "--stage", "train:linear"]);
    let first = TrainArtifact::at(&p.show("train:linear"))
        .read_history()
        .unwrap();
    // The same config again, rebuilt: the CPU kernels give the same history.
    p.ok(&["run", "--stage", "train:linear", "--force"]);
    let again = TrainArtifact::at(&p.show("train:linear"))
        .read_history()
        .unwrap();
    let same = compare::histories(&first, &again, Tolerance::default());
    assert!(same.agrees(), "{:?}", same.problems);
    assert_eq!(same.worst_epoch_val_loss, 0.0);
    assert_eq!(same.val_loss.0, first.last().unwrap().val_loss);

    // A learning rate that leaves the adapters where they started: far outside the tolerance.
    let still = [
        "--set",
        "train.linear.lr=0",
        "--set",
        "train.linear.min_lr=0",
    ];
    let mut args = vec!["run", "--stage", "train:linear"];
    args.extend_from_slice(&still);
    p.ok(&args);
    let untrained = TrainArtifact::at(&p.show_with("train:linear", &still))
        .read_history()
        .unwrap();
    let apart = compare::histories(&first, &untrained, Tolerance::default());
    assert!(!apart.agrees());
    assert!(
        apart.problems.iter().any(|m| m.contains("final val loss")),
        "{:?}",
        apart.problems
    );
    // Histories of different lengths are a finding, not a panic.
    let short = compare::histories(&first, &first[..3], Tolerance::default());
    assert!(
        short.problems[0].contains("epochs of history"),
        "{:?}",
        short.problems
    );
}
