//! `pipeline run --stage features --shard I/N` on the embedded default (a capped subset): each
//! shard is its own artifact, `status` says which are built, and a plain run then assembles them
//! into artifacts with the keys and the bytes of a run that never sharded.

use std::path::Path;

use crate::common::Project;

pub(crate) const FEATURES: [&str; 6] = [
    "features:image",
    "features:text",
    "features:reference",
    "features:probe-image",
    "features:probe-reference",
    "features:probe-prompts",
];

/// 96 pairs in units small enough for 4 shards to matter: image batches of 8 (12 units), caption
/// blocks of 16 x 2 rows (3 units: one shard of 4 is empty), reference batches of 16 (6 units),
/// storage files of 16 image rows (so assembly re-cuts rows into files).
pub(crate) fn project() -> Project {
    with_dataset("num_samples = 96")
}

/// [`project`] with one more encoder, `lite0_stages`, that reads the image encoder's model in
/// the same batches: each shard is one pass for both.
fn project_with_a_shared_pass() -> Project {
    let r = crate::common::repo();
    with_dataset(&format!(
        "num_samples = 96\n[encoders.lite0_stages]\nkind = \"image\"\n\
         onnx = \"{}/data/models/efficientnet_lite0.onnx\"\n\
         layers = [\"stage_*\", \"features\"]\npooling = \"none\"\nbatch_size = 8\n",
        r.display()
    ))
}

/// The local run every Slurm test compares with, built once per test process.
pub(crate) fn whole() -> Project {
    crate::common::prebuilt("shards-whole", project, &["run", "--stage", "features"])
}

fn with_dataset(extra: &str) -> Project {
    let p = Project::new(extra);
    let cfg = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    let cfg = cfg
        .replace(
            "[encoders.image]\n",
            "[encoders.image]\nbatch_size = 8\nshard_rows = 16\n",
        )
        .replace("[encoders.text]\n", "[encoders.text]\nbatch_size = 2\n");
    std::fs::write(p.path().join("pipeline.toml"), cfg).unwrap();
    p
}

/// Every file of an artifact (in subfolders too) but its manifest (which records times), by
/// relative path.
pub(crate) fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            let name = path.strip_prefix(base).unwrap().display().to_string();
            if path.is_dir() {
                walk(base, &path, out);
            } else if name != "manifest.json" {
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn shards_assemble_into_the_keys_and_bytes_of_one_run() {
    let whole = project_with_a_shared_pass();
    whole.ok(&["run", "--stage", "features"]);
    let mut features = FEATURES.to_vec();
    features.push("features:lite0_stages");

    let p = project_with_a_shared_pass();
    for i in 0..3 {
        let (out, _) = p.ok(&["run", "--stage", "features", "--shard", &format!("{i}/4")]);
        for &stage in &features {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(&format!("ran     {stage} "))
                        && l.ends_with(&format!("[shard {i}/4]"))),
                "{stage} shard {i}:\n{out}"
            );
        }
    }
    let (status, _) = p.ok(&["status"]);
    assert!(
        status.contains("3 of 4 shards built (missing: 3)"),
        "{status}"
    );
    let (out, _) = p.ok(&["run", "--stage", "features:image", "--shard", "3/4"]);
    assert!(out.contains("[shard 3/4]"), "{out}");
    // A shard built before is reused, not computed again.
    let (out, _) = p.ok(&["run", "--stage", "features:image", "--shard", "3/4"]);
    assert!(out.contains("nothing to do"), "{out}");
    let (status, _) = p.ok(&["status", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&status).unwrap();
    let image = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stage"] == "features:image")
        .unwrap();
    assert_eq!(image["shards"]["4"], serde_json::json!([0, 1, 2, 3]));
    p.ok(&["run", "--stage", "features", "--shard", "3/4"]);

    let (out, _) = p.ok(&["run", "--stage", "features"]);
    for &stage in &features {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("ran     {stage} "))
                    && l.contains("(assembled from 4 shards)")),
            "{stage} was not assembled:\n{out}"
        );
        let (a, b) = (whole.show(stage), p.show(stage));
        assert_eq!(
            a.file_name(),
            b.file_name(),
            "{stage}: the assembled artifact has the key of one run"
        );
        let (fa, fb) = (files(&a), files(&b));
        let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            fb.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "{stage}: the same files"
        );
        for ((name, x), (_, y)) in fa.iter().zip(&fb) {
            assert!(
                x == y,
                "{stage}/{name}: the assembled bytes differ from one run's"
            );
        }
    }
    // The image features are in 16-row files: 96 rows, 6 files, cut as one run cuts them.
    assert!(
        p.show("features:image")
            .join("features-00005.npy")
            .is_file()
    );

    // Shards of a built artifact are not needed: reused, nothing built.
    let (out, _) = p.ok(&["run", "--stage", "features:text", "--shard", "0/2"]);
    assert!(out.contains("reused  features:text"), "{out}");
    let (out, _) = p.ok(&["verify"]);
    assert!(!out.contains("problem"), "{out}");
    // Once assembled, gc removes the shards and keeps the artifacts.
    let (out, _) = p.ok(&["gc"]);
    let removed = out.lines().filter(|l| l.contains(".shard/")).count();
    assert_eq!(removed, 4 * features.len(), "{out}");
    let (out, _) = p.ok(&["run", "--stage", "features"]);
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn shard_arguments_that_cannot_work_are_refused_before_any_work() {
    let p = project();
    for (args, expected) in [
        (
            vec!["run", "--stage", "features:image", "--shard", "4/4"],
            "expected I/N with 0 <= I < N",
        ),
        (
            vec!["run", "--stage", "train", "--shard", "0/2"],
            "does not split into shards; these do: features:image",
        ),
        (vec!["run", "--shard", "0/2"], "--stage"),
    ] {
        let out = p.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(
        !p.path().join("artifacts/features.image.shard").exists(),
        "nothing was built"
    );
}

/// A layered encoder (MiniLM's seven layers in one row) sharded in 3 and assembled gives the
/// bytes of one run, `layers.json` included.
#[test]
fn a_layered_encoder_assembles_from_shards_with_its_layers() {
    let r = crate::common::repo();
    let r = r.display();
    let extra = format!(
        "num_samples = 48\n\
         [encoders.minilm_layers]\nkind = \"text\"\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
         tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
         inputs = [\"input_ids\", \"attention_mask\", \"token_type_ids\"]\n\
         layers = [\"hidden_state_*\"]\npooling = \"mean\"\nbatch_size = 2\n"
    );
    let stage = "features:minilm_layers";
    let whole = Project::new(&extra);
    whole.ok(&["run", "--stage", stage]);
    let p = Project::new(&extra);
    for i in 0..3 {
        let (out, _) = p.ok(&["run", "--stage", stage, "--shard", &format!("{i}/3")]);
        assert!(out.contains(&format!("[shard {i}/3]")), "{out}");
    }
    let (out, _) = p.ok(&["run", "--stage", stage]);
    assert!(out.contains(&format!("ran     {stage}")), "{out}");
    let (a, b) = (whole.show(stage), p.show(stage));
    assert_eq!(a.file_name(), b.file_name(), "same key");
    let (fa, fb) = (files(&a), files(&b));
    assert!(fa.iter().any(|(name, _)| name == "layers.json"), "{fa:?}");
    assert_eq!(
        fa.iter().map(|f| &f.0).collect::<Vec<_>>(),
        fb.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs");
    }
}
