//! RSA, representational similarity analysis (Kriegeskorte et al., 2008; ReSi's group of
//! measures on representational similarity matrices): the Pearson correlation between the
//! off-diagonal entries of the two sides' RSMs, K = A·Aᵀ and L = B·Bᵀ of the prepared rows
//! (cosine similarities after the outlier clamp, as every metric here reads them).
//!
//! ReSi's default correlates dissimilarity matrices with Spearman's ρ. Pearson's r is
//! invariant to an affine map of the entries, so the cosine-distance RDM 1 − K gives the same
//! value as K; unlike Spearman it needs only sums, so it is Gram-free
//! ([`crate::linear::rsa_of`]: the sums are those the unbiased HSIC reads). A similarity in
//! [−1, 1], 1 for identical inputs; invariant to orthogonal transforms, feature permutations
//! and isotropic scaling, not to translation.
//!
//! Here: the n x n definition (the tests' oracle, and the small spaces' path) and a view's value
//! read from Gram matrices through index lists (the resampling's halves and permutations):
//! O(h²) per pair for h rows, no copy.

use ndarray::Array2;

/// Sums over the distinct off-diagonal entries (each unordered pair of rows once).
#[derive(Debug, Default, Clone, Copy)]
pub struct OffDiagonal {
    pub count: f64,
    pub k: f64,
    pub l: f64,
    pub kk: f64,
    pub ll: f64,
    pub kl: f64,
}

impl OffDiagonal {
    /// Pearson's r of the entries; NaN when either side's entries are all equal.
    pub fn pearson(&self) -> f64 {
        let c = self.count;
        let cov = self.kl - self.k * self.l / c;
        let var_k = self.kk - self.k * self.k / c;
        let var_l = self.ll - self.l * self.l / c;
        if var_k <= 0.0 || var_l <= 0.0 {
            return f64::NAN;
        }
        cov / (var_k * var_l).sqrt()
    }
}

/// RSA of the rows `view_k` of K against the rows `view_l` of L (the same length): entry (i, j)
/// of the view is K[view_k[i], view_k[j]] against L[view_l[i], view_l[j]]. A half passes one
/// index list twice; a permutation, all rows for K and the permuted order for L.
pub fn of_views(k: &Array2<f64>, view_k: &[usize], l: &Array2<f64>, view_l: &[usize]) -> f64 {
    let mut s = OffDiagonal::default();
    for i in 1..view_k.len() {
        let (rk, rl) = (k.row(view_k[i]), l.row(view_l[i]));
        for j in 0..i {
            let (x, y) = (rk[view_k[j]], rl[view_l[j]]);
            s.k += x;
            s.l += y;
            s.kk += x * x;
            s.ll += y * y;
            s.kl += x * y;
        }
    }
    let h = view_k.len() as f64;
    s.count = h * (h - 1.0) / 2.0;
    s.pearson()
}

/// The definition on two n x n RSMs.
pub fn of_grams(k: &Array2<f64>, l: &Array2<f64>) -> f64 {
    let all: Vec<usize> = (0..k.nrows()).collect();
    of_views(k, &all, l, &all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::{Moments, cross, rsa_of};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_gram_free_value_equals_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (n, da, db) in [(30, 50, 7), (200, 12, 20)] {
            let a = Array2::from_shape_fn((n, da), |_| rng.random::<f64>() - 0.3);
            let b = Array2::from_shape_fn((n, db), |_| rng.random::<f64>() - 0.5);
            let want = of_grams(&a.dot(&a.t()), &b.dot(&b.t()));
            let (ma, mb) = (Moments::of(a.view()), Moments::of(b.view()));
            let got = rsa_of(&cross(a.view(), b.view()), &ma, &mb);
            assert!((got - want).abs() < 1e-10, "n={n}: {got} against {want}");
        }
    }

    #[test]
    fn pearson_of_the_upper_triangle_by_hand() {
        // Off-diagonal entries (0,1), (0,2), (1,2): K gives 1, 2, 3 and L gives 2, 4, 7.
        let k = Array2::from_shape_vec((3, 3), vec![9., 1., 2., 1., 9., 3., 2., 3., 9.]).unwrap();
        let l = Array2::from_shape_vec((3, 3), vec![5., 2., 4., 2., 5., 7., 4., 7., 5.]).unwrap();
        // x = (1, 2, 3), y = (2, 4, 7): Σ(x − x̄)(y − ȳ) = 5, Σ(x − x̄)² = 2, Σ(y − ȳ)² = 38/3.
        let want = 5.0 / (2.0_f64 * (38.0 / 3.0)).sqrt();
        assert!(
            (of_grams(&k, &l) - want).abs() < 1e-12,
            "{}",
            of_grams(&k, &l)
        );
        assert!((of_grams(&k, &k) - 1.0).abs() < 1e-12);
        // Reversing L's rows and columns is a permutation: (0,1)->(2,1) = 7, (0,2) = 4, (1,2) = 2.
        let r = of_views(&k, &[0, 1, 2], &l, &[2, 1, 0]);
        let want = -5.0 / (2.0_f64 * (38.0 / 3.0)).sqrt();
        assert!((r - want).abs() < 1e-12, "{r}");
    }
}
