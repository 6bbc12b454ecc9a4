//! The research's own encoders, for real. No hub here, so `make_research_cache.py` lays out
//! seeded random weights of torchvision's ResNet-18, DistilBERT-base-uncased and DINOv2-base as
//! a user's caches hold them (a `.pth`, Hugging Face `models--*` folders; DistilBERT's vocab.txt
//! is all-MiniLM-L6-v2's, checked to be bert-base-uncased's). `export_research.py` exports them
//! with torch from those files; `research_reference.py` checks every ONNX output against torch's
//! forward to 1e-4; and the pipeline's features from the exports, through the `research.toml`
//! the export writes, equal torch's output through the research's own preprocessing
//! (torchvision Resize + ToTensor + Normalize; transformers' DistilBertTokenizer, max_length 64).
//! Needs `make setup-torch` (`make test` runs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{binary, read_npy, repo};

/// Largest |pipeline − torch| allowed, as the issue asks of the ONNX files themselves.
const TOLERANCE: f32 = 1e-4;

fn torch_python() -> PathBuf {
    let python = repo().join(".venv-torch/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run `make setup-torch` (make test does)",
        python.display()
    );
    python
}

/// The command's (stdout, stderr), after checking that it succeeded.
fn run_ok(mut c: Command, what: &str) -> (String, String) {
    let out = c.output().unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{what} failed:\n{o}\n{e}");
    (o, e)
}

/// The pipeline's stdout (stderr has its progress, and notes such as the model set's optional
/// encoders left out where they are not installed).
fn pipeline(dir: &Path, args: &[&str]) -> String {
    let mut c = Command::new(binary());
    c.current_dir(dir)
        .args(["--config", "research.toml"])
        .args([
            "--set",
            "dataset.kind=manifest",
            "--set",
            "dataset.path=rows.csv",
        ])
        .args(args);
    run_ok(c, &format!("pipeline {args:?}")).0
}

fn features(dir: &Path, stage: &str) -> stages::table::Table {
    let folder = PathBuf::from(pipeline(dir, &["show", stage]).trim());
    stages::table::Table::read(&folder.join("features.parquet")).unwrap()
}

/// A manifest of `n` real Tux Paint stamps (the first PNG of each category, so that RGBA
/// cut-outs, photos and drawings are all there; PIL reads no SVG) with their English captions.
fn write_manifest(dir: &Path, n: usize) {
    let stamps = repo().join("data/datasets/tuxpaint");
    let mut folders = vec![stamps.clone()];
    let mut csv = String::from("image,caption\n");
    let mut taken = 0;
    while let Some(folder) = folders.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        let png = entries.iter().find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".png")
                && !name.ends_with("_mirror.png")
                && p.with_extension("txt").is_file()
        });
        if let (Some(png), false) = (png, folder.ends_with("symbols")) {
            let text = std::fs::read_to_string(png.with_extension("txt")).unwrap();
            let caption = text.lines().next().unwrap().trim().replace('"', "\"\"");
            csv += &format!("{},\"{caption}\"\n", png.display());
            taken += 1;
        }
        if taken == n {
            break;
        }
        folders.extend(entries.into_iter().filter(|p| p.is_dir()).rev());
    }
    assert_eq!(taken, n, "{n} captioned PNG stamps in {}", stamps.display());
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
}

#[test]
fn research_encoders_export_and_the_pipeline_reads_them_as_torch_does() {
    let repo = repo();
    let python = torch_python();
    let dir = tempfile::tempdir().unwrap();
    // research.toml is pipeline.toml with its encoders swapped: its relative data paths resolve
    // in this folder through the link.
    std::os::unix::fs::symlink(repo.join("data"), dir.path().join("data")).unwrap();
    write_manifest(dir.path(), 12);
    let cache = dir.path().join("cache");
    let mut make_cache = Command::new(&python);
    make_cache
        .arg(repo.join("data/models/make_research_cache.py"))
        .arg("--tokenizer")
        .arg(repo.join("data/models/minilm_l6_v2.tokenizer.json"))
        .arg("--out")
        .arg(&cache);
    run_ok(make_cache, "make_research_cache.py");
    let weights = [
        ("--resnet18", cache.join("resnet18-random.pth")),
        (
            "--distilbert",
            cache.join("models--distilbert-base-uncased"),
        ),
        ("--dinov2", cache.join("models--facebook--dinov2-base")),
    ];
    let models = dir.path().join("models");
    let mut export = Command::new(&python);
    export.arg(repo.join("data/models/export_research.py"));
    for (flag, path) in &weights {
        export.arg(flag).arg(path);
    }
    export
        .arg("--out")
        .arg(&models)
        .arg("--config-out")
        .arg(dir.path().join("research.toml"));
    run_ok(export, "export_research.py");
    let config = std::fs::read_to_string(dir.path().join("research.toml")).unwrap();
    assert!(
        config.contains("onnx = \"models/resnet18.onnx\"")
            && config.contains("tokenizer = \"models/distilbert/tokenizer.json\"")
            && config.contains("[train.mlp]"),
        "research.toml: pipeline.toml with the research's encoders:\n{config}"
    );

    for stage in ["features:image", "features:text", "features:reference"] {
        pipeline(dir.path(), &["run", "--stage", stage]);
    }
    let (image, text, reference) = (
        features(dir.path(), "features:image"),
        features(dir.path(), "features:text"),
        features(dir.path(), "features:reference"),
    );
    let rows = serde_json::json!({
        "images": image.strings("source").unwrap(),
        "captions": text.strings("source").unwrap(),
    });
    assert_eq!(rows["images"].as_array().unwrap().len(), 12);
    let rows_file = dir.path().join("rows.json");
    std::fs::write(&rows_file, rows.to_string()).unwrap();

    // torch's forward through the research's preprocessing, and ONNX Runtime on the same
    // tensors: the script exits 1 when any exported output differs from torch by more than 1e-4.
    let torch_out = dir.path().join("torch");
    let mut reference_run = Command::new(&python);
    reference_run.arg(repo.join("data/models/research_reference.py"));
    for (flag, path) in &weights {
        reference_run.arg(flag).arg(path);
    }
    reference_run
        .arg("--models")
        .arg(&models)
        .arg("--rows")
        .arg(&rows_file)
        .arg("--out")
        .arg(&torch_out);
    let (log, _) = run_ok(reference_run, "research_reference.py");
    assert!(
        log.contains("dinov2/model.onnx hidden_state_12: ONNX vs torch"),
        "every layer is checked:\n{log}"
    );

    for (name, table, dim) in [
        ("image", &image, 512),
        ("text", &text, 768),
        ("reference", &reference, 768),
    ] {
        let (got_dim, got) = table.vectors("vector").unwrap();
        let (rows, cols, want) = read_npy(&torch_out.join(format!("{name}.npy")));
        assert_eq!((rows, cols, got_dim), (12, dim, dim), "{name}");
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        eprintln!("{name}: pipeline vs torch max |diff| {diff:.2e} (max |value| {scale:.2})");
        assert!(
            diff <= TOLERANCE,
            "{name}: the pipeline's features differ from torch's by {diff:e}"
        );
        // Random weights still give distinct rows: the comparison is not of constants.
        assert!(
            got[..dim] != got[dim..2 * dim],
            "{name}: rows 0 and 1 equal"
        );
    }
}

#[test]
fn a_vocabulary_that_is_not_bert_base_uncased_is_refused() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let mut spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo.join("data/models/minilm_l6_v2.tokenizer.json")).unwrap(),
    )
    .unwrap();
    spec["model"]["vocab"]["hello"] = 7593.into();
    let bad = dir.path().join("tokenizer.json");
    std::fs::write(&bad, spec.to_string()).unwrap();
    let out = Command::new(torch_python())
        .arg(repo.join("data/models/make_research_cache.py"))
        .arg("--tokenizer")
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("tokenizer.json: ids {'hello': 7593} differ from bert-base-uncased's"),
        "{err}"
    );
    assert!(!dir.path().join("cache").exists(), "nothing written");
}
