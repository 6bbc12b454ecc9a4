//! Every metric against the independent numpy implementation in
//! golden/make_metrics.py (random, structured, larger-than-Jacobi and wider-than-long inputs,
//! clamp on and off, identical inputs), to 1e-6; plus properties the definitions imply.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::features::npy;
use stages::metrics::resample::{self, ResampleOptions};
use stages::metrics::{Metric, Space, SpaceOptions, calibration, score};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load(path: &Path) -> Array2<f64> {
    let (r, c, v) = npy::read_f64(path).unwrap();
    Array2::from_shape_vec((r, c), v).unwrap()
}

fn options(clamp: bool) -> SpaceOptions {
    SpaceOptions {
        topk: 10,
        clamp_quantile: clamp.then_some(0.95),
        cca_dim: Some(10),
        keep_unclamped: true,
    }
}

#[test]
fn metrics_match_numpy() {
    let text = std::fs::read_to_string(golden().join("metrics.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (case, modes) in expected["cases"].as_object().unwrap() {
        let a = load(&golden().join(format!("metrics/{case}_a.npy")));
        let b = load(&golden().join(format!("metrics/{case}_b.npy")));
        for (mode, want) in modes.as_object().unwrap() {
            let clamp = mode != "unclamped";
            let sa = Space::new(a.view(), options(clamp), "a").unwrap();
            let other = if mode == "identical" { &a } else { &b };
            let sb = Space::new(other.view(), options(clamp), "b").unwrap();
            for m in Metric::ALL {
                let got = score(m, &sa, &sb);
                let w = want[m.name()].as_f64().unwrap();
                assert!(
                    (got - w).abs() < 1e-6,
                    "{case}/{mode}/{}: rust {got} numpy {w}",
                    m.name()
                );
                if mode == "identical" {
                    assert!((got - m.identical_score(10)).abs() < 1e-9, "{}", m.name());
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 3 * Metric::ALL.len());
}

fn gaussian(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Box–Muller.
    Array2::from_shape_fn((n, d), |_| {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    })
}

#[test]
fn debiased_cka_of_independent_wide_features_is_near_zero_while_biased_is_not() {
    let (a, b) = (gaussian(40, 4000, 1), gaussian(40, 4000, 2));
    let opts = SpaceOptions {
        clamp_quantile: None,
        ..options(false)
    };
    let (sa, sb) = (
        Space::new(a.view(), opts, "a").unwrap(),
        Space::new(b.view(), opts, "b").unwrap(),
    );
    let biased = score(Metric::Cka, &sa, &sb);
    let debiased = score(Metric::DebiasedCka, &sa, &sb);
    assert!(biased > 0.5, "biased CKA {biased}");
    assert!(debiased.abs() < 0.05, "debiased CKA {debiased}");
    // Two roads to the same unbiased estimator: U-centred n x n Gram matrices (the oracle) and
    // the unbiased HSIC from the rows.
    let gram = |s: &Space| s.prepared.dot(&s.prepared.t());
    let oracle = stages::metrics::hsic::debiased_cka(&gram(&sa), &gram(&sb));
    assert!((debiased - oracle).abs() < 1e-10, "{debiased} vs {oracle}");
}

#[test]
fn intervals_cover_and_permutations_separate_signal_from_noise() {
    let a = gaussian(80, 20, 3);
    let related = &a + &(gaussian(80, 20, 4) * 0.3);
    let unrelated = gaussian(80, 20, 5);
    let o = options(true);
    let spaces = vec![
        Space::new(a.view(), o, "a").unwrap(),
        Space::new(related.view(), o, "related").unwrap(),
        Space::new(unrelated.view(), o, "unrelated").unwrap(),
    ];
    let metrics = [Metric::MutualKnn, Metric::Cka, Metric::Svcca];
    let ro = ResampleOptions {
        bootstrap: 200,
        permutations: 199,
        costly_resamples: 50,
        seed: 7,
        max_rows: 2000,
    };
    let s = resample::evaluate(&spaces, &[(0, 1), (0, 2)], &metrics, ro, &|_| {});
    for (mi, m) in metrics.iter().enumerate() {
        for pi in 0..2 {
            let point = s.point[mi][pi];
            let (lo, hi) = resample::interval(*m, point, &s.replicates[mi][pi]);
            assert!(
                lo <= point && point <= hi,
                "{}: {lo} {point} {hi}",
                m.name()
            );
            assert!(hi - lo > 1e-4, "{}: empty interval", m.name());
        }
        assert!(
            s.p_value[mi][0] <= 1.0 / 200.0 + 1e-12,
            "{} related p",
            m.name()
        );
        assert!(s.point[mi][0] > s.point[mi][1], "{}", m.name());
    }
    // Unrelated features: mutual kNN is not significant.
    assert!(
        s.p_value[0][1] > 0.01,
        "unrelated mutual_knn p {}",
        s.p_value[0][1]
    );
    assert_eq!(
        s.replicates[2][0].len(),
        50,
        "SVCCA gets costly_resamples halves"
    );
    // Same seed, same numbers.
    let again = resample::evaluate(&spaces, &[(0, 1), (0, 2)], &metrics, ro, &|_| {});
    assert_eq!(s.replicates, again.replicates);
    assert_eq!(s.p_value, again.p_value);
}

/// The model set's calibration (stages::evaluate::modelset): identical features are far above
/// their permutation null (p at its floor), independent ones sit inside it; and the p-value of the
/// best of many pairs, against the null of the maximum over the same permutations, is never
/// below the best pair's own p (a theorem: the maximum's null dominates each pair's null).
#[test]
fn nulls_calibrate_and_the_best_pair_pays_for_being_chosen() {
    let a = gaussian(120, 16, 11);
    let o = options(true);
    let mut spaces = vec![
        Space::new(a.view(), o, "a").unwrap(),
        Space::new(a.view(), o, "identical").unwrap(),
    ];
    for seed in 12..17 {
        let x = gaussian(120, 16, seed);
        spaces.push(Space::new(x.view(), o, "independent").unwrap());
    }
    let metrics = [Metric::MutualKnn, Metric::UnbiasedCka, Metric::Cknna];
    let ro = ResampleOptions {
        bootstrap: 50,
        permutations: 199,
        costly_resamples: 10,
        seed: 3,
        max_rows: 2000,
    };
    let pairs: Vec<(usize, usize)> = (1..spaces.len()).map(|b| (0, b)).collect();
    let s = resample::evaluate(&spaces, &pairs, &metrics, ro, &|_| {});
    for (mi, m) in metrics.iter().enumerate() {
        for pi in 0..pairs.len() {
            let null = &s.null[mi][pi];
            assert_eq!(null.len(), 199, "{}", m.name());
            assert_eq!(
                s.p_value[mi][pi],
                resample::permutation_p(s.point[mi][pi], null),
                "{}: p from the stored null",
                m.name()
            );
        }
        let identical = s.point[mi][0];
        assert_eq!(s.p_value[mi][0], 1.0 / 200.0, "{} identical", m.name());
        assert!(
            resample::quantile(&s.null[mi][0], 0.95) < 0.5 * identical,
            "{}: identical {identical} against its null",
            m.name()
        );
        for pi in 1..pairs.len() {
            let null = &s.null[mi][pi];
            let mean = null.iter().sum::<f64>() / null.len() as f64;
            let sd =
                (null.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / null.len() as f64).sqrt();
            assert!(
                (s.point[mi][pi] - mean).abs() < 4.0 * sd,
                "{} independent: {} against null {mean} ± {sd}",
                m.name(),
                s.point[mi][pi]
            );
        }
        // Only the independent pairs: the best of five noise scores, chosen after looking.
        let observed = &s.point[mi][1..];
        let nulls: Vec<&[f64]> = s.null[mi][1..].iter().map(Vec::as_slice).collect();
        let best = (0..observed.len())
            .max_by(|&i, &j| observed[i].total_cmp(&observed[j]))
            .unwrap();
        let corrected = calibration::calibrate_max(observed, &nulls, 0.05, Some(1.0)).p_value;
        assert!(
            corrected >= s.p_value[mi][1 + best],
            "{}: corrected {corrected} below the best pair's {}",
            m.name(),
            s.p_value[mi][1 + best]
        );
        assert!(corrected > 0.05, "{}: noise is not significant", m.name());
        // With the identical pair among them, the best is still significant after correction.
        let all: Vec<&[f64]> = s.null[mi].iter().map(Vec::as_slice).collect();
        let corrected = calibration::calibrate_max(&s.point[mi], &all, 0.05, Some(1.0));
        assert_eq!(corrected.p_value, 1.0 / 200.0);
    }
}

#[test]
fn bad_inputs_are_named() {
    let mut a = gaussian(20, 4, 1);
    a[[7, 2]] = f64::NAN;
    let e = Space::new(a.view(), options(true), "x.npy")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("x.npy") && e.contains("row 7"), "{e}");
    let e = Space::new(gaussian(5, 4, 1).view(), options(true), "y.npy")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("y.npy") && e.contains("5 rows"), "{e}");
}
