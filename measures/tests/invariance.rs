//! What every metric should and should not be invariant to, shown numerically (ReSi's tests,
//! Klabunde et al.): identical inputs give the metric's maximum; an isotropic scaling and a
//! permutation of either side's features change nothing; an orthogonal transform changes
//! nothing but SVCCA, which standardises each feature first (as the reference does) and is
//! shown to change; a translation changes every score (rows are L2-normalised, so no metric
//! here claims it: Procrustes centres its inputs, but after the normalisation); independent
//! inputs score within the spread of their own permutation null.
//!
//! Without the outlier clamp: platonic-rep's clamp cuts each coordinate at one threshold, which
//! is not rotation-invariant (a rotation moves mass between coordinates); it is invariant to
//! scaling and to feature permutations, and those are checked with it on.

use measures::resample::{ResampleOptions, evaluate};
use measures::{Metric, Space, SpaceOptions, score};
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOPK: usize = 5;

fn options(clamp: bool) -> SpaceOptions {
    SpaceOptions {
        topk: TOPK,
        clamp_quantile: clamp.then_some(0.95),
        cca_dim: Some(4),
        keep_unclamped: true,
    }
}

fn gaussian(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    })
}

/// Two related sides: both read one 5-dimensional latent, B through a nonlinearity.
fn related(rng: &mut ChaCha8Rng) -> (Array2<f64>, Array2<f64>) {
    let z = gaussian(90, 5, rng);
    let a = z.dot(&gaussian(5, 12, rng)) + gaussian(90, 12, rng) * 0.4;
    let b = z.dot(&gaussian(5, 9, rng)).mapv(|v| (v / 2.0).tanh()) + gaussian(90, 9, rng) * 0.1;
    (a, b)
}

/// A random orthogonal d x d matrix: Gram–Schmidt on Gaussian columns.
fn orthogonal(d: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut q = gaussian(d, d, rng);
    for j in 0..d {
        for k in 0..j {
            let dot = q.column(j).dot(&q.column(k));
            let prev = q.column(k).to_owned();
            q.column_mut(j).scaled_add(-dot, &prev);
        }
        let norm = q.column(j).dot(&q.column(j)).sqrt();
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
    q
}

fn scores(a: &Array2<f64>, b: &Array2<f64>, clamp: bool) -> Vec<f64> {
    let sa = Space::new(a.view(), options(clamp), "a").unwrap();
    let sb = Space::new(b.view(), options(clamp), "b").unwrap();
    Metric::ALL.iter().map(|&m| score(m, &sa, &sb)).collect()
}

fn assert_same(base: &[f64], other: &[f64], what: &str) {
    for ((m, x), y) in Metric::ALL.iter().zip(base).zip(other) {
        assert!(
            (x - y).abs() < 1e-9,
            "{} under {what}: {x} against {y}",
            m.name()
        );
    }
}

/// Unchanged where a metric claims the invariance, changed where it does not.
fn assert_claims(base: &[f64], other: &[f64], claims: impl Fn(Metric) -> bool, what: &str) {
    for ((&m, x), y) in Metric::ALL.iter().zip(base).zip(other) {
        if claims(m) {
            assert!(
                (x - y).abs() < 1e-9,
                "{} under {what}: {x} against {y}",
                m.name()
            );
        } else {
            assert!(
                (x - y).abs() > 1e-6,
                "{}: {x} unchanged by {what}",
                m.name()
            );
        }
    }
}

/// SVCCA standardises every feature before its SVD: a rotation mixes features of different
/// spread, so its subspace moves.
fn rotation_invariant(m: Metric) -> bool {
    m != Metric::Svcca
}

#[test]
fn identical_inputs_score_the_maximum() {
    let (a, _) = related(&mut ChaCha8Rng::seed_from_u64(1));
    for clamp in [false, true] {
        for (m, s) in Metric::ALL.iter().zip(scores(&a, &a, clamp)) {
            let max = m.identical_score(TOPK);
            assert!((s - max).abs() < 1e-9, "{}: {s} against {max}", m.name());
        }
    }
}

#[test]
fn scaling_and_feature_permutations_change_nothing_and_rotations_all_but_svcca() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (a, b) = related(&mut rng);
    let base = scores(&a, &b, false);
    let rotated = b.dot(&orthogonal(b.ncols(), &mut rng));
    let moved = scores(&a, &rotated, false);
    assert_claims(&base, &moved, rotation_invariant, "a rotation of B");
    let rotated_a = a.dot(&orthogonal(a.ncols(), &mut rng));
    let moved = scores(&rotated_a, &b, false);
    assert_claims(&base, &moved, rotation_invariant, "a rotation of A");
    let mut order: Vec<usize> = (0..b.ncols()).collect();
    order.reverse();
    order.swap(0, 3);
    for clamp in [false, true] {
        let base = scores(&a, &b, clamp);
        assert_same(&base, &scores(&a, &(&b * 7.5), clamp), "B scaled by 7.5");
        assert_same(&base, &scores(&(&a * 0.01), &b, clamp), "A scaled by 0.01");
        let permuted = b.select(Axis(1), &order);
        assert_same(
            &base,
            &scores(&a, &permuted, clamp),
            "B's features permuted",
        );
    }
}

#[test]
fn a_translation_changes_every_score() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (a, b) = related(&mut rng);
    let base = scores(&a, &b, false);
    let shift = Array2::from_shape_fn((1, b.ncols()), |(_, j)| 1.5 + j as f64 * 0.3);
    let moved = scores(&a, &(&b + &shift), false);
    assert_claims(&base, &moved, |_| false, "a translation");
}

#[test]
fn independent_inputs_score_within_their_null() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (a, b) = (gaussian(90, 12, &mut rng), gaussian(90, 9, &mut rng));
    let spaces = [
        Space::new(a.view(), options(true), "a").unwrap(),
        Space::new(b.view(), options(true), "b").unwrap(),
    ];
    let draws = ResampleOptions {
        bootstrap: 0,
        permutations: 200,
        // Procrustes' null is the first `costly_resamples` permutations.
        costly_resamples: 200,
        seed: 5,
        max_rows: 1000,
    };
    let s = evaluate(&spaces, &[(0, 1)], &Metric::ALL, draws, &|_| {});
    for (mi, m) in Metric::ALL.iter().enumerate() {
        let null = &s.null[mi][0];
        let mean = null.iter().sum::<f64>() / null.len() as f64;
        let sd = (null.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / null.len() as f64).sqrt();
        let observed = s.point[mi][0];
        assert!(
            (observed - mean).abs() <= 4.0 * sd + 1e-12,
            "{}: {observed} against its null {mean} ± {sd}",
            m.name()
        );
        // And far from the maximum: independence is not alignment. Distance correlation's
        // V-statistic (ReSi's form) is biased upward at small n (0.53 here, with a null mean
        // as high): its calibrated score, not its raw one, is what reads near 0. The
        // second-order cosine compares vectors of distances, all positive and near 1 for
        // unrelated rows: its raw score starts high (0.65 here) for the same reason.
        let bound = match m {
            Metric::DistanceCorrelation => 0.7,
            Metric::SecondOrderCosine => 0.8,
            _ => 0.5,
        };
        assert!(
            observed < bound * m.identical_score(TOPK),
            "{}: {observed}",
            m.name()
        );
    }
}
