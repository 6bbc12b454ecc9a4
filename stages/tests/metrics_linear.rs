//! The metrics without n x n matrices equal their definitions on n x n Gram matrices (the
//! oracle: `metrics::hsic`, `metrics::cknna`, neighbours from the Gram matrix) to 1e-9 in f64, on
//! the numpy golden inputs and on random inputs with fewer rows than features and more; the
//! resampling above its row cap reports the rows it used.

use std::path::Path;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::features::npy;
use stages::metrics::neighbours::{neighbours, neighbours_of_rows, neighbours_of_rows_tiled};
use stages::metrics::resample::{self, ResampleOptions};
use stages::metrics::{Metric, Space, SpaceOptions, cknna, hsic, knn, score};

fn options(clamp: bool) -> SpaceOptions {
    SpaceOptions {
        topk: 10,
        clamp_quantile: clamp.then_some(0.95),
        cca_dim: Some(10),
        keep_unclamped: true,
    }
}

/// Two related feature matrices: a shared signal in different coordinates, plus noise.
fn related(n: usize, da: usize, db: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw =
        |r: usize, c: usize| Array2::from_shape_fn((r, c), |_| rng.random::<f64>() - 0.5);
    let z = draw(n, 8);
    let (wa, wb) = (draw(8, da), draw(8, db));
    let (na, nb) = (draw(n, da), draw(n, db));
    (z.dot(&wa) + na * 0.5, z.dot(&wb) + nb * 0.5)
}

fn gram(x: &Array2<f64>) -> Array2<f64> {
    x.dot(&x.t())
}

/// Every metric from `score` against its n x n definition.
fn check(a: &Array2<f64>, b: &Array2<f64>, clamp: bool, what: &str) -> usize {
    let (sa, sb) = (
        Space::new(a.view(), options(clamp), "a").unwrap(),
        Space::new(b.view(), options(clamp), "b").unwrap(),
    );
    let (ka, kb) = (gram(&sa.prepared), gram(&sb.prepared));
    let (ua, ub) = (gram(sa.unclamped_rows()), gram(sb.unclamped_rows()));
    // The neighbours are the oracle's, from the full Gram matrix.
    assert_eq!(
        sa.knn(),
        neighbours(&ka, 10).as_slice(),
        "{what}: neighbours of a"
    );
    assert_eq!(
        sb.knn(),
        neighbours(&kb, 10).as_slice(),
        "{what}: neighbours of b"
    );
    let oracle = [
        (Metric::KernelAlignment, hsic::kernel_alignment(&ua, &ub)),
        (Metric::Cka, hsic::cka(&ka, &kb)),
        (Metric::UnbiasedCka, hsic::unbiased_cka(&ka, &kb)),
        (Metric::DebiasedCka, hsic::debiased_cka(&ka, &kb)),
        (Metric::Cknna, cknna::cknna(&ka, &kb, sa.knn(), sb.knn())),
    ];
    for (m, want) in oracle {
        let got = score(m, &sa, &sb);
        assert!(
            (got - want).abs() < 1e-9,
            "{what}: {} without n x n {got}, oracle {want}",
            m.name()
        );
    }
    oracle.len()
}

#[test]
fn gram_free_metrics_equal_the_n_by_n_oracle() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics");
    let load = |name: &str| {
        let (r, c, v) = npy::read_f64(&golden.join(name)).unwrap();
        Array2::from_shape_vec((r, c), v).unwrap()
    };
    let mut checked = 0;
    for case in ["random", "structured", "large"] {
        let (a, b) = (
            load(&format!("{case}_a.npy")),
            load(&format!("{case}_b.npy")),
        );
        for clamp in [true, false] {
            checked += check(&a, &b, clamp, &format!("{case} clamp={clamp}"));
        }
    }
    // Fewer rows than features, more rows than features, unequal widths.
    for (n, da, db, seed) in [(40, 300, 120, 1), (300, 16, 40, 2), (150, 64, 64, 3)] {
        let (a, b) = related(n, da, db, seed);
        checked += check(&a, &b, true, &format!("n={n} d={da}/{db}"));
    }
    assert_eq!(checked, 5 * 9);
}

#[test]
fn above_the_gram_cap_the_neighbour_entry_metrics_read_rows_as_the_gram_would() {
    // More rows than a space keeps a Gram matrix for: CKNNA and the second-order cosine read
    // dot products of rows; the oracle reads the n x n Gram matrices.
    let (a, b) = related(2100, 12, 8, 5);
    let (sa, sb) = (
        Space::new(a.view(), options(true), "a").unwrap(),
        Space::new(b.view(), options(true), "b").unwrap(),
    );
    assert!(sa.gram().is_none() && sb.gram().is_none());
    let (ka, kb) = (gram(&sa.prepared), gram(&sb.prepared));
    let (k, l) = (
        |i: usize, j: usize| ka[[i, j]],
        |i: usize, j: usize| kb[[i, j]],
    );
    let oracle = [
        (Metric::Cknna, cknna::cknna(&ka, &kb, sa.knn(), sb.knn())),
        (
            Metric::SecondOrderCosine,
            knn::second_order_cosine_of_entries(2100, k, l, sa.knn(), sb.knn()),
        ),
    ];
    for (m, want) in oracle {
        let got = score(m, &sa, &sb);
        assert!((got - want).abs() < 1e-9, "{}: {got} vs {want}", m.name());
    }
}

#[test]
fn blocked_neighbours_equal_the_gram_matrixs() {
    // More rows than a space keeps a Gram matrix for, so `Space::new` searches in blocks.
    let (a, _) = related(2600, 12, 4, 4);
    let s = Space::new(a.view(), options(true), "a").unwrap();
    assert_eq!(s.knn(), neighbours(&gram(&s.prepared), 10).as_slice());
    assert_eq!(
        neighbours_of_rows(s.prepared.view(), 10),
        neighbours(&gram(&s.prepared), 10)
    );
}

#[test]
fn the_f32_screen_keeps_neighbours_that_differ_below_f32_resolution() {
    // Groups of rows closer than f32 can tell apart (1e-10 perturbations of a few base rows)
    // and exact duplicates: the f32 screen sees ties, the f64 decision must still order them as
    // the f64 Gram matrix does (duplicates by the lower index).
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let base = Array2::from_shape_fn((40, 96), |_| rng.random::<f64>() - 0.5);
    let x = Array2::from_shape_fn((1200, 96), |(i, j)| {
        let tweak = if i % 7 == 0 {
            0.0
        } else {
            1e-10 * ((i * 31 + j * 17) % 13) as f64
        };
        base[[i % 40, j]] + tweak
    });
    let screened = neighbours_of_rows(x.view(), 10);
    let exact = neighbours(&gram(&x), 10);
    assert_eq!(screened, exact);
    // Tiles that do not divide n: a row's screen is fed by tiles on both sides of the diagonal
    // (the transposed ones among them) and its floor rises between them.
    for tile in [7, 97, 400] {
        assert_eq!(
            neighbours_of_rows_tiled(x.view(), 10, tile),
            exact,
            "tile {tile}"
        );
    }
    // Wide rows: the error bound grows with the width.
    let (a, _) = related(700, 1500, 4, 8);
    let exact = neighbours(&gram(&a), 10);
    assert_eq!(neighbours_of_rows(a.view(), 10), exact);
    assert_eq!(neighbours_of_rows_tiled(a.view(), 10, 128), exact);
}

#[test]
fn above_the_row_cap_the_expensive_replicates_use_a_reported_subsample() {
    let (a, b) = related(600, 16, 16, 5);
    let (c, _) = related(600, 16, 16, 6);
    let o = options(true);
    let spaces = vec![
        Space::new(a.view(), o, "a").unwrap(),
        Space::new(b.view(), o, "b").unwrap(),
        Space::new(c.view(), o, "c").unwrap(),
    ];
    let metrics = [Metric::MutualKnn, Metric::UnbiasedCka, Metric::Cknna];
    let options = |max_rows| ResampleOptions {
        bootstrap: 100,
        permutations: 99,
        costly_resamples: 10,
        seed: 3,
        max_rows,
    };
    let pairs = [(0, 1), (0, 2)];
    let capped = resample::evaluate(&spaces, &pairs, &metrics, options(200), &|_| {});
    assert_eq!(capped.resample_rows, [600, 200, 200]);
    let whole = resample::evaluate(&spaces, &pairs, &metrics, options(2000), &|_| {});
    assert_eq!(whole.resample_rows, [600, 600, 600]);
    for (mi, m) in metrics.iter().enumerate() {
        // The point scores use every row either way.
        assert_eq!(capped.point[mi], whole.point[mi], "{}", m.name());
        for pi in 0..2 {
            let (lo, hi) = resample::interval(*m, capped.point[mi][pi], &capped.replicates[mi][pi]);
            assert!(
                lo <= capped.point[mi][pi] && capped.point[mi][pi] <= hi,
                "{}",
                m.name()
            );
            let (wl, wh) = resample::interval(*m, whole.point[mi][pi], &whole.replicates[mi][pi]);
            // Scaled to n, the subsample's interval is about as wide as the whole sample's.
            let ratio = (hi - lo) / (wh - wl);
            assert!(
                (0.4..2.5).contains(&ratio),
                "{}: width ratio {ratio}",
                m.name()
            );
        }
        assert!(capped.p_value[mi][0] <= 0.011, "{}: related p", m.name());
    }
}
