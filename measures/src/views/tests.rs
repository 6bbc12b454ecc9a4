//! Tests of [`super`] (views).

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::{SpaceOptions, score};

fn space(n: usize, d: usize, shared: &Array2<f64>, seed: u64, offset: f64) -> Space {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = Array2::from_shape_fn((shared.ncols(), d), |_| rng.random::<f64>() - 0.5);
    // Non-negative features with an offset (as pooled ReLU features): large uncentred
    // kernels, where centring matters.
    let x = shared.dot(&w).mapv(f64::abs)
        + offset
        + Array2::from_shape_fn((n, d), |_| 0.3 * rng.random::<f64>());
    Space::new(x.view(), SpaceOptions::default(), "test").unwrap()
}

/// The oracle: `score` on copied spaces, except that the CKA family reads Gram matrices of
/// column-centred rows (equal in exact arithmetic, and free of the cancellation that the
/// uncentred kernels of offset features cost `score`'s n x n forms: 1e-9 here).
fn oracle(metric: Metric, a: &Space, b: &Space) -> f64 {
    let centred = |s: &Space| {
        let x = &s.prepared - &s.prepared.mean_axis(Axis(0)).unwrap();
        x.dot(&x.t())
    };
    match metric {
        Metric::Cka => hsic::cka(&centred(a), &centred(b)),
        Metric::UnbiasedCka => hsic::unbiased_cka(&centred(a), &centred(b)),
        Metric::DebiasedCka => hsic::debiased_cka(&centred(a), &centred(b)),
        _ => score(metric, a, b),
    }
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-10 * b.abs().max(1e-3),
        "{what}: {a} against {b}"
    );
}

#[test]
fn halves_and_permutations_equal_scores_on_copied_spaces() {
    let n = 120;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let shared = Array2::from_shape_fn((n, 6), |_| rng.random::<f64>() - 0.5);
    let spaces = [
        space(n, 40, &shared, 1, 0.5),
        space(n, 200, &shared, 2, 0.0),
        space(n, 12, &shared, 3, 2.0),
        space(n, 150, &shared, 4, 1.0),
    ];
    // (1, 3): both wider than the rows, so a half's Procrustes reads the Gram matrices.
    let pairs = [(0, 1), (1, 2), (0, 2), (2, 2), (1, 3)];
    let metrics = Metric::ALL;
    let plan = Plan {
        pairs: &pairs,
        metrics: &metrics,
    };
    let kernels: Vec<Option<Kernels>> = spaces
        .iter()
        .map(|s| Some(Kernels::new(s, true, true)))
        .collect();
    let mut checked = 0;
    for seed in 0..3 {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        idx.truncate(n / 2);
        idx.sort_unstable();
        let subs: Vec<Space> = spaces.iter().map(|s| s.subset(&idx, true)).collect();
        for (mi, pi, v) in half(&plan, &kernels, &idx, true) {
            let (a, b) = pairs[pi];
            let what = format!("half {seed}: {:?} on {:?}", metrics[mi], pairs[pi]);
            let want = oracle(metrics[mi], &subs[a], &subs[b]);
            if metrics[mi] == Metric::Procrustes {
                // A half's Procrustes reads centred Gram matrices of offset features, whose
                // rounding (~1e-14 of their entries) leaves numerical ranks uncertain: 1e-8.
                assert!((v - want).abs() < 1e-7, "{what}: {v} against {want}");
            } else {
                close(v, want, &what);
            }
            checked += 1;
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(10 + seed));
        let whole = Whole::new(&plan, &kernels);
        let nulls = permutation_nulls(&plan, &kernels, &whole, &perm, true);
        for (mi, m) in metrics.iter().enumerate().filter(|(_, m)| !m.per_row()) {
            for (pi, &(a, b)) in pairs.iter().enumerate() {
                let expected = oracle(*m, &spaces[a], &spaces[b].permuted(&perm));
                close(
                    nulls[mi][pi],
                    expected,
                    &format!("permutation {seed}: {m:?}"),
                );
                checked += 1;
            }
        }
    }
    // Ten non-per-row metrics, five pairs, three halves and three permutations.
    assert_eq!(checked, 10 * 5 * 3 * 2);
}
