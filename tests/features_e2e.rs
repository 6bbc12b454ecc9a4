//! `pipeline run --stage features` on the embedded default (a capped subset, to keep the suite
//! fast): every encoder runs once, the artifacts are readable as numpy and Parquet would read
//! them, a second run does nothing, and a killed run resumes and ends with the same bytes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Project, read_npy};

fn features_of(p: &Project, stage: &str) -> (usize, usize, Vec<f32>) {
    features_in(&p.show(stage))
}

fn features_in(dir: &Path) -> (usize, usize, Vec<f32>) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("features.json")).unwrap()).unwrap();
    let mut all = Vec::new();
    let (mut rows, mut cols) = (0, 0);
    for shard in index["shards"].as_array().unwrap() {
        let (r, c, v) = read_npy(&dir.join(shard["file"].as_str().unwrap()));
        rows += r;
        cols = c;
        all.extend(v);
    }
    (rows, cols, all)
}

#[test]
fn features_run_once_and_match_their_parquet() {
    let p = Project::new("num_samples = 40");
    let (out, err) = p.ok(&["run", "--stage", "features"]);
    for stage in [
        "ingest",
        "features:image",
        "features:text",
        "features:reference",
    ] {
        assert!(out.contains(&format!("ran     {stage}")), "{out}");
    }
    assert!(
        err.contains("ingest: 40 pairs of 40 images (30 train, 10 val)"),
        "{err}"
    );
    let (out, _) = p.ok(&["run", "--stage", "features"]);
    assert!(out.contains("nothing to do: 7 stages fresh"), "{out}");
    let t =
        stages::table::Table::read(&p.show("features:probe-reference").join("features.parquet"))
            .unwrap();
    assert_eq!(t.num_rows(), 60, "40 train + 20 test probe images");
    assert_eq!(
        t.i64s("label").unwrap()[0],
        9,
        "Fashion-MNIST's first training image is an ankle boot"
    );

    for (stage, dim) in [
        ("features:image", 1280),
        ("features:text", 384),
        ("features:reference", 384),
    ] {
        let (rows, cols, values) = features_of(&p, stage);
        assert_eq!((rows, cols), (40, dim), "{stage}");
        assert!(values.iter().all(|v| v.is_finite()));
        let t = stages::table::Table::read(&p.show(stage).join("features.parquet")).unwrap();
        let (pdim, pvalues) = t.vectors("vector").unwrap();
        assert_eq!(pdim, dim);
        assert_eq!(
            pvalues, values,
            "{stage}: Parquet and .npy hold the same numbers"
        );
        let splits = t.strings("split").unwrap();
        assert_eq!(splits.iter().filter(|s| *s == "val").count(), 10);
    }
    // Text rows are the captions; image rows the image files, relative paths resolved.
    let t = stages::table::Table::read(&p.show("features:text").join("features.parquet")).unwrap();
    assert!(
        t.strings("source")
            .unwrap()
            .iter()
            .all(|c| c.ends_with('.') || c.ends_with('!') || !c.is_empty())
    );
    let t = stages::table::Table::read(&p.show("features:image").join("features.parquet")).unwrap();
    assert!(
        t.strings("source")
            .unwrap()
            .iter()
            .all(|s| Path::new(s).is_file())
    );
}

#[test]
fn a_killed_feature_run_resumes_and_ends_with_the_same_bytes() {
    // Small shards (whole batches of 8) so that the run can be killed between shards.
    let project = || {
        let p = Project::new("num_samples = 96");
        let cfg = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
        let cfg = cfg.replace(
            "[encoders.image]\n",
            "[encoders.image]\nbatch_size = 8\nshard_rows = 16\n",
        );
        std::fs::write(p.path().join("pipeline.toml"), cfg).unwrap();
        p
    };
    // Reference: an uninterrupted run in its own project.
    let whole = project();
    whole.ok(&["run", "--stage", "features:image"]);
    let expected = features_of(&whole, "features:image");

    let p = project();
    p.ok(&["run", "--stage", "ingest"]);
    let mut child = p
        .command(&["run", "--stage", "features:image"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stage_dir = p.path().join("artifacts/features.image");
    let start = Instant::now();
    loop {
        let shards = std::fs::read_dir(&stage_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
            .filter(|f| {
                f.file_name().to_string_lossy().starts_with("features-")
                    && f.file_name().to_string_lossy().ends_with(".npy")
            })
            .count();
        if shards >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no shard written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (out, err) = p.ok(&["run", "--stage", "features:image"]);
    assert!(out.contains("ran     features:image"), "{out}");
    assert!(err.contains("features:image: resuming at row"), "{err}");
    assert_eq!(
        features_of(&p, "features:image"),
        expected,
        "resumed run equals an uninterrupted one"
    );
    let out = p.run(&["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A manifest beside pipeline.toml shares its folder with the artifacts: ingest is keyed by the
/// manifest and the images it names (here in another folder, by absolute path), so writing
/// artifacts changes nothing, and changing a named image makes ingest stale, naming the file.
#[test]
fn a_manifest_is_keyed_by_the_files_it_names_not_its_folder() {
    let p = Project::new("kind = \"manifest\"");
    let config = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    let config: String = config
        .lines()
        .map(|l| {
            if l.starts_with("path = ") && l.contains("tuxpaint") {
                "path = \"manifest.csv\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(p.path().join("pipeline.toml"), config).unwrap();
    let pictures = tempfile::tempdir().unwrap();
    let stamps = crate::common::repo().join("data/datasets/tuxpaint/animals");
    let mut sources: Vec<_> = walk_png(&stamps);
    sources.sort();
    let mut csv = String::from("image,caption\n");
    for (i, src) in sources.iter().take(8).enumerate() {
        let dst = pictures.path().join(format!("{i}.png"));
        std::fs::copy(src, &dst).unwrap();
        csv.push_str(&format!("{},picture number {i}\n", dst.display()));
    }
    std::fs::write(p.path().join("manifest.csv"), csv).unwrap();

    let (first, _) = p.ok(&["run", "--stage", "ingest"]);
    assert!(first.contains("ran     ingest"), "{first}");
    let key = p.show("ingest");
    let (second, _) = p.ok(&["run", "--stage", "ingest"]);
    assert!(
        !second.contains("ran     ingest"),
        "artifacts changed the key:\n{second}"
    );
    assert_eq!(p.show("ingest"), key);

    // Another picture's bytes under a named path: ingest is stale and says which file changed.
    std::fs::copy(&sources[9], pictures.path().join("3.png")).unwrap();
    let (status, _) = p.ok(&["status"]);
    let line = status
        .lines()
        .find(|l| l.contains("ingest"))
        .unwrap_or_default();
    assert!(line.contains("stale"), "{status}");
    assert!(
        status.contains("3.png"),
        "the changed file is not named:\n{status}"
    );
    p.ok(&["run", "--stage", "ingest"]);
    assert_ne!(p.show("ingest"), key);
}

fn walk_png(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk_png(&path));
        } else if path.extension().is_some_and(|x| x == "png") {
            out.push(path);
        }
    }
    out
}

/// Each stage's key from `pipeline status --json` under `sets`.
fn keys(p: &Project, sets: &[&str]) -> std::collections::BTreeMap<String, String> {
    let mut args = vec!["status", "--json"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let (out, _) = p.ok(&args);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    rows.iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().to_string(),
                r["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn caption_perturbations_rekey_only_the_text_and_rate_zero_is_no_perturbation() {
    let p = Project::new("num_samples = 40");
    let clean = keys(&p, &[]);
    let zero = keys(
        &p,
        &["perturb.caption.replace_words=0", "perturb.caption.seed=5"],
    );
    assert_eq!(clean, zero, "rate 0 is the identity: every key unchanged");
    let half = keys(&p, &["perturb.caption.replace_words=0.5"]);
    for stage in ["ingest", "features:image", "features:reference"] {
        assert_eq!(clean[stage], half[stage], "{stage} reads no caption");
    }
    assert_ne!(clean["features:text"], half["features:text"]);
    assert_ne!(clean["train:linear"], half["train:linear"]);
    let out = p.run(&[
        "run",
        "--stage",
        "features:text",
        "--set",
        "perturb.caption.drop_words=2",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`perturb.caption.drop_words` = 2"), "{err}");

    // The encoded captions are the perturbed ones: their features differ from the clean run's.
    p.ok(&["run", "--stage", "features:text"]);
    let (_, _, clean_rows) = features_of(&p, "features:text");
    let set = ["--set", "perturb.caption.replace_words=1"];
    p.ok(&[&["run", "--stage", "features:text"], &set[..]].concat());
    let (rows, dim, perturbed) = features_in(&p.show_with("features:text", &set));
    assert_eq!(perturbed.len(), clean_rows.len());
    let differing = (0..rows)
        .filter(|&r| perturbed[r * dim..(r + 1) * dim] != clean_rows[r * dim..(r + 1) * dim])
        .count();
    assert!(
        differing > rows * 9 / 10,
        "{differing} of {rows} rows changed"
    );
}

#[test]
fn image_perturbations_rekey_only_the_image_encoder_and_zero_is_no_perturbation() {
    let p = Project::new("num_samples = 40");
    let clean = keys(&p, &[]);
    let zero = keys(
        &p,
        &[
            "perturb.image.noise_pixels=0",
            "perturb.image.blur_sigma=0",
            "perturb.image.seed=9",
        ],
    );
    assert_eq!(clean, zero, "rate 0 is the identity: every key unchanged");
    let blurred = keys(&p, &["perturb.image.blur_sigma=2"]);
    for stage in ["ingest", "features:text", "features:reference"] {
        assert_eq!(clean[stage], blurred[stage], "{stage} sees clean images");
    }
    assert_ne!(clean["features:image"], blurred["features:image"]);
    assert_ne!(
        blurred["features:image"],
        keys(&p, &["perturb.image.noise_pixels=0.5"])["features:image"]
    );
    let out = p.run(&[
        "run",
        "--stage",
        "features:image",
        "--set",
        "perturb.image.noise_pixels=1.5",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`perturb.image.noise_pixels` = 1.5"), "{err}");

    // The encoded images are the perturbed ones; more noise moves them further.
    p.ok(&["run", "--stage", "features:image"]);
    let (_, _, clean_rows) = features_of(&p, "features:image");
    let distance = |set: &str| {
        let set = ["--set", set];
        p.ok(&[&["run", "--stage", "features:image"], &set[..]].concat());
        let (rows, dim, perturbed) = features_in(&p.show_with("features:image", &set));
        assert_eq!(perturbed.len(), clean_rows.len());
        (0..rows)
            .map(|r| {
                let (a, b) = (
                    &perturbed[r * dim..(r + 1) * dim],
                    &clean_rows[r * dim..(r + 1) * dim],
                );
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f32>()
                    .sqrt()
            })
            .sum::<f32>()
            / rows as f32
    };
    let light = distance("perturb.image.noise_pixels=0.1");
    let heavy = distance("perturb.image.noise_pixels=0.9");
    assert!(
        light > 0.0 && heavy > light,
        "mean distance {light} then {heavy}"
    );
    assert!(distance("perturb.image.blur_sigma=3") > 0.0);
}

/// Encoders that read one model file over the same items share one pass: the model runs once,
/// and each artifact has the key and the bytes it has when its encoder runs alone.
#[test]
fn encoders_of_one_model_share_a_pass_with_the_bytes_of_their_own() {
    let r = crate::common::repo();
    let extra = format!(
        "num_samples = 40\n\
         [encoders.lite0_stages]\nkind = \"image\"\n\
         onnx = \"{r}/data/models/efficientnet_lite0.onnx\"\n\
         layers = [\"stage_*\", \"features\"]\npooling = \"none\"\n\
         [encoders.minilm_layers]\nkind = \"text\"\n\
         onnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
         tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
         inputs = [\"input_ids\", \"attention_mask\", \"token_type_ids\"]\n\
         layers = [\"hidden_state_*\"]\npooling = \"mean\"\n",
        r = r.display()
    );
    let stages = [
        "features:image",
        "features:lite0_stages",
        "features:text",
        "features:minilm_layers",
    ];
    let alone = Project::new(&extra);
    for stage in stages {
        let (out, _) = alone.ok(&["run", "--stage", stage]);
        assert!(!out.contains("one pass for"), "{out}");
    }
    let together = Project::new(&extra);
    let (out, _) = together.ok(&["run", "--stage", "features"]);
    for stage in stages {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("ran     {stage} "))
                    && l.ends_with("(one pass for 2 artifacts)")),
            "{stage}:\n{out}"
        );
        let (a, b) = (alone.show(stage), together.show(stage));
        assert_eq!(a.file_name(), b.file_name(), "{stage}: one key");
        assert_eq!(
            crate::shards_e2e::files(&a),
            crate::shards_e2e::files(&b),
            "{stage}: the same bytes"
        );
    }
}
