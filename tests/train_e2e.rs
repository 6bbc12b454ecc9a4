//! `pipeline run --stage train --adapter linear|mlp` on the embedded default: training lowers the
//! validation loss and raises validation retrieval R@1 over the untrained adapters; the history,
//! checkpoint and aligned embeddings are written; a killed run resumes to the same result.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Project, read_npy};
use stages::table::Table;

fn history(p: &Project, stage: &str, sets: &[&str]) -> Table {
    Table::read(&p.show_with(stage, sets).join("history.parquet")).unwrap()
}

#[test]
fn training_beats_the_untrained_adapters() {
    let p = crate::common::prebuilt("full", || Project::new(""), &["run", "--stage", "features"]);
    let sets = ["--set", "train.linear.epochs=8"];
    let (out, err) = p.ok(&[
        "run",
        "--stage",
        "train",
        "--adapter",
        "linear",
        sets[0],
        sets[1],
    ]);
    assert!(out.contains("ran     train:linear"), "{out}");
    assert!(
        !out.contains("train:mlp"),
        "only the selected adapter runs: {out}"
    );
    assert!(
        err.contains("num_samples 12800 >= 526 training pairs: using all of them"),
        "{err}"
    );
    let h = history(&p, "train:linear", &sets);
    let val_loss = h.f64s("val_loss").unwrap();
    let r1 = h.f64s("val_r1_i2t").unwrap();
    let epochs = h.i64s("epoch").unwrap();
    assert_eq!(
        epochs,
        (0..=8).collect::<Vec<i64>>(),
        "epoch 0 = the untrained adapters"
    );
    assert!(val_loss[8] < val_loss[0] - 0.1, "val loss {val_loss:?}");
    // (R@1 here counts ties against the query, as the probe stage does: 8 epochs of one step.)
    assert!(r1[8] > r1[0] + 0.03, "val R@1 {r1:?}");
    let notes = h.strings("note").unwrap();
    assert!(
        notes[1].contains("lr 0"),
        "the first warmup step is a no-op and says so: {notes:?}"
    );
    let dir = p.show_with("train:linear", &sets);
    assert!(dir.join("model.mpk").is_file(), "the Burn checkpoint");
    let (rows, dim, _) = read_npy(&dir.join("aligned/image/features.npy"));
    assert_eq!(
        (rows, dim),
        (700, 384),
        "aligned embeddings of every image (two stamps are one file: 700 images for 701 \
         captions), at the reference width"
    );
    let (rows, dim, _) = read_npy(&dir.join("aligned/text/features.npy"));
    assert_eq!((rows, dim), (701, 384));
    assert!(
        dir.join("untrained/image/features.parquet").is_file(),
        "the untrained control"
    );
    // Changing a train parameter reruns train only.
    let (out, _) = p.ok(&[
        "run",
        "--stage",
        "train",
        "--adapter",
        "linear",
        "--set",
        "train.linear.epochs=8",
        "--set",
        "train.linear.lr=1e-4",
    ]);
    assert!(
        out.contains("reused  features:image") && out.contains("ran     train:linear"),
        "{out}"
    );
}

#[test]
fn a_killed_training_resumes_to_the_same_weights() {
    // A small MLP (with dropout, so the resumed RNG state matters), many quick epochs, on a
    // capped dataset; one project: an uninterrupted run, then a --force rebuild killed after its
    // second epoch checkpoint and run again to completion.
    let p = crate::common::prebuilt(
        "n160",
        || Project::new("num_samples = 160"),
        &["run", "--stage", "features"],
    );
    let sets = [
        "--set",
        "train.mlp.epochs=12",
        "--set",
        "train.mlp.mlp_hidden_dims=[64]",
    ];
    let run = [
        "run",
        "--stage",
        "train:mlp",
        sets[0],
        sets[1],
        sets[2],
        sets[3],
    ];
    p.ok(&run);
    let dir = p.show_with("train:mlp", &sets);
    // The uninterrupted run checkpoints at the default interval (30 s, longer than this whole
    // run); the killed and resumed runs after every epoch (PIPELINE_CHECKPOINT_SECS=0).
    let expected = std::fs::read(dir.join("aligned/text/features.npy")).unwrap();
    let expected_history = history(&p, "train:mlp", &sets).f64s("val_loss").unwrap();

    let forced: Vec<&str> = run.iter().copied().chain(["--force"]).collect();
    let mut child = p
        .command(&forced)
        .env("PIPELINE_CHECKPOINT_SECS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stage_dir = p.path().join("artifacts/train.mlp");
    let start = Instant::now();
    loop {
        let has_checkpoint = std::fs::read_dir(&stage_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .any(|e| {
                std::fs::read_dir(e.path().join("checkpoints"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|c| {
                        c.path().join("state.json").is_file()
                            && !c.file_name().to_string_lossy().ends_with("001")
                    })
            });
        if has_checkpoint {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no checkpoint written"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = p
        .command(&forced)
        .env("PIPELINE_CHECKPOINT_SECS", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("train:mlp: resuming after epoch"), "{err}");
    let got = std::fs::read(dir.join("aligned/text/features.npy")).unwrap();
    assert_eq!(
        history(&p, "train:mlp", &sets).f64s("val_loss").unwrap(),
        expected_history
    );
    assert!(
        got == expected,
        "resumed training ends with the same aligned embeddings"
    );
}

/// The files of an artifact and their content hashes, from its manifest.
fn outputs(dir: &std::path::Path) -> Vec<(String, String)> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["path"].as_str().unwrap().to_string(),
                o["blake3"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Two trainings at once in one process (`-j 2`) share Burn's one random generator: each must
/// still draw what it draws alone (its initialisation, the MLP's dropout keys), so the bytes
/// equal those of one training at a time.
#[test]
fn trainings_at_once_give_the_bytes_of_trainings_one_at_a_time() {
    let p = crate::common::prebuilt(
        "n160",
        || Project::new("num_samples = 160"),
        &["run", "--stage", "features"],
    );
    let sets = [
        "--set",
        "train.linear.epochs=12",
        "--set",
        "train.mlp.epochs=12",
        "--set",
        "train.mlp.mlp_hidden_dims=[256]",
    ];
    let run = |jobs: &str, force: bool| {
        let mut args = vec!["run", "--stage", "train", "-j", jobs];
        if force {
            args.push("--force");
        }
        args.extend_from_slice(&sets);
        p.ok(&args);
        ["train:linear", "train:mlp"].map(|s| outputs(&p.show_with(s, &sets)))
    };
    let alone = run("1", false);
    for attempt in 0..2 {
        let together = run("2", true);
        assert_eq!(
            together, alone,
            "attempt {attempt}: -j 2 trained other weights"
        );
    }
}
