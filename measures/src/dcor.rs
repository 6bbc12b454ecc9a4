//! Distance correlation (Székely, Rizzo & Bakirov, 2007; ReSi's group of measures on
//! representational similarity matrices): how far the two sides' Euclidean distance matrices D
//! and E (of the prepared rows) vary together once each is double-centred,
//!
//!   dCor = √( ⟨HDH, HEH⟩ / √(⟨HDH, HDH⟩·⟨HEH, HEH⟩) ),
//!
//! the V-statistic form ReSi computes (its `dCov2` is the mean of the entrywise products). A
//! **similarity** in [0, 1], 1 for identical inputs and 0 in the population exactly when the
//! two sides are independent (not only uncorrelated); biased upward at small n, as every
//! V-statistic. Invariant to orthogonal transforms, feature permutations and isotropic scaling
//! of the rows it reads (here after the L2 normalisation, so not to translation).
//!
//! Distances are not inner products, so no d x d identity removes the n x n sums: they run
//! over a block of rows at a time, ⟨HDH, HEH⟩ = Σ d_ij·e_ij − (2/n)·Σ_i r_i·s_i + R·S/n² (r, s
//! the row sums, R, S their totals). Time n²·(d_a + d_b) multiply-adds for the blocks' inner
//! products (the upper triangle only), memory O(n·block). A view (the resampling's halves and permutations) reads m x m distance
//! matrices through index lists: O(h²) per pair for h rows.

use ndarray::{Array2, ArrayView2, s};

use crate::linalg::matmul_into;

/// Rows per block of the blocked pass: two blocks of `BLOCK` x n distances (61 MiB at 30,000
/// rows).
const BLOCK: usize = 128;

/// The sums over one set of rows: each side's row sums, and Σ d·e, Σ d², Σ e².
struct Sums {
    rows_d: Vec<f64>,
    rows_e: Vec<f64>,
    de: f64,
    dd: f64,
    ee: f64,
}

impl Sums {
    fn new(n: usize) -> Sums {
        Sums {
            rows_d: vec![0.0; n],
            rows_e: vec![0.0; n],
            de: 0.0,
            dd: 0.0,
            ee: 0.0,
        }
    }

    /// Adds entry (i, ·) of both matrices.
    fn add(&mut self, i: usize, d: f64, e: f64) {
        self.rows_d[i] += d;
        self.rows_e[i] += e;
        self.de += d * e;
        self.dd += d * d;
        self.ee += e * e;
    }

    /// Adds entries (i, j) and (j, i) of both (symmetric) matrices.
    fn add_pair(&mut self, i: usize, j: usize, d: f64, e: f64) {
        self.rows_d[i] += d;
        self.rows_d[j] += d;
        self.rows_e[i] += e;
        self.rows_e[j] += e;
        self.de += 2.0 * d * e;
        self.dd += 2.0 * d * d;
        self.ee += 2.0 * e * e;
    }

    fn correlation(&self) -> f64 {
        let n = self.rows_d.len() as f64;
        let centred = |cross: f64, r: &[f64], s: &[f64]| {
            let (total_r, total_s) = (r.iter().sum::<f64>(), s.iter().sum::<f64>());
            let rs: f64 = r.iter().zip(s).map(|(x, y)| x * y).sum();
            cross - 2.0 * rs / n + total_r * total_s / (n * n)
        };
        let de = centred(self.de, &self.rows_d, &self.rows_e);
        let dd = centred(self.dd, &self.rows_d, &self.rows_d);
        let ee = centred(self.ee, &self.rows_e, &self.rows_e);
        if dd <= 0.0 || ee <= 0.0 {
            return f64::NAN;
        }
        // ⟨HDH, HEH⟩ ≥ 0 for distance matrices: a negative value is rounding.
        (de / (dd * ee).sqrt()).max(0.0).sqrt().min(1.0)
    }
}

/// The Euclidean distance matrix of rows whose Gram matrix is `k`: √(k_ii + k_jj − 2k_ij),
/// zero on the diagonal. O(n²).
pub fn distances_of_gram(k: &Array2<f64>) -> Array2<f64> {
    Array2::from_shape_fn(k.dim(), |(i, j)| {
        if i == j {
            0.0
        } else {
            (k[[i, i]] + k[[j, j]] - 2.0 * k[[i, j]]).max(0.0).sqrt()
        }
    })
}

/// Distance correlation of rows `view_d` of D against rows `view_e` of E (the same length):
/// a half passes one index list twice; a permutation, all rows for D and the permuted order
/// for E. NaN when a side's rows are all equal.
pub fn of_views(d: &Array2<f64>, view_d: &[usize], e: &Array2<f64>, view_e: &[usize]) -> f64 {
    let mut sums = Sums::new(view_d.len());
    for (i, (&p, &q)) in view_d.iter().zip(view_e).enumerate() {
        let (rd, re) = (d.row(p), e.row(q));
        for (&pj, &qj) in view_d.iter().zip(view_e) {
            sums.add(i, rd[pj], re[qj]);
        }
    }
    sums.correlation()
}

/// Distance correlation of two distance matrices over the same rows (the n x n definition).
pub fn of_distances(d: &Array2<f64>, e: &Array2<f64>) -> f64 {
    let all: Vec<usize> = (0..d.nrows()).collect();
    of_views(d, &all, e, &all)
}

/// Distance correlation of two row-aligned matrices, a block of rows at a time: never an
/// n x n matrix. Each block meets only the rows from its own on (the matrices are symmetric),
/// so the inner products cost n²·(d_a + d_b) multiply-adds, half of the full squares.
pub fn of_rows(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    let n = a.nrows();
    let norms =
        |x: ArrayView2<f64>| -> Vec<f64> { x.rows().into_iter().map(|r| r.dot(&r)).collect() };
    let (na, nb) = (norms(a), norms(b));
    let mut sums = Sums::new(n);
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let (mut ka, mut kb) = (
            Array2::zeros((end - start, n - start)),
            Array2::zeros((end - start, n - start)),
        );
        matmul_into(
            &a.slice(s![start..end, ..]),
            &a.slice(s![start.., ..]).t(),
            &mut ka,
            false,
        );
        matmul_into(
            &b.slice(s![start..end, ..]),
            &b.slice(s![start.., ..]).t(),
            &mut kb,
            false,
        );
        for (r, (row_a, row_b)) in ka.rows().into_iter().zip(kb.rows()).enumerate() {
            let i = start + r;
            for c in r + 1..n - start {
                let j = start + c;
                let d = (na[i] + na[j] - 2.0 * row_a[c]).max(0.0).sqrt();
                let e = (nb[i] + nb[j] - 2.0 * row_b[c]).max(0.0).sqrt();
                sums.add_pair(i, j, d, e);
            }
        }
    }
    sums.correlation()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rows(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, d), |_| rng.random::<f64>() - 0.5)
    }

    /// The definition with the matrices formed: distances row by row, double-centred.
    fn oracle(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
        let n = a.nrows();
        let dist = |x: &Array2<f64>| {
            Array2::from_shape_fn((n, n), |(i, j)| {
                let diff = &x.row(i) - &x.row(j);
                diff.dot(&diff).sqrt()
            })
        };
        let centre = |m: Array2<f64>| {
            let rows = m.sum_axis(ndarray::Axis(1)) / n as f64;
            let grand = rows.sum() / n as f64;
            Array2::from_shape_fn((n, n), |(i, j)| m[[i, j]] - rows[i] - rows[j] + grand)
        };
        let (d, e) = (centre(dist(a)), centre(dist(b)));
        let inner = |x: &Array2<f64>, y: &Array2<f64>| (x * y).sum();
        (inner(&d, &e) / (inner(&d, &d) * inner(&e, &e)).sqrt()).sqrt()
    }

    #[test]
    fn blocks_grams_and_the_definition_agree() {
        // More rows than two blocks, so the blocked pass crosses block edges.
        let n = 2 * BLOCK + 37;
        let a = rows(n, 9, 1);
        let b = &a.dot(&rows(9, 6, 2)) + &(rows(n, 6, 3) * 0.5);
        let want = oracle(&a, &b);
        let blocked = of_rows(a.view(), b.view());
        let grams = of_distances(
            &distances_of_gram(&a.dot(&a.t())),
            &distances_of_gram(&b.dot(&b.t())),
        );
        assert!((blocked - want).abs() < 1e-10, "{blocked} vs {want}");
        assert!((grams - want).abs() < 1e-10, "{grams} vs {want}");
        assert!(want > 0.5 && want < 1.0, "{want}");
        assert!((of_rows(a.view(), a.view()) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn views_equal_the_definition_on_the_selected_rows() {
        let (a, b) = (rows(40, 5, 4), rows(40, 7, 5));
        let (d, e) = (
            distances_of_gram(&a.dot(&a.t())),
            distances_of_gram(&b.dot(&b.t())),
        );
        let half: Vec<usize> = (0..40).filter(|i| i % 3 != 1).collect();
        let perm: Vec<usize> = (0..40).map(|i| (i * 11 + 5) % 40).collect();
        let all: Vec<usize> = (0..40).collect();
        let pick = |x: &Array2<f64>, v: &[usize]| x.select(ndarray::Axis(0), v);
        let got = of_views(&d, &half, &e, &half);
        let want = oracle(&pick(&a, &half), &pick(&b, &half));
        assert!((got - want).abs() < 1e-10, "half: {got} vs {want}");
        let got = of_views(&d, &all, &e, &perm);
        let want = oracle(&a, &pick(&b, &perm));
        assert!((got - want).abs() < 1e-10, "permutation: {got} vs {want}");
    }

    #[test]
    fn equal_rows_have_no_correlation() {
        let a = rows(10, 3, 6);
        let flat = Array2::from_elem((10, 3), 0.25);
        assert!(of_rows(a.view(), flat.view()).is_nan());
    }
}
