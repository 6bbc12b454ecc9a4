//! `align:modelset` on a small slice of the embedded dataset: four encoders (the experiment's
//! three and a named one, MiniLM read at its CLS token) give all six pairs, each equal to
//! `pipeline metric` on the same rows of the same features, with its permutation null; names
//! that are not encoders, or of the wrong kind, are refused before any work.

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
         [modelset]\nimage = [\"image\", \"reference\"]\ntext = [\"text\", \"minilm_cls\"]\n\
         all_pairs = true\nmetrics = [\"mutual_knn\", \"unbiased_cka\", \"cknna\", \"cka\"]\n\
         topk = 5\nbootstrap = 50\npermutations = 99\n"
    ))
}

/// Rows `ids` of the features artifact `dir` (looked up by its `id` column), as a .npy file.
fn rows_npy(dir: &Path, ids: &[String], out: &Path) {
    let table = Table::read(&dir.join("features.parquet")).unwrap();
    let index: HashMap<String, usize> = table
        .strings("id")
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let m = FeatureMatrix::open(dir).unwrap();
    let mut values = Vec::new();
    for id in ids {
        values.extend_from_slice(m.row(index[id]));
    }
    npy::write(out, ids.len(), m.dim(), &values).unwrap();
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
    let (score, null_mean, null_q95, calibrated, pv) = (
        t.f64s("score").unwrap(),
        t.f64s("null_mean").unwrap(),
        t.f64s("null_q95").unwrap(),
        t.f64s("calibrated").unwrap(),
        t.f64s("p_value").unwrap(),
    );
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
        assert!((calibrated[i] - (score[i] - null_mean[i])).abs() < 1e-12);
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
    assert_eq!(svg.matches(">null ").count(), 4 * 6);
    assert!(svg.ends_with("</svg>\n"));
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
    // An encoder beyond the three roles says what it reads.
    let o = p.run(&["status", "--set", "encoders.extra.onnx=\"x.onnx\""]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("encoders.extra.kind"), "{err}");
}
