//! Null calibration against Gröger et al.'s own package, calibrated-similarity 0.1.1, given the
//! same row permutations (measures/tests/golden/make_calibration.py): τ, the calibrated score and
//! the add-one p of one score (Algorithm 1) and of the best layer pair (Algorithm 2), for CKA and
//! mutual kNN as this crate computes them.

use measures::calibration::{self, Calibration};
use measures::{Metric, Space, SpaceOptions, score};
use ndarray::{Array2, Axis};
use serde_json::Value;

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/calibration.json");
    let text = std::fs::read_to_string(path).expect("calibration.json (make_calibration.py)");
    serde_json::from_str(&text).expect("calibration.json is JSON")
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).expect("rows of numbers");
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.concat()).expect("rectangular")
}

fn metric(v: &Value) -> Metric {
    Metric::parse(v.as_str().expect("a metric name")).expect("a known metric")
}

/// The pipeline's preparation without the outlier clamp, as the golden's similarities have it.
fn space(x: &Array2<f64>, topk: usize) -> Space {
    let options = SpaceOptions {
        topk,
        clamp_quantile: None,
        cca_dim: None,
        keep_unclamped: false,
    };
    Space::new(x.view(), options, "golden").expect("finite rows")
}

/// The score with `b`'s rows permuted by each of `perms` (row i becomes row perm[i]).
fn null(metric: Metric, a: &Space, b: &Array2<f64>, perms: &[Vec<usize>], topk: usize) -> Vec<f64> {
    perms
        .iter()
        .map(|p| score(metric, a, &space(&b.select(Axis(0), p), topk)))
        .collect()
}

/// torch computes in float32: τ and the calibrated score agree to its precision.
fn assert_matches(ours: Calibration, theirs: &Value, what: &str) {
    let get = |k: &str| theirs[k].as_f64().expect("a number");
    for (name, a, b) in [
        ("tau", ours.tau, get("tau")),
        ("calibrated", ours.calibrated, get("calibrated")),
        ("p", ours.p_value, get("p")),
    ] {
        assert!(
            (a - b).abs() < 2e-6,
            "{what}: {name} {a} against calibrated-similarity's {b}"
        );
    }
}

#[test]
fn one_score_equals_calibrated_similarity() {
    let g = golden();
    let topk = g["topk"].as_u64().unwrap() as usize;
    let perms: Vec<Vec<usize>> = serde_json::from_value(g["perms"].clone()).unwrap();
    let x = matrix(&g["x"]);
    let sx = space(&x, topk);
    let cases = g["single"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let (m, y) = (metric(&case["metric"]), matrix(&case["y"]));
        let alpha = case["alpha"].as_f64().unwrap();
        let observed = score(m, &sx, &space(&y, topk));
        let ours =
            calibration::calibrate(observed, &null(m, &sx, &y, &perms, topk), alpha, Some(1.0));
        assert_matches(
            ours,
            case,
            &format!("{} {} α={alpha}", case["case"], m.name()),
        );
    }
    // The cases span the range: a significant one and one calibrated to zero.
    assert!(
        cases
            .iter()
            .any(|c| c["calibrated"].as_f64().unwrap() > 0.3)
    );
    assert!(
        cases
            .iter()
            .any(|c| c["calibrated"].as_f64().unwrap() == 0.0)
    );
}

#[test]
fn the_best_layer_pair_equals_calibrate_layers() {
    let g = golden();
    let topk = g["topk"].as_u64().unwrap() as usize;
    let perms: Vec<Vec<usize>> = serde_json::from_value(g["perms"].clone()).unwrap();
    let xs: Vec<Array2<f64>> = g["x_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(matrix)
        .collect();
    let ys: Vec<Array2<f64>> = g["y_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(matrix)
        .collect();
    for case in g["layers"].as_array().unwrap() {
        let m = metric(&case["metric"]);
        let (mut tested, mut nulls) = (Vec::new(), Vec::new());
        for x in &xs {
            let sx = space(x, topk);
            for y in &ys {
                tested.push(score(m, &sx, &space(y, topk)));
                nulls.push(null(m, &sx, y, &perms, topk));
            }
        }
        let nulls: Vec<&[f64]> = nulls.iter().map(Vec::as_slice).collect();
        let alpha = case["alpha"].as_f64().unwrap();
        let ours = calibration::calibrate_max(&tested, &nulls, alpha, Some(1.0));
        assert_matches(ours, case, &format!("layers {}", m.name()));
        // The maximum's null is stricter than the best pair's own.
        let best = (0..tested.len())
            .max_by(|&i, &j| tested[i].total_cmp(&tested[j]))
            .unwrap();
        let own = calibration::calibrate(tested[best], nulls[best], alpha, Some(1.0));
        assert!(
            ours.tau >= own.tau,
            "{}: τ of the maximum below the pair's own",
            m.name()
        );
    }
}
