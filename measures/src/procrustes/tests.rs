//! The Procrustes measures against numpy's definitions (measures/tests/golden/make_procrustes.py)
//! and the invariances each claims, shown numerically; size-and-shape shown to change with scale.

use super::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Measure = fn(ArrayView2<f64>, ArrayView2<f64>) -> f64;
const MEASURES: [(&str, Measure); 3] = [
    ("orthogonal_procrustes", orthogonal_procrustes),
    ("angular_shape_metric", angular_shape_metric),
    ("size_and_shape_distance", size_and_shape_distance),
];

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.into_iter().flatten().collect()).unwrap()
}

fn cases() -> Vec<(String, Array2<f64>, Array2<f64>, serde_json::Value)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/procrustes.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    golden
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, c)| {
            (
                name.clone(),
                matrix(&c["a"]),
                matrix(&c["b"]),
                c["want"].clone(),
            )
        })
        .collect()
}

#[test]
fn procrustes_measures_equal_numpy() {
    let mut checked = 0;
    for (case, a, b, want) in cases() {
        for (name, f) in MEASURES {
            let (got, w) = (f(a.view(), b.view()), want[name].as_f64().unwrap());
            assert!(
                (got - w).abs() < 1e-9 * w.max(1.0),
                "{case}/{name}: {got} vs {w}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}

/// An orthogonal d x d matrix: a permutation with sign flips, then Givens rotations.
fn orthogonal(d: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut q = Array2::<f64>::zeros((d, d));
    let mut order: Vec<usize> = (0..d).collect();
    for i in (1..d).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    for (i, &j) in order.iter().enumerate() {
        q[[i, j]] = if rng.random::<bool>() { 1.0 } else { -1.0 };
    }
    for _ in 0..3 * d {
        let (i, j) = (rng.random_range(0..d), rng.random_range(0..d));
        if i == j {
            continue;
        }
        let t: f64 = rng.random::<f64>() * std::f64::consts::TAU;
        let (c, s) = (t.cos(), t.sin());
        for r in 0..d {
            let (x, y) = (q[[r, i]], q[[r, j]]);
            q[[r, i]] = c * x - s * y;
            q[[r, j]] = s * x + c * y;
        }
    }
    q
}

#[test]
fn identical_inputs_are_at_distance_zero() {
    // Zero up to the rounding of ‖A‖² + ‖A‖² − 2‖AᵀA‖_*, which the square root enlarges.
    for (case, a, _, _) in cases() {
        for (name, f) in MEASURES {
            let d = f(a.view(), a.view());
            let scale = match name {
                "size_and_shape_distance" => frobenius2(&centred(a.view())),
                _ => 1.0,
            };
            assert!(d * d < 1e-10 * scale, "{case}/{name}: {d}");
        }
    }
}

#[test]
fn translation_rotation_and_feature_permutation_change_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (case, a, b, _) in cases() {
        let shifted = &b + &Array2::from_shape_fn((1, b.ncols()), |_| rng.random::<f64>() * 5.0);
        let rotated = b.dot(&orthogonal(b.ncols(), &mut rng));
        for (name, f) in MEASURES {
            let base = f(a.view(), b.view());
            for (what, other) in [("translated", &shifted), ("rotated", &rotated)] {
                let d = f(a.view(), other.view());
                assert!(
                    (d - base).abs() < 1e-9 * base.max(1.0),
                    "{case}/{name} {what}: {d} vs {base}"
                );
            }
        }
    }
}

#[test]
fn only_size_and_shape_sees_a_change_of_scale() {
    for (case, a, b, _) in cases() {
        let scaled = &b * 3.0;
        for (name, f) in MEASURES {
            let (base, d) = (f(a.view(), b.view()), f(a.view(), scaled.view()));
            if name == "size_and_shape_distance" {
                assert!(d > base * 1.5, "{case}/{name}: {d} vs {base}");
            } else {
                assert!((d - base).abs() < 1e-9, "{case}/{name}: {d} vs {base}");
            }
        }
    }
}

#[test]
fn a_constant_side_or_no_rows_has_no_shape() {
    let a = Array2::from_shape_fn((10, 3), |(i, j)| (i * 3 + j) as f64);
    let flat = Array2::from_elem((10, 4), 2.0);
    assert!(orthogonal_procrustes(a.view(), flat.view()).is_nan());
    assert!(angular_shape_metric(flat.view(), a.view()).is_nan());
    let none = Array2::<f64>::zeros((0, 3));
    for (name, f) in MEASURES {
        assert!(f(none.view(), none.view()).is_nan(), "{name} of no rows");
    }
    let centred_a = centred(a.view());
    let d = size_and_shape_distance(a.view(), flat.view());
    assert!((d - frobenius2(&centred_a).sqrt()).abs() < 1e-9);
}

fn gaussian(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| rng.random::<f64>() - 0.5)
}

#[test]
fn a_gram_factor_reproduces_its_gram_matrix_at_full_and_low_rank() {
    let wide = gaussian(30, 80, 1);
    let low = gaussian(30, 4, 2).dot(&gaussian(4, 80, 3));
    for (what, x, rank) in [("full rank", wide, 30), ("rank 4", low, 4)] {
        let k = x.dot(&x.t());
        let w = gram_factor(&k);
        assert_eq!(w.ncols(), rank, "{what}");
        let err = (&w.dot(&w.t()) - &k)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-10, "{what}: {err}");
    }
}

#[test]
fn views_of_gram_factors_score_as_the_rows_they_stand_for() {
    // Wider than it has rows: the factor (30 x 30) replaces rows of width 80 and 50.
    let (a, b) = (
        gaussian(30, 80, 4),
        gaussian(30, 50, 5) + gaussian(30, 50, 4).slice(ndarray::s![.., ..50]).to_owned(),
    );
    let (wa, wb) = (gram_factor(&a.dot(&a.t())), gram_factor(&b.dot(&b.t())));
    let half: Vec<usize> = (0..30).step_by(2).collect();
    let perm: Vec<usize> = (0..30).map(|i| (i * 7 + 3) % 30).collect();
    let all: Vec<usize> = (0..30).collect();
    let rows_of = |x: &Array2<f64>, v: &[usize]| x.select(ndarray::Axis(0), v);
    let cases = [
        (
            "all",
            similarity_of_views(&wa, &all, &wb, &all),
            similarity(a.view(), b.view()),
        ),
        (
            "half",
            similarity_of_views(&wa, &half, &wb, &half),
            similarity(rows_of(&a, &half).view(), rows_of(&b, &half).view()),
        ),
        (
            "permutation",
            similarity_of_views(&wa, &all, &wb, &perm),
            similarity(a.view(), rows_of(&b, &perm).view()),
        ),
    ];
    for (what, got, want) in cases {
        assert!((got - want).abs() < 1e-10, "{what}: {got} vs {want}");
    }
    assert!(cases[0].2 > 0.5, "the two share columns: {}", cases[0].2);
}
