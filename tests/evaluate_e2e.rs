//! The user's day on the embedded default after the features: both adapters trained, `align`,
//! `probe`, and the `report` page checked in a real browser (headless Chromium); a second run does
//! nothing; one changed hyperparameter reruns only its adapter's stages and the page. Also
//! `pipeline metric` on the numpy golden files.

use std::collections::HashMap;

use crate::common::{Project, repo};
use stages::table::Table;

#[test]
fn the_day_align_probe_report() {
    // The features every full-dataset test reads, computed once per test process.
    let p = crate::common::prebuilt("full", || Project::new(""), &["run", "--stage", "features"]);
    let sets = [
        "--set",
        "train.linear.epochs=8",
        "--set",
        "train.mlp.epochs=3",
        "--set",
        "align.bootstrap=200",
        "--set",
        "align.permutations=99",
        "--set",
        "align.costly_resamples=50",
    ];
    let mut args = vec!["run", "--stage", "align", "--adapter", "linear"];
    args.extend_from_slice(&sets);
    let (out, err) = p.ok(&args);
    assert!(out.contains("ran     align:linear"), "{out}");
    assert!(
        !out.contains("mlp"),
        "only the linear adapter's stages: {out}"
    );
    assert!(err.contains("175 pairs scored"), "{err}");
    let dir = p.show_with("align:linear", &sets);

    let t = Table::read(&dir.join("metrics.parquet")).unwrap();
    assert_eq!(t.num_rows(), 16 * 9, "16 metrics x 9 pairs");
    let (metric, pair) = (t.strings("metric").unwrap(), t.strings("pair").unwrap());
    let (score, lo, hi) = (
        t.f64s("score").unwrap(),
        t.f64s("ci_low").unwrap(),
        t.f64s("ci_high").unwrap(),
    );
    let pv = t.f64s("p_value").unwrap();
    let (tau, calibrated) = (t.f64s("tau").unwrap(), t.f64s("calibrated").unwrap());
    let mut by: HashMap<(String, String), f64> = HashMap::new();
    for i in 0..t.num_rows() {
        assert!(score[i].is_finite(), "{} {}", metric[i], pair[i]);
        // Null calibration at α = 0.05 with 99 permutations: τ is the 95th of 100 values, so a
        // score rises above it exactly when at most 4 null values reach it, p ≤ 0.05. (175 rows
        // are below resample_rows: the null is tested against the score itself.)
        let what = format!(
            "{} {}: score {}, τ {}",
            metric[i], pair[i], score[i], tau[i]
        );
        assert!((0.0..=1.0).contains(&calibrated[i]), "{what}");
        assert_eq!(
            calibrated[i] > 0.0,
            pv[i] <= 0.05 + 1e-12,
            "{what}, p {}",
            pv[i]
        );
        let s_max = if metric[i] == "lcs_knn" { 10.0 } else { 1.0 };
        let want = ((score[i] - tau[i]) / (s_max - tau[i])).clamp(0.0, 1.0);
        assert!((calibrated[i] - want).abs() < 1e-12, "{what}");
        assert!(
            lo[i] <= score[i] && score[i] <= hi[i],
            "{} {}: interval",
            metric[i],
            pair[i]
        );
        assert!(pv[i] > 0.0 && pv[i] <= 1.0);
        by.insert((metric[i].clone(), pair[i].clone()), score[i]);
    }
    // Two roads to the same unbiased HSIC estimator.
    for pr in ["image-text", "aligned_image-reference"] {
        let (u, d) = (
            by[&("unbiased_cka".to_string(), pr.to_string())],
            by[&("debiased_cka".to_string(), pr.to_string())],
        );
        assert!((u - d).abs() < 1e-9, "{pr}: {u} vs {d}");
    }
    // The research's uncentred kernel alignment collapses after contrastive training, because
    // the aligned embeddings spread out (mean pairwise cosine near 0) while DINOv2's do not.
    let spaces: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("spaces.json")).unwrap()).unwrap();
    let cos = |name: &str| {
        spaces["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["space"] == name)
            .unwrap()["mean_pairwise_cosine"]
            .as_f64()
            .unwrap()
    };
    assert!(cos("aligned_image") < 0.1 && cos("reference") > 0.5);
    assert!(
        by[&(
            "kernel_alignment".to_string(),
            "aligned_image-reference".to_string()
        )] < by[&(
            "kernel_alignment".to_string(),
            "untrained_image-reference".to_string()
        )]
    );

    let h: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("hypotheses.json")).unwrap()).unwrap();
    let tests = h["tests"].as_array().unwrap();
    assert_eq!(
        tests.len(),
        16 * 2 * 3 * 2,
        "metrics x H1/H2 x tested spaces x adapters"
    );
    for t in tests {
        let (m, l, u) = (
            t["margin"].as_f64().unwrap(),
            t["ci_low"].as_f64().unwrap(),
            t["ci_high"].as_f64().unwrap(),
        );
        let baseline = t["baseline"].as_f64().unwrap();
        assert!((t["score"].as_f64().unwrap() - baseline - m).abs() < 1e-12);
        let want = if l > 0.0 {
            "supported"
        } else if u < 0.0 {
            "contradicted"
        } else {
            "inconclusive"
        };
        assert_eq!(t["verdict"], want);
    }

    // probe: reuses train:linear, computes the linear probe and retrieval.
    let mut args = vec!["run", "--stage", "probe", "--adapter", "linear"];
    args.extend_from_slice(&sets);
    let (out, _) = p.ok(&args);
    assert!(
        out.contains("reused  train:linear") && out.contains("ran     probe:linear"),
        "{out}"
    );
    let dir = p.show_with("probe:linear", &sets);
    let probe = Table::read(&dir.join("probe.parquet")).unwrap();
    assert_eq!(
        probe.strings("features").unwrap(),
        ["image", "aligned_image", "reference"]
    );
    let acc = probe.f64s("test_accuracy").unwrap();
    // 40 train / 20 test Fashion-MNIST images here (10 classes): well above chance.
    for a in &acc {
        assert!(*a > 0.3, "probe accuracies {acc:?}");
    }
    let ratio = probe.f64s("ratio_to_reference").unwrap();
    assert!((ratio[1] - acc[1] / acc[2]).abs() < 1e-12 && ratio[2] == 1.0);
    let r = Table::read(&dir.join("retrieval.parquet")).unwrap();
    let (state, dirn) = (
        r.strings("adapter").unwrap(),
        r.strings("direction").unwrap(),
    );
    let r10 = r.f64s("recall_at_10").unwrap();
    let med = r.f64s("median_rank").unwrap();
    for d in ["image_to_text", "text_to_image"] {
        let get = |s: &str| {
            (0..r.num_rows())
                .find(|&i| state[i] == s && dirn[i] == d)
                .unwrap()
        };
        let (t, u) = (get("trained"), get("untrained"));
        assert!(
            r10[t] > r10[u] + 0.1,
            "{d}: R@10 trained {} untrained {}",
            r10[t],
            r10[u]
        );
        assert!(med[t] < med[u], "{d}: median rank");
    }
    // Zero-shot: the probe's 20 test images through the trained and the untrained adapters,
    // against the 10 Fashion-MNIST classes in the six default templates.
    let z = Table::read(&dir.join("zero_shot.parquet")).unwrap();
    assert_eq!(z.strings("adapter").unwrap(), ["trained", "untrained"]);
    assert_eq!(z.i64s("test_rows").unwrap(), [20, 20]);
    assert_eq!(z.f64s("chance_top1").unwrap(), [0.1, 0.1]);
    assert_eq!(z.f64s("chance_top5").unwrap(), [0.5, 0.5]);
    let (top1, top5) = (z.f64s("top1").unwrap(), z.f64s("top5").unwrap());
    for (a1, a5) in top1.iter().zip(&top5) {
        assert!(
            (0.0..=1.0).contains(a1) && a5 >= a1,
            "top-1 {a1}, top-5 {a5}"
        );
        for a in [a1, a5] {
            assert!(
                (a * 20.0 - (a * 20.0).round()).abs() < 1e-9,
                "{a}: not k/20"
            );
        }
    }
    let prompts = Table::read(
        &p.show_with("features:probe-prompts", &sets)
            .join("features.parquet"),
    )
    .unwrap();
    let texts = prompts.strings("source").unwrap();
    assert_eq!(texts.len(), 60, "10 classes x 6 templates");
    assert_eq!(texts[0], "a photo of a T-shirt/top.");
    assert_eq!(texts[59], "a close-up photo of a Ankle boot.");
    assert_eq!(prompts.i64s("label").unwrap()[59], 9);

    // One definition of R@1: the last epoch's validation R@1 in the training history is the
    // probe stage's trained R@1 on the same split (the embeddings are computed in batches of a
    // different size, so the similarities may differ in the last bit: allow one query).
    let history = Table::read(&p.show_with("train:linear", &sets).join("history.parquet")).unwrap();
    let r1 = r.f64s("recall_at_1").unwrap();
    let queries = r.i64s("queries").unwrap();
    for (column, d) in [
        ("val_r1_i2t", "image_to_text"),
        ("val_r1_t2i", "text_to_image"),
    ] {
        let last = *history.f64s(column).unwrap().last().unwrap();
        let i = (0..r.num_rows())
            .find(|&i| state[i] == "trained" && dirn[i] == d)
            .unwrap();
        assert!(
            (last - r1[i]).abs() <= 1.0 / queries[i] as f64 + 1e-12,
            "{d}: history R@1 {last} vs probe R@1 {}",
            r1[i]
        );
    }

    report_in_a_browser(&p, &sets);
}

fn report_in_a_browser(p: &Project, sets: &[&str]) {
    let mut args = vec!["run", "--stage", "report"];
    args.extend_from_slice(sets);
    let (out, _) = p.ok(&args);
    for stage in [
        "train:mlp",
        "align:mlp",
        "probe:mlp",
        "align:modelset",
        "probe:modelset",
        "report",
    ] {
        assert!(out.contains(&format!("ran     {stage} ")), "{stage}: {out}");
    }
    for stage in [
        "features:image",
        "train:linear",
        "align:linear",
        "probe:linear",
    ] {
        assert!(out.contains(&format!("reused  {stage} ")), "{stage}: {out}");
    }
    let dir = p.show_with("report", sets);
    let index = dir.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );
    assert!(!html.contains("<script"), "no scripts");
    let shot = crate::common::repo().join("tests/output/report.png");
    let page = crate::common::browser::check_page(&index, &shot);
    assert!(
        page.broken.is_empty(),
        "images that did not load: {:?}",
        page.broken
    );
    // Per adapter: loss, alignment, hypotheses, PCA 2-D and 3-D, similarity; six thumbnails;
    // the model set's matrix and its alignment against competence.
    assert_eq!(page.images, 2 * 6 + 6 + 2, "images on the page");
    assert_eq!(page.sections, stages::report::page::SECTIONS, "sections");
    assert!(page.console.is_empty(), "console: {:?}", page.console);
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // The numbers on the page come from metrics.json, which holds both adapters and every key.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["adapters"]["mlp"]["train_config"]["epochs"], 3);
    assert_eq!(m["keys"].as_object().unwrap().len(), 4 + 2 * 3 + 2);
    // The model set's numbers: image and reference against the text encoder under the three
    // default metrics, each image encoder's probe equal to the probe stage's.
    assert_eq!(m["modelset"]["best"].as_array().unwrap().len(), 3 * 2);
    assert_eq!(m["modelset"]["rho"].as_array().unwrap().len(), 3);
    let probe_rows = m["adapters"]["mlp"]["probe"]["rows"].as_array().unwrap();
    for c in m["modelset"]["competence"].as_array().unwrap() {
        let row = probe_rows
            .iter()
            .find(|r| r["features"] == c["encoder"])
            .unwrap();
        assert_eq!(row["test_accuracy"], c["value"], "{}", c["encoder"]);
    }
    assert!(html.contains("Alignment against competence"));
    assert!(
        html.contains(
            "the <b>val</b> split (ingest's seeded split by image): 175 images and their 175 \
             captions (1 per image)"
        ),
        "the retrieval protocol is on the page"
    );

    // The report reads every stage: the whole run does nothing and says so.
    let mut args = vec!["run"];
    args.extend_from_slice(sets);
    let (out, _) = p.ok(&args);
    assert!(out.contains("nothing to do: 16 stages fresh"), "{out}");

    // One changed hyperparameter: its adapter's train, align, probe and the report rerun.
    let mut changed: Vec<&str> = sets.to_vec();
    changed.extend_from_slice(&["--set", "train.mlp.lr=5e-4"]);
    let mut args = vec!["run"];
    args.extend_from_slice(&changed);
    let (out, _) = p.ok(&args);
    for stage in ["train:mlp", "align:mlp", "probe:mlp", "report"] {
        assert!(out.contains(&format!("ran     {stage} ")), "{stage}: {out}");
    }
    assert!(out.contains("done: 4 ran"), "{out}");
    let dir = p.show_with("report", &changed);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("&quot;lr&quot;: 0.0005"),
        "the page shows the new lr"
    );
}

#[test]
fn metric_command_matches_numpy() {
    let golden = repo().join("stages/tests/golden");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden.join("metrics.json")).unwrap()).unwrap();
    let p = Project::new("");
    for (mode, extra) in [("clamped", vec![]), ("unclamped", vec!["--no-clamp"])] {
        let a = golden.join("metrics/structured_a.npy");
        let b = golden.join("metrics/structured_b.npy");
        let mut args = vec!["metric", a.to_str().unwrap(), b.to_str().unwrap()];
        args.extend(extra);
        let (out, _) = p.ok(&args);
        let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let want = &expected["cases"]["structured"][mode];
        assert_eq!(got.as_object().unwrap().len(), 16, "{out}");
        for (k, v) in want.as_object().unwrap() {
            let g = got[k].as_f64().unwrap();
            assert!(
                (g - v.as_f64().unwrap()).abs() < 1e-6,
                "{mode} {k}: {g} vs {v}"
            );
        }
    }
    // One metric; a mismatch in rows names both files and exits 2.
    let a = golden.join("metrics/random_a.npy");
    let (out, _) = p.ok(&[
        "metric",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--metric",
        "cka",
    ]);
    assert_eq!(out.trim(), "{\"cka\":1.0}");
    let b = golden.join("metrics/large_b.npy");
    let o = p.run(&["metric", a.to_str().unwrap(), b.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("random_a.npy")
            && err.contains("large_b.npy")
            && err.contains("60 rows against 300"),
        "{err}"
    );
    let o = p.run(&[
        "metric",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--metric",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown metric"));
}

/// The standard protocol on a dataset's own split: retrieval on its test images with every
/// caption of each (two here), and the probe's file and the report's protocol line say so.
#[test]
fn retrieval_on_the_datasets_own_test_split_searches_every_caption() {
    let p = Project::new("");
    // 48 captioned stamps: 32 train, 8 val, 8 test; each test image gets a second caption.
    let stamps = repo().join("data/datasets/tuxpaint/animals");
    let mut pngs = Vec::new();
    let mut dirs = vec![stamps];
    while let Some(d) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                dirs.push(e);
            } else if e.extension().is_some_and(|x| x == "png")
                && !e.to_string_lossy().ends_with("_mirror.png")
                && e.with_extension("txt").is_file()
            {
                pngs.push(e);
            }
        }
    }
    assert!(pngs.len() >= 48, "{} animal stamps", pngs.len());
    let mut csv = String::from("image,caption,split\n");
    for (i, png) in pngs.iter().take(48).enumerate() {
        let text = std::fs::read_to_string(png.with_extension("txt")).unwrap();
        let caption = text.lines().next().unwrap().trim().replace('"', "");
        let split = match i % 6 {
            0 => "val",
            1 => "test",
            _ => "train",
        };
        csv += &format!("{},\"{caption}\",{split}\n", png.display());
        if split == "test" {
            csv += &format!("{},\"A picture: {caption}\",test\n", png.display());
        }
    }
    std::fs::write(p.path().join("pairs.csv"), csv).unwrap();
    let sets = [
        "--set",
        "dataset.kind=\"manifest\"",
        "--set",
        "dataset.path=\"pairs.csv\"",
        "--set",
        "train.linear.epochs=4",
        "--set",
        "probe.retrieval_split=\"test\"",
    ];
    let mut args = vec!["run", "--stage", "probe", "--adapter", "linear"];
    args.extend_from_slice(&sets);
    let (_, err) = p.ok(&args);
    assert!(
        err.contains(
            "ingest: 56 pairs of 48 images (32 train, 8 val, 16 test; the dataset's own split)"
        ),
        "{err}"
    );
    let dir = p.show_with("probe:linear", &sets);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("retrieval.json")).unwrap()).unwrap();
    assert_eq!(file["split"], "test");
    assert_eq!(file["dataset_split"], true);
    for row in file["rows"].as_array().unwrap() {
        let (q, g) = (
            row["queries"].as_u64().unwrap(),
            row["gallery"].as_u64().unwrap(),
        );
        match row["direction"].as_str().unwrap() {
            "image_to_text" => assert_eq!((q, g), (8, 16), "8 test images against 16 captions"),
            _ => assert_eq!((q, g), (16, 8), "16 captions against 8 images"),
        }
    }
    // The seeded split has no test split: asking for it is an error that says so.
    let mut args = vec!["run", "--stage", "probe", "--adapter", "linear"];
    args.extend_from_slice(&sets);
    args.extend_from_slice(&["--set", "dataset.split_source=\"seeded\""]);
    let o = p.run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("[probe] retrieval_split = \"test\"")
            && err.contains("the seeded split has train and val only"),
        "{err}"
    );
}
