//! `align:modelset` on a small slice of the embedded dataset: four encoders (the experiment's
//! three and a named one, MiniLM read at its CLS token) give all six pairs, each equal to
//! `pipeline metric` on the same rows of the same features, with its permutation null; an
//! encoder with a layer axis (MiniLM's seven layers from one pass) gives every layer pair and a
//! best layer pair whose selection-corrected p is never below its own; names that are not
//! encoders, or of the wrong kind, are refused before any work.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{Project, repo};
use stages::features::{FeatureMatrix, npy};
use stages::table::Table;

fn project() -> Project {
    let r = repo();
    let r = r.display();
    Project::new(&format!(
        "num_samples = 120\n\
         [encoders.minilm_cls]\nkind = \"text\"\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
         tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
         inputs = [\"input_ids\", \"attention_mask\", \"token_type_ids\"]\n\
         output = \"last_hidden_state\"\npooling = \"cls\"\ndim = 384\n\
         [encoders.minilm_layers]\nkind = \"text\"\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
         tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
         inputs = [\"input_ids\", \"attention_mask\", \"token_type_ids\"]\n\
         layers = [\"hidden_state_*\"]\npooling = \"mean\"\n\
         [modelset]\nimage = [\"image\", \"reference\"]\ntext = [\"text\", \"minilm_cls\"]\n\
         all_pairs = true\nmetrics = [\"mutual_knn\", \"unbiased_cka\", \"cknna\", \"cka\"]\n\
         topk = 5\nbootstrap = 50\npermutations = 99\n"
    ))
}

/// Rows `ids` of the features artifact `dir` (looked up by its `id` column), as a .npy file.
fn rows_npy(dir: &Path, ids: &[String], out: &Path) {
    rows_npy_columns(dir, ids, None, out)
}

/// As [`rows_npy`], columns `offset..offset + dim` only (one layer of a layer axis).
fn rows_npy_columns(dir: &Path, ids: &[String], columns: Option<(usize, usize)>, out: &Path) {
    let table = Table::read(&dir.join("features.parquet")).unwrap();
    let index: HashMap<String, usize> = table
        .strings("id")
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let m = FeatureMatrix::open(dir).unwrap();
    let (offset, dim) = columns.unwrap_or((0, m.dim()));
    let mut values = Vec::new();
    for id in ids {
        values.extend_from_slice(&m.row(index[id])[offset..offset + dim]);
    }
    npy::write(out, ids.len(), dim, &values).unwrap();
}

#[test]
fn modelset_matrix_equals_pipeline_metric_with_its_nulls() {
    let p = project();
    let (out, err) = p.ok(&["run", "--stage", "align:modelset"]);
    assert!(out.contains("ran     features:minilm_cls"), "{out}");
    assert!(out.contains("ran     align:modelset"), "{out}");
    assert!(err.contains("4 encoders, 6 pairs"), "{err}");
    let dir = p.show("align:modelset");

    let t = Table::read(&dir.join("modelset.parquet")).unwrap();
    assert_eq!(t.num_rows(), 4 * 6, "4 metrics x 6 pairs");
    let rows = Table::read(&dir.join("rows.parquet")).unwrap();
    let (records, images) = (
        rows.strings("record_id").unwrap(),
        rows.strings("image_id").unwrap(),
    );
    assert!(records.len() > 10, "{} rows", records.len());
    let kind = |name: &str| {
        if name == "image" || name == "reference" {
            &images
        } else {
            &records
        }
    };
    let (metric, a, b) = (
        t.strings("metric").unwrap(),
        t.strings("a").unwrap(),
        t.strings("b").unwrap(),
    );
    let (score, null_mean, null_q95, above_null, pv) = (
        t.f64s("score").unwrap(),
        t.f64s("null_mean").unwrap(),
        t.f64s("null_q95").unwrap(),
        t.f64s("above_null").unwrap(),
        t.f64s("p_value").unwrap(),
    );
    let calibrated = t.f64s("calibrated").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut metric_of_pair: HashMap<(String, String), serde_json::Value> = HashMap::new();
    for i in 0..t.num_rows() {
        let key = (a[i].clone(), b[i].clone());
        let printed = metric_of_pair.entry(key).or_insert_with(|| {
            let (fa, fb) = (tmp.path().join("a.npy"), tmp.path().join("b.npy"));
            rows_npy(&p.show(&format!("features:{}", a[i])), kind(&a[i]), &fa);
            rows_npy(&p.show(&format!("features:{}", b[i])), kind(&b[i]), &fb);
            let (json, _) = p.ok(&[
                "metric",
                fa.to_str().unwrap(),
                fb.to_str().unwrap(),
                "--metric",
                "mutual_knn,unbiased_cka,cknna,cka",
                "--topk",
                "5",
            ]);
            serde_json::from_str(&json).unwrap()
        });
        let expected = printed[&metric[i]].as_f64().unwrap();
        assert!(
            (score[i] - expected).abs() < 1e-9,
            "{} {}~{}: stage {} against pipeline metric {expected}",
            metric[i],
            a[i],
            b[i],
            score[i]
        );
        assert!(pv[i] > 0.0 && pv[i] <= 1.0);
        assert!(
            null_q95[i] >= null_mean[i],
            "{} {}~{}",
            metric[i],
            a[i],
            b[i]
        );
        assert!((above_null[i] - (score[i] - null_mean[i])).abs() < 1e-12);
        // 99 permutations at α = 0.05: above τ (the 95th of 100 values) exactly when p ≤ 0.05.
        assert!((0.0..=1.0).contains(&calibrated[i]));
        assert_eq!(
            calibrated[i] > 0.0,
            pv[i] <= 0.05 + 1e-12,
            "{} {}~{}",
            metric[i],
            a[i],
            b[i]
        );
    }
    // The same encoder read two ways (mean and CLS of MiniLM) is far above its null.
    let same = (0..t.num_rows())
        .find(|&i| a[i] == "text" && b[i] == "minilm_cls" && metric[i] == "unbiased_cka")
        .unwrap();
    assert_eq!(pv[same], 0.01, "text ~ minilm_cls: p {}", pv[same]);
    assert!(score[same] > null_q95[same] + 0.2);
    // mutual kNN's null is chance overlap: about k/n of the neighbours.
    let n = records.len() as f64;
    for i in (0..t.num_rows()).filter(|&i| metric[i] == "mutual_knn") {
        assert!(
            (null_mean[i] - 5.0 / (n - 1.0)).abs() < 0.05,
            "{}~{}: null mean {}",
            a[i],
            b[i],
            null_mean[i]
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("modelset.json")).unwrap()).unwrap();
    assert_eq!(json["encoders"].as_array().unwrap().len(), 4);
    assert_eq!(json["settings"]["permutations"], 99);
    // The figure: a panel per metric, a labelled cell per score.
    let svg = std::fs::read_to_string(dir.join("modelset.svg")).unwrap();
    for m in ["mutual_knn", "unbiased_cka", "cknna", "cka"] {
        assert!(svg.contains(&format!(">{m}</text>")), "{m}");
    }
    assert_eq!(svg.matches(">calibrated ").count(), 4 * 6);
    assert!(svg.ends_with("</svg>\n"));
}

#[test]
fn a_layer_axis_scores_every_layer_pair_and_corrects_the_best_for_its_choice() {
    let p = project();
    let sets = [
        "--set",
        "modelset.all_pairs=false",
        "--set",
        "modelset.image=[\"image\"]",
        "--set",
        "modelset.text=[\"text\", \"minilm_layers\"]",
    ];
    let mut args = vec!["run", "--stage", "align:modelset"];
    args.extend_from_slice(&sets);
    let (out, err) = p.ok(&args);
    assert!(out.contains("ran     features:minilm_layers"), "{out}");
    assert!(err.contains("2 pairs (8 layer pairs)"), "{err}");
    let dir = p.show_with("align:modelset", &sets);
    let t = Table::read(&dir.join("modelset.parquet")).unwrap();
    assert_eq!(t.num_rows(), 4 * 8, "4 metrics x (1 + 7) layer pairs");
    let (metric, b, b_layer, score) = (
        t.strings("metric").unwrap(),
        t.strings("b").unwrap(),
        t.strings("b_layer").unwrap(),
        t.f64s("score").unwrap(),
    );
    let at = |m: &str, enc: &str, layer: &str| {
        (0..t.num_rows())
            .find(|&i| metric[i] == m && b[i] == enc && b_layer[i] == layer)
            .map(|i| score[i])
            .unwrap()
    };
    // The last layer of the layered encoder is the plain encoder, exactly.
    for m in ["mutual_knn", "unbiased_cka", "cknna", "cka"] {
        assert_eq!(
            at(m, "minilm_layers", "hidden_state_6"),
            at(m, "text", ""),
            "{m}"
        );
    }
    // One layer's columns through `pipeline metric`.
    let rows = Table::read(&dir.join("rows.parquet")).unwrap();
    let (records, images) = (
        rows.strings("record_id").unwrap(),
        rows.strings("image_id").unwrap(),
    );
    let layered = p.show("features:minilm_layers");
    let layers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layered.join("layers.json")).unwrap()).unwrap();
    let third = &layers[2];
    assert_eq!(third["name"], "hidden_state_2");
    let columns = (
        third["offset"].as_u64().unwrap() as usize,
        third["dim"].as_u64().unwrap() as usize,
    );
    let tmp = tempfile::tempdir().unwrap();
    let (fa, fb) = (tmp.path().join("a.npy"), tmp.path().join("b.npy"));
    rows_npy(&p.show("features:image"), &images, &fa);
    rows_npy_columns(&layered, &records, Some(columns), &fb);
    let (json, _) = p.ok(&[
        "metric",
        fa.to_str().unwrap(),
        fb.to_str().unwrap(),
        "--metric",
        "unbiased_cka",
        "--topk",
        "5",
    ]);
    let printed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let want = printed["unbiased_cka"].as_f64().unwrap();
    let got = at("unbiased_cka", "minilm_layers", "hidden_state_2");
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");

    // The best layer pair: the highest of the seven, its corrected p never below its own.
    let best = Table::read(&dir.join("best_layers.parquet")).unwrap();
    assert_eq!(best.num_rows(), 4 * 2, "4 metrics x 2 encoder pairs");
    let (bm, bb, bl, bs) = (
        best.strings("metric").unwrap(),
        best.strings("b").unwrap(),
        best.strings("b_layer").unwrap(),
        best.f64s("score").unwrap(),
    );
    let (bp, bc, pairs) = (
        best.f64s("p_value").unwrap(),
        best.f64s("corrected_p").unwrap(),
        best.counts("layer_pairs").unwrap(),
    );
    let bcal = best.f64s("calibrated").unwrap();
    for i in 0..best.num_rows() {
        // Calibrated against the null of the maximum (Algorithm 2): above its τ exactly when
        // the corrected p is at most α.
        assert_eq!(bcal[i] > 0.0, bc[i] <= 0.05 + 1e-12, "{} {}", bm[i], bb[i]);
        assert!(
            bc[i] >= bp[i],
            "{} {}: corrected {} < {}",
            bm[i],
            bb[i],
            bc[i],
            bp[i]
        );
        if bb[i] == "text" {
            assert_eq!(pairs[i], 1);
            assert_eq!(bc[i], bp[i], "one layer pair: nothing chosen");
        } else {
            assert_eq!(pairs[i], 7);
            let top = (0..7)
                .map(|l| at(&bm[i], "minilm_layers", &format!("hidden_state_{l}")))
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(bs[i], top, "{}", bm[i]);
            assert_eq!(bs[i], at(&bm[i], "minilm_layers", &bl[i]));
        }
    }
}

#[test]
fn modelset_names_must_be_encoders_of_their_kind() {
    let p = project();
    let o = p.run(&[
        "run",
        "--stage",
        "align:modelset",
        "--set",
        "modelset.text=[\"image\"]",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("modelset.text") && err.contains("an image encoder"),
        "{err}"
    );
    let o = p.run(&[
        "run",
        "--stage",
        "align:modelset",
        "--set",
        "modelset.image=[\"clip\"]",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("\"clip\"") && err.contains("minilm_cls (text)"),
        "{err}"
    );
    assert!(
        !p.path().join("artifacts").exists(),
        "refused before any work"
    );
    // The adapters' encoders read one output.
    let o = p.run(&[
        "run",
        "--stage",
        "features:text",
        "--set",
        "encoders.text.layers=[\"hidden_state_*\"]",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("encoders.text.layers"), "{err}");
    // An encoder beyond the three roles says what it reads.
    let o = p.run(&["status", "--set", "encoders.extra.onnx=\"x.onnx\""]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("encoders.extra.kind"), "{err}");
}

/// `[modelset] optional`: a listed encoder whose model file is absent is left out and said so,
/// with every key as if it had never been listed; its section's keys are still checked; and
/// without `optional` the same absence is an error.
#[test]
fn an_optional_encoder_that_is_not_installed_is_left_out_with_the_keys_unchanged() {
    let p = project();
    let ghost = [
        "--set",
        "encoders.ghost.kind=\"image\"",
        "--set",
        "encoders.ghost.onnx=\"models/ghost.onnx\"",
        "--set",
        "encoders.ghost.output=\"features\"",
        "--set",
        "encoders.ghost.pooling=\"none\"",
        "--set",
        "modelset.image=[\"image\", \"reference\", \"ghost\"]",
        "--set",
        "competence.scores={ image = 75.1, ghost = 80.0 }",
    ];
    let optional = ["--set", "modelset.optional=[\"ghost\"]"];
    let with = |extra: &[&str]| {
        let mut args = vec!["status"];
        args.extend_from_slice(&ghost);
        args.extend_from_slice(extra);
        p.run(&args)
    };

    let o = with(&optional);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}\n{err}");
    let missing = p.path().join("models/ghost.onnx");
    assert!(
        err.contains(&format!(
            "modelset: `ghost` left out: optional, and {} is not installed",
            missing.display()
        )),
        "{err}"
    );
    assert!(!out.contains("ghost"), "no ghost stage: {out}");
    // Said by status and by a run that selects the model set; not by other commands.
    let said = |args: &[&str]| {
        let o = p.run(&[args, &ghost[..], &optional[..]].concat());
        String::from_utf8_lossy(&o.stderr).contains("`ghost` left out")
    };
    assert!(!said(&["show", "ingest"]));
    assert!(!said(&["run", "--stage", "ingest"]));
    // The keys, from `status` (nothing is built).
    let keys = |o: &std::process::Output| -> Vec<(String, String)> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 3 && f[1].contains("modelset") || f.get(1) == Some(&"report"))
                    .then(|| (f[1].to_string(), f[2].to_string()))
            })
            .collect()
    };
    let plain = p.run(&["status", "--set", "competence.scores={ image = 75.1 }"]);
    assert_eq!(
        keys(&o),
        keys(&plain),
        "align:modelset, probe:modelset and report keyed as if `ghost` had never been listed"
    );
    assert_eq!(keys(&o).len(), 3);

    // Installed, it is a member like any other: its own stage, and a new key.
    std::fs::create_dir_all(p.path().join("models")).unwrap();
    std::fs::copy(repo().join("data/models/efficientnet_lite0.onnx"), &missing).unwrap();
    let o = with(&optional);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        out.contains("features:ghost") && out.contains("features:probe-ghost"),
        "{out}"
    );
    assert_ne!(keys(&o)[0], keys(&plain)[0], "align:modelset");
    std::fs::remove_file(&missing).unwrap();

    // Not optional: the missing file is the run's error.
    let o = p.run(&[&["run", "--stage", "align:modelset"][..], &ghost[..]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("ghost.onnx does not exist"), "{err}");
    // A typo in a left-out encoder's section is still caught.
    let o = with(
        &[
            &optional[..],
            &["--set", "encoders.ghost.pooling_=\"cls\""][..],
        ]
        .concat(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("encoders.ghost.pooling_"), "{err}");
    // `optional` names listed encoders only.
    let o = p.run(&[
        "run",
        "--stage",
        "align:modelset",
        "--set",
        "modelset.optional=[\"nobody\"]",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("modelset.optional") && err.contains("an encoder listed in image or text"),
        "{err}"
    );
}

/// Spearman's rho by hand: Pearson's r of average ranks, values within a relative 1e-12 tied
/// (one mutual kNN rational summed in two orders); without ties, 1 - 6·Σd² / (n(n² - 1)).
fn spearman_by_hand(x: &[f64], y: &[f64]) -> f64 {
    let tied = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
    let rank = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|&a| {
                let below = v.iter().filter(|&&b| b < a && !tied(a, b)).count() as f64;
                let same = v.iter().filter(|&&b| tied(a, b)).count() as f64;
                below + (same + 1.0) / 2.0
            })
            .collect()
    };
    let (rx, ry) = (rank(x), rank(y));
    let n = x.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let cov: f64 = rx
        .iter()
        .zip(&ry)
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    let var = |r: &[f64]| r.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>();
    let rho = cov / (var(&rx) * var(&ry)).sqrt();
    if rx.iter().chain(&ry).all(|r| r.fract() == 0.0) {
        let d2: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - b) * (a - b)).sum();
        assert!((rho - (1.0 - 6.0 * d2 / (n * (n * n - 1.0)))).abs() < 1e-12);
    }
    rho
}

fn competence_project() -> Project {
    let r = repo();
    let r = r.display();
    Project::new(&format!(
        "num_samples = 120\n\
         [encoders.dinov2_layers]\nkind = \"image\"\nonnx = \"{r}/data/models/dinov2_vits14.onnx\"\n\
         layers = [\"hidden_state_*\"]\npooling = \"cls\"\nbatch_size = 16\n\
         [modelset]\nimage = [\"image\", \"reference\", \"dinov2_layers\"]\ntext = [\"text\"]\n\
         metrics = [\"mutual_knn\", \"unbiased_cka\"]\ntopk = 5\nbootstrap = 50\npermutations = 99\n\
         [competence]\nscore_name = \"made-up\"\nresamples = 100\npermutations = 100\n\
         scores = {{ image = 3.0, reference = 1.0, dinov2_layers = 2.0, text = 5.0 }}\n"
    ))
}

#[test]
fn competence_is_each_image_encoders_probe_and_rho_is_spearman_against_alignment() {
    let p = competence_project();
    let (out, err) = p.ok(&["run", "--stage", "probe:modelset"]);
    for stage in [
        "features:probe-image",
        "features:probe-reference",
        "features:probe-dinov2_layers",
        "align:modelset",
        "probe:modelset",
    ] {
        assert!(out.contains(&format!("ran     {stage}")), "{stage}: {out}");
    }
    let dir = p.show("probe:modelset");

    // The probe at every layer of the layered encoder; its last layer is its competence.
    let layers = Table::read(&dir.join("probe_layers.parquet")).unwrap();
    let (lenc, llayer, lacc) = (
        layers.strings("encoder").unwrap(),
        layers.strings("layer").unwrap(),
        layers.f64s("test_accuracy").unwrap(),
    );
    assert_eq!(layers.num_rows(), 1 + 1 + 13, "{lenc:?} {llayer:?}");
    let t = Table::read(&dir.join("competence.parquet")).unwrap();
    let (enc, measure, value, layer) = (
        t.strings("encoder").unwrap(),
        t.strings("measure").unwrap(),
        t.f64s("value").unwrap(),
        t.strings("layer").unwrap(),
    );
    let competence = |e: &str, m: &str| {
        (0..t.num_rows())
            .find(|&i| enc[i] == e && measure[i] == m)
            .map(|i| (value[i], layer[i].clone()))
            .unwrap_or_else(|| panic!("{e} {m}: {enc:?} {measure:?}"))
    };
    let (dino, at) = competence("dinov2_layers", "linear_probe");
    assert_eq!(at, "hidden_state_12");
    assert_eq!(dino, lacc[14]);
    assert_eq!(llayer[14], "hidden_state_12");
    assert_eq!(competence("text", "score").0, 5.0);
    assert_eq!(
        t.num_rows(),
        3 + 4,
        "a probe per image encoder, a score per named one"
    );

    // The same probe as the probe stage's: the same rows, settings and accuracy.
    p.ok(&["run", "--stage", "probe:linear"]);
    let probe = Table::read(&p.show("probe:linear").join("probe.parquet")).unwrap();
    let (features, accuracy) = (
        probe.strings("features").unwrap(),
        probe.f64s("test_accuracy").unwrap(),
    );
    for (name, space) in [("image", "image"), ("reference", "reference")] {
        let i = features.iter().position(|f| f == space).unwrap();
        assert_eq!(competence(name, "linear_probe").0, accuracy[i], "{name}");
    }

    // Rho across the three image encoders against their alignment with the text encoder, at
    // each pair's best layer pair, equals the rank-difference formula on the stage's inputs.
    let best = Table::read(&p.show("align:modelset").join("best_layers.parquet")).unwrap();
    let (bm, ba, bs) = (
        best.strings("metric").unwrap(),
        best.strings("a").unwrap(),
        best.f64s("score").unwrap(),
    );
    let rho = Table::read(&dir.join("competence_rho.parquet")).unwrap();
    assert_eq!(
        rho.num_rows(),
        2 * 2,
        "2 metrics x 2 measures, image encoders vs text"
    );
    let (rm, rmeasure, ranchor, rr, rn) = (
        rho.strings("metric").unwrap(),
        rho.strings("measure").unwrap(),
        rho.strings("anchor").unwrap(),
        rho.f64s("rho").unwrap(),
        rho.counts("encoders").unwrap(),
    );
    let images = ["image", "reference", "dinov2_layers"];
    for i in 0..rho.num_rows() {
        assert_eq!((ranchor[i].as_str(), rn[i]), ("text", 3));
        let x: Vec<f64> = images
            .iter()
            .map(|e| competence(e, &rmeasure[i]).0)
            .collect();
        let y: Vec<f64> = images
            .iter()
            .map(|e| {
                (0..best.num_rows())
                    .find(|&j| bm[j] == rm[i] && ba[j] == *e)
                    .map(|j| bs[j])
                    .unwrap()
            })
            .collect();
        let want = spearman_by_hand(&x, &y);
        assert!(
            (rr[i] - want).abs() < 1e-12 || (rr[i].is_nan() && want.is_nan()),
            "{} {}: rho {} against {want} ({x:?}, {y:?})",
            rm[i],
            rmeasure[i],
            rr[i]
        );
    }
    assert!(err.contains("rho"), "{err}");
    let svg = std::fs::read_to_string(dir.join("competence.svg")).unwrap();
    assert_eq!(svg.matches("ρ ").count(), rho.num_rows());
    assert_eq!(svg.matches("<circle").count(), 3 * rho.num_rows());
    assert!(svg.contains("made-up"));

    // A score for an encoder outside the set is refused before any work; so is an adapter
    // that would take the model set's stage names.
    let q = competence_project();
    let o = q.run(&[
        "run",
        "--stage",
        "probe:modelset",
        "--set",
        "competence.scores.clip=80.0",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("competence.scores.clip") && err.contains("an encoder of [modelset]"),
        "{err}"
    );
    let o = q.run(&["status", "--set", "train.modelset.adapter=\"linear\""]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("[train.modelset]"), "{err}");
    assert!(
        !q.path().join("artifacts").exists(),
        "refused before any work"
    );
}
