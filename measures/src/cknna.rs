//! CKNNA (Huh et al. 2024): CKA restricted to pairs that are mutual nearest neighbours.
//! With M the 0/1 mask of pairs (i, j) where j is among i's `topk` neighbours in both spaces,
//! sim(K, L) = HSIC_unbiased(M ⊙ K, M ⊙ L), and
//! CKNNA = sim(K, L) / √(sim(K, K) · sim(L, L)), where sim(K, K) masks with K's own neighbours.
//! As the reference (`unbiased=True`), a row's neighbours exclude itself.

use ndarray::Array2;

use crate::hsic::hsic_unbiased;

fn mask_of(knn: &[Vec<usize>], n: usize) -> Array2<f64> {
    let mut m = Array2::zeros((n, n));
    for (i, row) in knn.iter().enumerate() {
        for &j in row {
            m[[i, j]] = 1.0;
        }
    }
    m
}

fn similarity(k: &Array2<f64>, l: &Array2<f64>, mask: &Array2<f64>) -> f64 {
    hsic_unbiased(&(mask * k), &(mask * l))
}

pub fn cknna(k: &Array2<f64>, l: &Array2<f64>, knn_k: &[Vec<usize>], knn_l: &[Vec<usize>]) -> f64 {
    let n = k.nrows();
    let (mk, ml) = (mask_of(knn_k, n), mask_of(knn_l, n));
    let both = &mk * &ml;
    similarity(k, l, &both) / (similarity(k, k, &mk) * similarity(l, l, &ml)).sqrt()
}
